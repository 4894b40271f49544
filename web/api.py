"""JSON API: stories (filters, sort, cursor pagination), a story's report (with ETag), articles,
outlets, feeds, stats. OpenAPI at /openapi.json, rendered at /docs."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from storydiff.compare.store_reports import report_body, report_etag
from storydiff.errors import InvalidInput, NotFound
from storydiff.ingest.feeds import articles_shown, feed_health_shown
from storydiff.store.models import Report, Story
from storydiff.store.queries import link_articles, recent_articles, stats
from storydiff.store.stories import (
    DEFAULT_MIN_OUTLETS,
    SORTS,
    StoryFilter,
    cursor_time,
    list_stories,
    outlet_names,
    outlets,
    pack_cursor,
    row_id,
    story_summary,
    unpack_cursor,
)
from storydiff.web import schemas
from storydiff.web.pagecache import on_database
from storydiff.web.params import StoryId

SORT_HELP = (
    "relevance (best match first; only with q, and its default), score (divergence score), updated (last article, "
    "the default without q) or outlets (number of outlets); always descending"
)


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": schemas.Error, "description": "A parameter has a value that is not allowed."},
    404: {"model": schemas.Error, "description": "No such story (or endpoint)."},
    422: {"model": schemas.Error, "description": "A parameter has the wrong type or is out of range."},
}


def known_outlet(session: Session, name: str | None) -> str | None:
    """The outlet's stored name for a name in any letter case; InvalidInput naming the outlets when none matches."""
    if name is None:
        return None
    return outlet_named(outlet_names(session), name)


def outlet_named(names: list[str], name: str) -> str:
    """The name among ``names`` that equals ``name`` in any letter case; InvalidInput listing them when none does."""
    match = next((n for n in names if n.casefold() == name.strip().casefold()), None)
    if match is None:
        shown = ", ".join(names[:20]) + (", …" if len(names) > 20 else "")
        raise InvalidInput(f"no outlet is named {name!r}; outlets: {shown or 'none yet'}")
    return match


def story_filter(
    sort: str | None = Query(None, description=SORT_HELP),
    outlet: str | None = Query(
        None, max_length=200, description="Only stories this outlet covers (its name, any letter case)."
    ),
    kind: str | None = Query(None, description="Only stories an outlet of this kind covers (wire, state_media, …)."),
    since: datetime | None = Query(None, description="Stories updated at or after this time (ISO 8601)."),
    until: datetime | None = Query(None, description="Stories that started at or before this time (ISO 8601)."),
    type: str | None = Query(None, description="Only stories with a divergence of this type (numeric, quote, …)."),
    q: str | None = Query(
        None,
        max_length=200,
        description=(
            "Search: every word must be in the story's title, a member article's title or lead, a name they "
            "mention or an outlet's name (case, accents, plurals and possessives ignored; the last word may be "
            "the start of one). Ranked by relevance unless sort says otherwise; each story then has a relevance score."
        ),
    ),
    min_outlets: int = Query(
        DEFAULT_MIN_OUTLETS,
        ge=1,
        le=1000,
        description="Only stories told by at least this many outlets (1: also single-outlet stories).",
    ),
) -> StoryFilter:
    return StoryFilter(outlet, kind, since, until, type, q, min_outlets, sort).check()


def story_detail(session: Session, story: Story) -> dict[str, Any]:
    """One story: every field of its list item, plus divergence counts by type and the outlets."""
    import json

    report = session.get(Report, story.id)
    body = json.loads(report.body) if report is not None else {}
    return story_summary(story) | {
        "outlets": report.outlets if report is not None else 0,
        "divergences": report.divergences if report is not None else 0,
        "types": [t for t in (report.types if report is not None else "").split(",") if t],
        "counts": body.get("counts", {}),
        "outlet_names": [o["name"] for o in body.get("outlets", [])],
        "report": f"/api/stories/{story.id}/report",
        "page": f"/stories/{story.id}",
    }


def register_api(app: FastAPI, factory: sessionmaker[Session]) -> None:
    @app.get(
        "/api/stories",
        tags=["stories"],
        summary="Stories, filtered and sorted, one page at a time",
        response_model=schemas.StoriesPage,
        responses=ERRORS,
    )
    def api_stories(
        flt: StoryFilter = Depends(story_filter),
        limit: int = Query(25, ge=1, le=200, description="Stories per page."),
        cursor: str | None = Query(None, max_length=500, description="next_cursor of the previous page"),
    ) -> dict[str, Any]:
        with factory() as session:
            if flt.outlet:
                flt = replace(flt, outlet=known_outlet(session, flt.outlet))
            page, next_cursor = list_stories(session, flt, limit, cursor)
        return {
            "stories": page,
            "next_cursor": next_cursor,
            "sort": flt.sort,
            "sorts": list(SORTS),
            "min_outlets": flt.min_outlets,
        }

    @app.get(
        "/api/stories/{story_id}",
        tags=["stories"],
        summary="One story: its list fields, divergence counts by type, outlets",
        response_model=schemas.StoryDetail,
        responses=ERRORS,
    )
    def api_story(story_id: StoryId) -> dict[str, Any]:
        with factory() as session:
            story = session.get(Story, story_id)
            if story is None:
                raise NotFound(f"story {story_id} does not exist; see /api/stories for valid ids")
            return story_detail(session, story)

    @app.get(
        "/api/stories/{story_id}/report",
        tags=["stories"],
        summary="A story's report (schema in compare/report.py); ETag / If-None-Match supported",
        responses={
            200: {"description": "The report, schema 1 (see compare/report.py): title, outlets, divergences, "
                  "claim_groups, agreement, counts.", "content": {"application/json": {}}},
            304: {"description": "Not modified: the If-None-Match ETag is current."},
        } | ERRORS,
    )  # fmt: skip
    async def api_report(story_id: StoryId, request: Request) -> Response:
        return await on_database(factory, lambda: _report(story_id, request))

    def _report(story_id: int, request: Request) -> Response:
        wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
        with factory() as session:
            tag = f'"{report_etag(session, story_id)}"'
            headers = {"ETag": tag, "Cache-Control": "no-cache"}
            if tag in wanted:
                return Response(status_code=304, headers=headers)
            body, _ = report_body(session, story_id)
        return Response(body, media_type="application/json", headers=headers)

    @app.get(
        "/api/articles",
        tags=["articles"],
        summary="Newest articles with their story, one page at a time",
        response_model=schemas.ArticlesPage,
        responses=ERRORS,
    )
    def api_articles(
        limit: int = Query(50, ge=1, le=500, description="Articles per page."),
        cursor: str | None = Query(None, max_length=500, description="next_cursor of the previous page"),
    ) -> dict[str, Any]:
        with factory() as session:
            rows, next_cursor = article_page(session, limit, cursor)
        return {"articles": rows, "next_cursor": next_cursor}

    @app.get(
        "/api/outlets",
        tags=["outlets"],
        summary="Outlets with kind, country and article count",
        response_model=list[schemas.OutletItem],
    )
    def api_outlets() -> list[dict[str, Any]]:
        with factory() as session:
            return outlets(session)

    @app.get(
        "/api/feeds",
        tags=["feeds"],
        summary="Feeds health: last fetch, status, errors, next check",
        response_model=list[schemas.FeedItem],
    )
    def api_feeds() -> list[dict[str, Any]]:
        with factory() as session:
            return feed_health_shown(session)

    @app.get(
        "/api/stats",
        tags=["service"],
        summary="Counts of feeds, articles, versions, stories",
        response_model=schemas.Stats,
    )
    def api_stats() -> dict[str, int]:
        with factory() as session:
            return stats(session)


def article_page(session: Session, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the newest articles, each with its story and the original of a wire copy."""
    before = tuple(unpack_cursor(cursor, cursor_time, row_id)) if cursor else None
    rows = recent_articles(session, limit + 1, before)
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = pack_cursor(last["published"], last["id"]) if last else None
    return articles_shown(link_articles(session, rows[:limit])), next_cursor
