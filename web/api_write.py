"""The authenticated part of the API: feeds (add, update, remove, OPML import) and subscriptions
(CRUD, test, their alerts and delivery attempts), plus each subscription's private Atom feed.

Every write needs ``Authorization: Bearer <token>`` (``storydiff tokens create NAME``): 401 without
a valid token, 403 for a revoked one; reads stay open unless STORYDIFF_READ_TOKEN_REQUIRED=1."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from storydiff import settings
from storydiff.errors import InvalidInput, NotFound, StorydiffError
from storydiff.ingest.urls import redact_text, redact_url
from storydiff.store.models import Alert, Subscription
from storydiff.store.tokens import check_token
from storydiff.web import schemas
from storydiff.web.api import ERRORS
from storydiff.web.params import FeedId, Line, ListItem, SubscriptionId

Severity = Literal["low", "medium", "high"]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = ERRORS | {
    401: {"model": schemas.Error, "description": "No API token, or an unknown one."},
    403: {"model": schemas.Error, "description": "The API token was revoked."},
    413: {"model": schemas.Error, "description": "The body is too large."},
}


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def bearer(factory: sessionmaker[Session], header: str | None) -> None:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "this needs an API token: Authorization: Bearer <token> (storydiff tokens create NAME)")
    with factory() as session:
        verdict = check_token(session, token.strip())
    if verdict == "unknown":
        raise AuthError(401, "unknown API token; create one with `storydiff tokens create NAME`")
    if verdict == "revoked":
        raise AuthError(403, "this API token was revoked")


class ReadToken:
    """With STORYDIFF_READ_TOKEN_REQUIRED=1 the read API needs a token too (401/403 as for writes).
    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` costs every request of every
    route a task and a stream, even when the setting is off."""

    def __init__(self, app: ASGIApp, factory: sessionmaker[Session]) -> None:
        self.app = app
        self.factory = factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("path", "").startswith("/api/")
            and settings.get_bool("STORYDIFF_READ_TOKEN_REQUIRED")
        ):
            header = Headers(scope=scope).get("authorization")
            try:
                await run_in_threadpool(bearer, self.factory, header)
            except AuthError as exc:
                response = JSONResponse(
                    {"error": str(exc)}, status_code=exc.status, headers={"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class FeedIn(BaseModel):
    url: Line = Field(max_length=2000, description="The feed's address (RSS, Atom or JSON Feed).")
    outlet: Line = Field(max_length=200, description="The outlet publishing it, e.g. Reuters.")
    kind: Line = Field(
        "newspaper", max_length=20, description="wire, broadcaster, newspaper, state_media, government, aggregator"
    )
    country: Line | None = Field(None, max_length=2, description="Two-letter country code.")


class FeedChange(BaseModel):
    outlet: Line | None = Field(None, max_length=200)
    kind: Line | None = Field(None, max_length=20)
    country: Line | None = Field(None, max_length=2)
    paused: bool | None = None


class SubscriptionIn(BaseModel):
    name: Line = Field(max_length=200)
    channel: Literal["webhook", "apprise", "atom"] = "atom"
    target: Line = Field("", max_length=2000, description="Webhook URL or Apprise URL; empty for atom.")
    words: Line = Field("", max_length=500, description="Words or names that must all appear in the story.")
    outlets: list[ListItem] = Field(
        default_factory=list, max_length=100, description="Only divergences involving one of these outlets."
    )
    kinds: list[ListItem] = Field(
        default_factory=list, max_length=20, description="Only divergences involving these outlet kinds."
    )
    types: list[ListItem] = Field(
        default_factory=list, max_length=20, description="Divergence types; empty = all but omission and exclusive."
    )
    min_severity: Severity = "medium"
    min_score: float | None = Field(None, ge=0, le=1, description="Minimum story divergence score.")
    mode: Literal["immediate", "digest"] = "immediate"
    digest_minutes: int = Field(60, ge=5, le=10080)
    muted: bool = False


class SubscriptionChange(BaseModel):
    name: Line | None = Field(None, max_length=200)
    channel: Literal["webhook", "apprise", "atom"] | None = None
    target: Line | None = Field(None, max_length=2000)
    words: Line | None = Field(None, max_length=500)
    outlets: list[ListItem] | None = Field(None, max_length=100)
    kinds: list[ListItem] | None = Field(None, max_length=20)
    types: list[ListItem] | None = Field(None, max_length=20)
    min_severity: Severity | None = None
    min_score: float | None = Field(None, ge=0, le=1)
    mode: Literal["immediate", "digest"] | None = None
    digest_minutes: int | None = Field(None, ge=5, le=10080)
    muted: bool | None = None


def changes(body: BaseModel, nullable: set[str]) -> dict[str, Any]:
    """The fields a PATCH sets; null only where it means "none" (InvalidInput elsewhere)."""
    values = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in values.items() if v is None and k not in nullable)
    if nulls:
        raise InvalidInput(f"{', '.join(nulls)} cannot be null; leave a field out to keep its value")
    return values


def _joined(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ",".join(v) if isinstance(v, list) else v for k, v in values.items()}


def register_write_api(app: FastAPI, factory: sessionmaker[Session]) -> None:
    from storydiff.alerts import subscriptions as subs
    from storydiff.ingest import feeds as feed_store

    def writer(authorization: str | None = Header(None, description="Bearer <API token>")) -> None:
        bearer(factory, authorization)

    write: dict[str, Any] = {"dependencies": [Depends(writer)], "responses": WRITE_ERRORS}
    base = settings.get("STORYDIFF_BASE_URL").rstrip("/")

    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> Any:
        return JSONResponse({"error": str(exc)}, status_code=exc.status, headers={"WWW-Authenticate": "Bearer"})

    app.add_middleware(ReadToken, factory=factory)

    def feed_json(feed: Any) -> dict[str, Any]:
        return {
            "id": feed.id,
            "url": redact_url(feed.url),
            "outlet": feed.outlet.name,
            "kind": feed.outlet.kind,
            "country": feed.outlet.country,
            "paused": feed.paused,
        }

    @app.post("/api/feeds", tags=["feeds"], summary="Add a feed (token)", status_code=201, **write)
    def api_add_feed(body: FeedIn, response: Response) -> dict[str, Any]:
        with factory.begin() as session:
            feed, created = feed_store.add_feed(
                session, feed_store.FeedSpec(body.url, body.outlet, body.kind, body.country)
            )
            if not created:
                response.status_code = 200
            return feed_json(feed) | {"created": created}

    @app.patch("/api/feeds/{feed_id}", tags=["feeds"], summary="Change a feed (token)", **write)
    def api_update_feed(feed_id: FeedId, body: FeedChange) -> dict[str, Any]:
        with factory.begin() as session:
            return feed_json(feed_store.update_feed(session, feed_id, changes(body, nullable={"country"})))

    @app.delete(
        "/api/feeds/{feed_id}",
        tags=["feeds"],
        summary="Remove a feed (token)",
        status_code=204,
        **write,
    )
    def api_remove_feed(feed_id: FeedId) -> Response:
        with factory.begin() as session:
            feed_store.remove_feed(session, feed_id)
        return Response(status_code=204)

    @app.post(
        "/api/feeds/opml",
        tags=["feeds"],
        summary="Import an OPML file (token): every valid outline is added, the invalid ones are listed",
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The OPML document (at most 5 MB).",
                "content": {"text/x-opml": {"schema": {"type": "string"}}, "text/xml": {"schema": {"type": "string"}}},
            }
        },
        **write,
    )
    async def api_import_opml(request: Request) -> dict[str, Any]:
        data = await request.body()
        if len(data) > 5_000_000:
            raise HTTPException(413, "OPML over 5 MB")
        with factory.begin() as session:
            report = feed_store.import_opml_lenient(session, data)
        return {
            "added": [redact_url(u) for u in report.added],
            "known": [redact_url(u) for u in report.known],
            "invalid": [{"outline": redact_text(o), "error": redact_text(e)} for o, e in report.invalid],
        }

    @app.get("/api/subscriptions", tags=["alerts"], summary="Subscriptions (token)", **write)
    def api_subscriptions() -> list[dict[str, Any]]:
        with factory() as session:
            rows = session.scalars(select(Subscription).order_by(Subscription.id)).all()
            return [subs.as_dict(session, s, base) for s in rows]

    @app.post(
        "/api/subscriptions",
        tags=["alerts"],
        summary="Subscribe (token); the answer holds the webhook signing secret and the private Atom feed URL",
        status_code=201,
        **write,
    )
    def api_subscribe(body: SubscriptionIn) -> dict[str, Any]:
        with factory() as session:
            sub = subs.create(session, subs.SubscriptionSpec(**_joined(body.model_dump())))
            return subs.as_dict(session, sub, base, secret=True)

    @app.get(
        "/api/subscriptions/{sub_id}",
        tags=["alerts"],
        summary="One subscription (token)",
        **write,
    )
    def api_subscription(sub_id: SubscriptionId) -> dict[str, Any]:
        with factory() as session:
            return subs.as_dict(session, subs.get(session, sub_id), base, secret=True)

    @app.patch(
        "/api/subscriptions/{sub_id}",
        tags=["alerts"],
        summary="Change a subscription (token)",
        **write,
    )
    def api_change_subscription(sub_id: SubscriptionId, body: SubscriptionChange) -> dict[str, Any]:
        with factory() as session:
            sub = subs.update(session, sub_id, _joined(changes(body, nullable={"min_score"})))
            return subs.as_dict(session, sub, base)

    @app.delete(
        "/api/subscriptions/{sub_id}",
        tags=["alerts"],
        summary="Remove a subscription (token)",
        status_code=204,
        **write,
    )
    def api_unsubscribe(sub_id: SubscriptionId) -> Response:
        with factory() as session:
            subs.remove(session, sub_id)
        return Response(status_code=204)

    @app.get(
        "/api/subscriptions/{sub_id}/alerts",
        tags=["alerts"],
        summary="A subscription's alerts with every delivery attempt (token)",
        **write,
    )
    def api_alerts(sub_id: SubscriptionId) -> list[dict[str, Any]]:
        with factory() as session:
            return subs.alerts_of(session, sub_id)

    @app.post(
        "/api/subscriptions/{sub_id}/test",
        tags=["alerts"],
        summary="Send a sample alert through the channel now (token)",
        **write,
    )
    def api_test(sub_id: SubscriptionId) -> dict[str, Any]:
        from storydiff.alerts.sample import send_test

        with factory() as session:
            return send_test(subs.get(session, sub_id))

    @app.get(
        "/alerts/{token}.atom",
        tags=["alerts"],
        summary="A subscription's private Atom feed of alerts",
        responses={
            200: {"description": "The Atom feed.", "content": {"application/atom+xml": {}}},
            400: {"description": "A control character in the address (HTML page).", "content": {"text/html": {}}},
            404: {"description": "No such feed (HTML page).", "content": {"text/html": {}}},
        },
    )
    def atom_feed(token: str) -> Response:
        from storydiff.alerts.atom import render

        with factory() as session:
            sub = (
                session.scalar(select(Subscription).where(Subscription.feed_token == token))
                if 16 <= len(token) <= 64
                else None
            )
            if sub is None:
                raise NotFound("no such alert feed; the subscription's feed_url has the right address")
            alerts = session.scalars(
                select(Alert).where(Alert.subscription_id == sub.id).order_by(Alert.created_at.desc()).limit(100)
            ).all()
            body = render(sub, alerts, base)
        return Response(body, media_type="application/atom+xml", headers={"Cache-Control": "private, no-cache"})


__all__ = ["AuthError", "StorydiffError", "register_write_api"]
