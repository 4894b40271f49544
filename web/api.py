"""JSON API: stories (filters, sort, cursor pagination), a story's report (with ETag), articles,
outlets, feeds, stats. OpenAPI at /openapi.json, rendered at /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from storydiff.compare.store_reports import report_body, report_etag
from storydiff.errors import NotFound
from storydiff.store.models import Story
from storydiff.store.queries import feed_health, recent_articles, stats
from storydiff.store.stories import (
    DEFAULT_MIN_OUTLETS,
    SORTS,
    StoryFilter,
    integer,
    list_stories,
    outlets,
    pack_cursor,
    story_summary,
    unpack_cursor,
)

SORT_HELP = "score (divergence score), updated (last article) or outlets (number of outlets); always descending"


def story_filter(
    sort: str = Query("updated", description=SORT_HELP),
    outlet: str | None = Query(None, max_length=200, description="Only stories this outlet covers (exact name)."),
    kind: str | None = Query(None, description="Only stories an outlet of this kind covers (wire, state_media, …)."),
    since: datetime | None = Query(None, description="Stories updated at or after this time (ISO 8601)."),
    until: datetime | None = Query(None, description="Stories that started at or before this time (ISO 8601)."),
    type: str | None = Query(None, description="Only stories with a divergence of this type (numeric, quote, …)."),
    q: str | None = Query(
        None,
        max_length=200,
        description="Words that must each appear in the story title, a member article's title or lead, or an outlet name.",
    ),
    min_outlets: int = Query(
        DEFAULT_MIN_OUTLETS,
        ge=1,
        le=1000,
        description="Only stories told by at least this many outlets (1: also single-outlet stories).",
    ),
) -> StoryFilter:
    return StoryFilter(outlet, kind, since, until, type, q, min_outlets, sort).check()


def register_api(app: FastAPI, factory: sessionmaker[Session]) -> None:
    @app.get("/api/stories", tags=["stories"], summary="Stories, filtered and sorted, one page at a time")
    def api_stories(
        flt: StoryFilter = Depends(story_filter),
        limit: int = Query(25, ge=1, le=200),
        cursor: str | None = Query(None, max_length=500, description="next_cursor of the previous page"),
    ) -> dict[str, Any]:
        with factory() as session:
            page, next_cursor = list_stories(session, flt, limit, cursor)
        return {
            "stories": page,
            "next_cursor": next_cursor,
            "sort": flt.sort,
            "sorts": list(SORTS),
            "min_outlets": flt.min_outlets,
        }

    @app.get("/api/stories/{story_id}", tags=["stories"], summary="One story's summary")
    def api_story(story_id: int) -> dict[str, Any]:
        with factory() as session:
            story = session.get(Story, story_id)
            if story is None:
                raise NotFound(f"story {story_id} does not exist; see /api/stories for valid ids")
            return story_summary(story) | {"report": f"/api/stories/{story.id}/report"}

    @app.get(
        "/api/stories/{story_id}/report",
        tags=["stories"],
        summary="A story's report (schema in compare/report.py); ETag / If-None-Match supported",
    )
    def api_report(story_id: int, request: Request) -> Response:
        wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
        with factory() as session:
            tag = f'"{report_etag(session, story_id)}"'
            headers = {"ETag": tag, "Cache-Control": "no-cache"}
            if tag in wanted:
                return Response(status_code=304, headers=headers)
            body, _ = report_body(session, story_id)
        return Response(body, media_type="application/json", headers=headers)

    @app.get("/api/articles", tags=["articles"], summary="Newest articles, one page at a time")
    def api_articles(
        limit: int = Query(50, ge=1, le=500),
        cursor: str | None = Query(None, max_length=500, description="next_cursor of the previous page"),
    ) -> dict[str, Any]:
        before = tuple(unpack_cursor(cursor, datetime.fromisoformat, integer)) if cursor else None
        with factory() as session:
            rows = recent_articles(session, limit + 1, before)
        last = rows[limit - 1] if len(rows) > limit else None
        next_cursor = pack_cursor(last["published"], last["id"]) if last else None
        return {"articles": rows[:limit], "next_cursor": next_cursor}

    @app.get("/api/outlets", tags=["outlets"], summary="Outlets with kind, country and article count")
    def api_outlets() -> list[dict[str, Any]]:
        with factory() as session:
            return outlets(session)

    @app.get("/api/feeds", tags=["feeds"], summary="Feeds health: last fetch, status, errors, next check")
    def api_feeds() -> list[dict[str, Any]]:
        with factory() as session:
            return feed_health(session)

    @app.get("/api/stats", tags=["service"], summary="Counts of feeds, articles, versions, stories")
    def api_stats() -> dict[str, int]:
        with factory() as session:
            return stats(session)
