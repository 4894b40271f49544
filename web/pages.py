"""Server-rendered pages (no JavaScript needed): stories list, story report, exports, articles,
feeds health and the API docs rendered from the OpenAPI schema."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import datetime
from itertools import pairwise
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker

from storydiff.compare.render import report_markdown
from storydiff.compare.store_reports import load_report, report_etag
from storydiff.errors import InvalidInput
from storydiff.ingest.feeds import feed_health_shown
from storydiff.store.inputs import parse_time
from storydiff.store.models import OUTLET_KINDS
from storydiff.store.queries import stats
from storydiff.store.stories import (
    DEFAULT_MIN_OUTLETS,
    DIVERGENCE_TYPES,
    MAX_OUTLETS,
    SORTS,
    StoryFilter,
    edit_history,
    list_stories,
    page_counts,
)
from storydiff.web import svg, views
from storydiff.web.api import article_page, outlet_named
from storydiff.web.pagecache import PageCache, on_database, page_response
from storydiff.web.params import StoryId
from storydiff.web.templating import TEMPLATES

ARTICLES_PER_PAGE = 50
PAGE_CACHE_SIZE = 256  # rendered story pages kept per process, keyed by the report's ETag
LIST_CACHE_SIZE = 256  # rendered stories pages kept per process, keyed by what they show


def _optional(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value or None


def _time(request: Request, name: str) -> datetime | None:
    raw = _optional(request, name)
    return parse_time(raw, name) if raw is not None else None


def page_filter(request: Request) -> StoryFilter:
    """The stories page's filter from its GET form (blank fields mean "any")."""
    raw_min = _optional(request, "min_outlets") or str(DEFAULT_MIN_OUTLETS)
    if not re.fullmatch(r"[0-9]{1,4}", raw_min) or not 1 <= int(raw_min) <= MAX_OUTLETS:
        raise InvalidInput(f"min_outlets must be a whole number from 1 to {MAX_OUTLETS}, not {raw_min[:20]!r}")
    sort = _optional(request, "sort")
    if sort == "relevance" and not _optional(request, "q"):
        sort = None  # the form kept "relevance" from the last search and the search box was cleared
    return StoryFilter(
        outlet=_optional(request, "outlet"),
        kind=_optional(request, "kind"),
        since=_time(request, "since"),
        until=_time(request, "until"),
        type=_optional(request, "type"),
        q=_optional(request, "q"),
        min_outlets=int(raw_min),
        sort=sort,
    ).check()


def story_context(factory: sessionmaker[Session], story_id: int, kind: str | None) -> tuple[dict[str, Any], str]:
    if kind is not None and kind not in DIVERGENCE_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(DIVERGENCE_TYPES)}, not {kind!r}")
    with factory() as session:
        report, etag = load_report(session, story_id)
        ids = [a["id"] for o in report["outlets"] for a in o["articles"]]
        history = edit_history(session, ids)
    outlet_of = {a["id"]: o["name"] for o in report["outlets"] for a in o["articles"]}
    edits = []
    for article_id, versions in history.items():
        steps = [
            {
                "from": old,
                "to": new,
                "title": views.word_diff(old["title"], new["title"]),
                "text": views.word_diff(old["text"], new["text"]),
            }
            for old, new in pairwise(versions)
        ]
        edits.append({"outlet": outlet_of.get(article_id, "?"), "article_id": article_id, "steps": steps})
    context = {
        "report": report,
        "type": kind,
        "types": DIVERGENCE_TYPES,
        "divergences": views.divergences(report, kind),
        "coverage": views.coverage(report),
        "aligned": views.aligned(report),
        # svg.py XML-escapes every text it places: its output is safe to mark as markup
        "heatmap": Markup(svg.heatmap(report)),
        "timeline": views.timeline(report),
        "edits": edits,
    }
    return context, etag


def register_pages(app: FastAPI, factory: sessionmaker[Session]) -> None:
    story_pages = PageCache(PAGE_CACHE_SIZE)  # keyed by the report's ETag: no query beyond that one
    list_pages = PageCache(LIST_CACHE_SIZE)  # keyed by the page's data: the queries run, the template not

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def stories_page(request: Request) -> Response:
        searched = bool(request.query_params.get("q", "").strip())  # a ranked search: not a quick read
        return await on_database(factory, lambda: _stories_page(request), quick=not searched)

    def _stories_page(request: Request) -> Response:
        flt = page_filter(request)
        cursor = _optional(request, "cursor")
        with factory() as session:
            counts = page_counts(session, flt.min_outlets)
            if flt.outlet:
                flt = replace(flt, outlet=outlet_named(counts.outlets, flt.outlet))
            page, next_cursor = list_stories(session, flt, 25, cursor)
        context = {"stories": page, "stats": counts.stats, "outlets": counts.outlets, "hidden": counts.hidden}
        params = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
        others = {k for k in params if k not in ("sort", "min_outlets")}
        context |= {
            "filter": flt,
            "sort_param": _optional(request, "sort") or "",
            "sorts": SORTS,
            "kinds": OUTLET_KINDS,
            "types": DIVERGENCE_TYPES,
            "next_url": f"/?{urlencode(params | {'cursor': next_cursor})}" if next_cursor else None,
            "first_url": f"/?{urlencode(params)}" if cursor else None,
            "show_all_url": f"/?{urlencode(params | {'min_outlets': 1})}",
            "other_filters": bool(others),
        }
        # the page is made of the request's parameters and these data only: the same parameters with
        # the same data are the same page, and a change of any story, count or outlet shown is a new key
        shown = (request.url.query, page, next_cursor, context["stats"], context["outlets"], context["hidden"])
        key = hashlib.sha256(repr(shown).encode()).digest()
        rendered = list_pages.get(key, lambda: bytes(TEMPLATES.TemplateResponse(request, "stories.html", context).body))
        return page_response(request, rendered)

    @app.get("/stories/{story_id}", response_class=HTMLResponse, include_in_schema=False)
    async def story_page(story_id: StoryId, request: Request) -> Response:
        return await on_database(factory, lambda: _story_page(story_id, request))

    def _story_page(story_id: int, request: Request) -> Response:
        kind = _optional(request, "type")
        with factory() as session:
            etag = report_etag(session, story_id)

        def render() -> bytes:
            context, _ = story_context(factory, story_id, kind)
            return bytes(TEMPLATES.TemplateResponse(request, "story.html", context).body)

        return page_response(request, story_pages.get((story_id, etag, kind), render))

    @app.get("/stories/{story_id}/export.{fmt}", include_in_schema=False)
    def export(story_id: StoryId, fmt: str, request: Request) -> Response:
        if fmt not in ("md", "json", "html"):
            raise InvalidInput(f"export format must be md, json or html, not {fmt!r}")
        filename = f"storydiff-story-{story_id}.{fmt}"
        disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if fmt == "html":
            context, _ = story_context(factory, story_id, None)
            rendered = TEMPLATES.TemplateResponse(request, "export.html", context)
            return HTMLResponse(bytes(rendered.body), headers=disposition)
        with factory() as session:
            report, _ = load_report(session, story_id)
        if fmt == "json":
            body = json.dumps(report, ensure_ascii=False, indent=2)
            return Response(body, media_type="application/json", headers=disposition)
        return PlainTextResponse(
            report_markdown(report), media_type="text/markdown; charset=utf-8", headers=disposition
        )

    @app.get("/articles", response_class=HTMLResponse, include_in_schema=False)
    def articles_page(request: Request) -> HTMLResponse:
        cursor = _optional(request, "cursor")
        with factory() as session:
            rows, next_cursor = article_page(session, ARTICLES_PER_PAGE, cursor)
            context = {"articles": rows, "stats": stats(session)}
        context |= {
            "next_url": f"/articles?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
            "first_url": "/articles" if cursor else None,
        }
        return TEMPLATES.TemplateResponse(request, "articles.html", context)

    @app.get("/feeds", response_class=HTMLResponse, include_in_schema=False)
    def feeds_page(request: Request) -> HTMLResponse:
        with factory() as session:
            context = {"feeds": feed_health_shown(session), "stats": stats(session)}
        return TEMPLATES.TemplateResponse(request, "feeds.html", context)

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs_page(request: Request) -> HTMLResponse:
        schema = app.openapi()
        endpoints = [
            {
                "path": path,
                "method": method.upper(),
                "summary": op.get("summary", ""),
                "parameters": [views.api_parameter(p) for p in op.get("parameters", [])],
                "responses": views.api_responses(schema, op),
            }
            for path, methods in schema["paths"].items()
            for method, op in methods.items()
        ]
        with factory() as session:
            context = {
                "endpoints": endpoints,
                "schema": schema,
                "stats": stats(session),
                "models": views.api_models(schema),
            }
        return TEMPLATES.TemplateResponse(request, "docs.html", context)
