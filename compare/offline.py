"""`storydiff compare FILE.jsonl`: articles in, story reports out — no database, network or
shared data. Each line is one article ``{"outlet", "title", "text", "published", "url", "kind"}``
(``country`` and ``id`` optional). Articles are grouped into stories with the real online
clusterer, then each story gets its report (``compare.report``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from storydiff.compare.cluster import Doc, OnlineClusterer
from storydiff.compare.report import SCHEMA_VERSION, StoryArticle, build_report
from storydiff.errors import InvalidInput

REQUIRED = ("outlet", "text")


def _published(value: Any, line: int) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"line {line}: 'published' is {value!r}, not an ISO 8601 date-time; use e.g. 2025-10-21T18:30:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def read_articles(lines: Iterable[str]) -> list[StoryArticle]:
    """Parse JSONL article records; a malformed line raises InvalidInput naming the line and field."""
    articles = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"line {number}: not valid JSON ({exc.msg}); each line must be one JSON object"
            ) from None
        if not isinstance(record, dict):
            raise InvalidInput(f"line {number}: expected a JSON object, got {type(record).__name__}")
        for key in REQUIRED:
            if not isinstance(record.get(key), str) or not record[key].strip():
                raise InvalidInput(f"line {number}: '{key}' is missing or not a non-empty string")
        for key in ("title", "url", "kind", "country"):
            if record.get(key) is not None and not isinstance(record[key], str):
                raise InvalidInput(f"line {number}: '{key}' must be a string")
        articles.append(
            StoryArticle(
                id=record.get("id", number),
                outlet=record["outlet"].strip(),
                title=(record.get("title") or "").strip(),
                text=record["text"],
                published=_published(record.get("published"), number),
                url=record.get("url"),
                kind=record.get("kind"),
                country=record.get("country"),
            )
        )
    return articles


def compare_articles(
    articles: list[StoryArticle], min_outlets: int = 1, semantic: bool | str = False
) -> dict[str, Any]:
    """Cluster the articles into stories and report each story with at least ``min_outlets``
    outlets; ``hidden_stories`` counts the stories told by fewer."""
    dated = [a.published for a in articles if a.published]
    fallback = min(dated) if dated else datetime(1970, 1, 1, tzinfo=UTC)
    order = sorted(range(len(articles)), key=lambda i: (articles[i].published or fallback, i))
    clusterer = OnlineClusterer()
    clusterer.add_all(Doc(i, articles[i].title, articles[i].text, articles[i].published or fallback) for i in order)
    stories: dict[int, list[StoryArticle]] = {}
    for i in order:
        stories.setdefault(clusterer.final_id(clusterer.story_of[i]), []).append(articles[i])
    reports = []
    hidden = 0
    for number, (story_id, members) in enumerate(
        sorted(stories.items(), key=lambda kv: (-len({a.outlet for a in kv[1]}), kv[0])), start=1
    ):
        if len({a.outlet for a in members}) < min_outlets:
            hidden += 1
            continue
        title = clusterer.stories[story_id].title() if story_id in clusterer.stories else None
        reports.append(build_report(members, story_id=number, title=title or None, semantic=semantic))
    return {"schema": SCHEMA_VERSION, "stories": reports, "min_outlets": min_outlets, "hidden_stories": hidden}
