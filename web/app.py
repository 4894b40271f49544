"""FastAPI app: story reports, feeds health and articles as HTML pages and a JSON API.

Everything from feeds is untrusted: templates autoescape, links are shown only for http(s) URLs,
and a strict Content-Security-Policy (no scripts at all) is sent with every response. Pages and
the API only read stored reports (computed when a story changes, never on a page view). Bad
parameters are a 4xx with a JSON (API) or HTML (page) message, never a 500; the Guard (web/guard.py)
adds request ids, security headers, HEAD and the answer to an unexpected error."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from storydiff import settings
from storydiff.errors import ConfigError, NotFound
from storydiff.logs import REQUEST_ID, scrub
from storydiff.pipeline import pending_work
from storydiff.store.models import StoryRedirect
from storydiff.web import schemas
from storydiff.web.api import register_api
from storydiff.web.api_write import register_write_api
from storydiff.web.guard import Guard, error_response, internal_error, wants_json
from storydiff.web.manage import register_manage
from storydiff.web.pages import register_pages


def broker_status() -> str:
    url = settings.get("REDIS_URL")
    if not url:
        return "not used (in-process scheduler)"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"unreachable: {reason(exc)}"
    return "ok"


def reason(exc: BaseException) -> str:
    """An exception as one short line for /healthz: its type and first line, URLs without credentials."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {scrub(first)}"[:300]


def database_status(factory: sessionmaker[Session]) -> str:
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # report, never crash the health check
        return f"unreachable: {reason(getattr(exc, 'orig', None) or exc)}"
    return "ok"


_STORY_PATH = re.compile(r"^(/(?:api/)?stories/)(\d+)(/.*)?$")


def _merged_story_url(factory: sessionmaker[Session], request: Request) -> str | None:
    """The same URL with a merged story's id replaced by its survivor's, or None."""
    match = _STORY_PATH.match(request.url.path)
    if not match or len(match.group(2)) > 18:
        return None
    with factory() as session:
        survivor = session.scalar(select(StoryRedirect.to_id).where(StoryRedirect.from_id == int(match.group(2))))
    if survivor is None:
        return None
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{match.group(1)}{survivor}{match.group(3) or ''}{query}"


def create_app(factory: sessionmaker[Session]) -> FastAPI:
    app = FastAPI(
        title="storydiff",
        version="0.1.0",
        description="Where news outlets' accounts of a story differ: stories, reports, articles, outlets, feeds.",
        docs_url=None,
        redoc_url=None,
    )

    @app.exception_handler(ConfigError)  # InvalidInput too: a bad parameter or body field
    async def invalid_input(request: Request, exc: ConfigError) -> Any:
        return error_response(request, 400, str(exc))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Any:
        moved = _merged_story_url(factory, request)
        if moved:  # a story merged into another: its links keep working (permanent redirect)
            return RedirectResponse(moved, status_code=301)
        return error_response(request, 404, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        """Unknown routes and methods answer like every other error: {"error": …} (API), a page (HTML)."""
        if exc.status_code == 404:
            where = "see /docs for the API's endpoints" if wants_json(request) else "see the links above"
            message = f"nothing at {request.url.path}; {where}"
        elif exc.status_code == 405:
            message = f"{request.scope.get('storydiff.method', request.method)} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        response = error_response(request, exc.status_code, message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> Any:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        ]
        return error_response(request, 422, "invalid parameters — " + "; ".join(problems), problems)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Any:
        """The last resort, for an error in the Guard itself (which answers every other one): a 500
        with the security headers. Starlette re-raises after it, so uvicorn closes the connection."""
        return internal_error(request, REQUEST_ID.get() or "-")

    @app.get(
        "/healthz",
        tags=["service"],
        summary="Database and broker reachability: 200 when both answer, 503 (degraded) with the reason otherwise",
        response_model=schemas.Health,
        responses={503: {"model": schemas.Health, "description": "Degraded: the database or broker is unreachable."}},
    )
    def healthz() -> JSONResponse:
        database = database_status(factory)
        broker = broker_status()
        stuck: dict[str, int] = {}
        if database == "ok":  # work waiting past its deadline: a stuck queue is an outage too
            with factory() as session:
                counts = pending_work(session, older_than=settings.get_float("STORYDIFF_STUCK_AFTER")).counts()
            stuck = {what: n for what, n in counts.items() if n}
        healthy = database == "ok" and not broker.startswith("unreachable") and not stuck
        body: dict[str, Any] = {
            "status": "ok" if healthy else "degraded",
            "database": database,
            "broker": broker,
            "stuck": stuck,
        }
        if not healthy:
            reasons = [f"database {database}"] if database != "ok" else []
            reasons += [f"broker {broker}"] if broker.startswith("unreachable") else []
            reasons += [f"{n} {what} for over {settings.get('STORYDIFF_STUCK_AFTER')} s" for what, n in stuck.items()]
            body["error"] = "degraded: " + "; ".join(reasons)
        return JSONResponse(body, status_code=200 if healthy else 503)

    register_api(app, factory)
    register_write_api(app, factory)
    register_manage(app, factory)
    register_pages(app, factory)
    app.add_middleware(Guard)  # added last: the outermost, around every other middleware
    return app
