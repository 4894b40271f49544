"""FastAPI app: feeds health and recent articles (HTML + JSON), stats, /healthz.
Everything from feeds is untrusted: templates autoescape and a strict CSP is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

import settings
from store.queries import feed_health, recent_articles, stats

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


def broker_status() -> str:
    url = settings.get("REDIS_URL")
    if not url:
        return "not used (in-process scheduler)"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"unreachable: {exc}"
    return "ok"


def create_app(factory: sessionmaker[Session]) -> FastAPI:
    app = FastAPI(title="storydiff", version="0.1.0", description="Where news outlets' accounts of a story differ.")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with factory() as session:
                session.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # report, never crash the health check
            database = f"unreachable: {type(exc).__name__}"
        broker = broker_status()
        healthy = database == "ok" and not broker.startswith("unreachable")
        return JSONResponse({"database": database, "broker": broker}, status_code=200 if healthy else 503)

    @app.get("/api/stats")
    def api_stats() -> dict[str, int]:
        with factory() as session:
            return stats(session)

    @app.get("/api/feeds")
    def api_feeds() -> list[dict[str, Any]]:
        with factory() as session:
            return feed_health(session)

    @app.get("/api/articles")
    def api_articles(limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
        with factory() as session:
            return recent_articles(session, limit)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        with factory() as session:
            context = {"articles": recent_articles(session, 100), "stats": stats(session)}
        return TEMPLATES.TemplateResponse(request, "index.html", context)

    @app.get("/feeds", response_class=HTMLResponse)
    def feeds_page(request: Request) -> HTMLResponse:
        with factory() as session:
            context = {"feeds": feed_health(session), "stats": stats(session)}
        return TEMPLATES.TemplateResponse(request, "feeds.html", context)

    return app
