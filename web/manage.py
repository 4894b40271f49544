"""Sign-in with an API token and the pages that change things: feeds (add, pause, resume, remove)
and subscriptions (subscribe, mute, unmute, remove, test).

The session is a cookie holding the token's id, an expiry and an HMAC of both under the server's
secret key (STORYDIFF_SECRET_KEY, else a random key kept in the data directory): HttpOnly,
SameSite=Strict, Secure when the page is served over HTTPS. A revoked token ends its sessions.
Every form carries a CSRF token (an HMAC of the session cookie); a post without it is refused with
403 and changes nothing. The pages send no script."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storydiff import settings
from storydiff.errors import StorydiffError
from storydiff.ingest.urls import redact_text, redact_url
from storydiff.store.models import ApiToken, Feed, Subscription
from storydiff.store.tokens import digest
from storydiff.web.params import FeedId, SubscriptionId
from storydiff.web.templating import TEMPLATES

COOKIE = "storydiff_session"
SESSION_SECONDS = 7 * 24 * 3600


def secret_key() -> bytes:
    configured = settings.get("STORYDIFF_SECRET_KEY")
    if configured:
        return configured.encode()
    path = settings.data_dir() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def _sign(value: str) -> str:
    return hmac.new(secret_key(), value.encode(), hashlib.sha256).hexdigest()


def session_cookie(token_id: int) -> str:
    value = f"{token_id}.{int(time.time()) + SESSION_SECONDS}"
    return f"{value}.{_sign(value)}"


def csrf_token(cookie: str) -> str:
    return _sign("csrf." + cookie)[:32]


class Forbidden(StorydiffError):
    pass


def register_manage(app: FastAPI, factory: sessionmaker[Session]) -> None:
    from storydiff.alerts import subscriptions as subs
    from storydiff.ingest import feeds as feed_store

    def signed_in(request: Request) -> str | None:
        """The valid session cookie, or None (expired, forged, or its token revoked)."""
        cookie = request.cookies.get(COOKIE, "")
        parts = cookie.split(".")
        if len(parts) != 3 or not all(re.fullmatch(r"[0-9]{1,10}", p) for p in parts[:2]):
            return None
        signature = _sign(f"{parts[0]}.{parts[1]}").encode()
        if not hmac.compare_digest(signature, parts[2].encode()) or int(parts[1]) < time.time():
            return None
        with factory() as session:
            token = session.get(ApiToken, int(parts[0]))
            if token is None or token.revoked_at is not None:
                return None
        return cookie

    async def form(request: Request) -> tuple[str, dict[str, str]]:
        """The session and the posted fields, after the CSRF check (403 otherwise)."""
        cookie = signed_in(request)
        if cookie is None:
            raise Forbidden("sign in first (/signin)")
        body = await request.body()
        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if not hmac.compare_digest(fields.get("csrf", "").encode(), csrf_token(cookie).encode()):  # any text
            raise Forbidden("this form is out of date or was not sent from storydiff (CSRF check); reload the page")
        return cookie, fields

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Any:
        return TEMPLATES.TemplateResponse(request, "error.html", {"status": 403, "message": str(exc)}, status_code=403)

    @app.get("/signin", response_class=HTMLResponse, include_in_schema=False)
    def signin_page(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "signin.html", {"error": None})

    @app.post("/signin", include_in_schema=False)
    async def signin(request: Request) -> Response:
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (fields.get("token") or [""])[0].strip()
        with factory() as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token))) if token else None
        if row is None or row.revoked_at is not None:
            context = {"error": "That token is unknown or revoked. Create one with: storydiff tokens create NAME"}
            return TEMPLATES.TemplateResponse(request, "signin.html", context, status_code=401)
        response = RedirectResponse("/manage", status_code=303)
        response.set_cookie(
            COOKIE, session_cookie(row.id), max_age=SESSION_SECONDS, httponly=True, samesite="strict",
            secure=request.url.scheme == "https", path="/",
        )  # fmt: skip
        return response

    @app.post("/signout", include_in_schema=False)
    async def signout(request: Request) -> Response:
        await form(request)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/manage", response_class=HTMLResponse, include_in_schema=False)
    def manage_page(request: Request) -> Response:
        cookie = signed_in(request)
        if cookie is None:
            return RedirectResponse("/signin", status_code=303)
        base = settings.get("STORYDIFF_BASE_URL").rstrip("/")
        with factory() as session:
            feed_rows = [
                {
                    "id": f.id,
                    "url": redact_url(f.url),
                    "outlet": f.outlet.name,
                    "kind": f.outlet.kind,
                    "paused": f.paused,
                }
                for f in session.scalars(select(Feed).order_by(Feed.id))
            ]
            sub_rows = [
                subs.as_dict(session, s, base) for s in session.scalars(select(Subscription).order_by(Subscription.id))
            ]
        context = {
            "csrf": csrf_token(cookie),
            "feeds": feed_rows,
            "subscriptions": sub_rows,
            "message": request.query_params.get("msg", "")[:300],
        }
        return TEMPLATES.TemplateResponse(request, "manage.html", context)

    @app.get("/manage/subscriptions/{sub_id}", response_class=HTMLResponse, include_in_schema=False)
    def subscription_page(request: Request, sub_id: int) -> Response:
        cookie = signed_in(request)
        if cookie is None:
            return RedirectResponse("/signin", status_code=303)
        base = settings.get("STORYDIFF_BASE_URL").rstrip("/")
        with factory() as session:
            sub = subs.as_dict(session, subs.get(session, sub_id), base, secret=True)
            alerts = subs.alerts_of(session, sub_id, 100)
        context = {"csrf": csrf_token(cookie), "sub": sub, "alerts": alerts}
        return TEMPLATES.TemplateResponse(request, "subscription.html", context)

    def done(message: str) -> RedirectResponse:  # the message travels in a URL: nothing secret in it
        return RedirectResponse(f"/manage?msg={quote(redact_text(message) or '')}", status_code=303)

    @app.post("/manage/feeds", include_in_schema=False)
    async def manage_add_feed(request: Request) -> Response:
        _, fields = await form(request)
        with factory.begin() as session:
            try:
                feed, created = feed_store.add_feed(
                    session,
                    feed_store.FeedSpec(
                        fields.get("url", ""), fields.get("outlet", ""), fields.get("kind", "newspaper")
                    ),
                )
            except StorydiffError as exc:
                return done(f"not added: {exc}")
            return done(f"{'added' if created else 'already known'}: {feed.url}")

    @app.post("/manage/feeds/{feed_id}/{action}", include_in_schema=False)
    async def manage_feed(request: Request, feed_id: FeedId, action: str) -> Response:
        await form(request)
        with factory.begin() as session:
            if action == "remove":
                feed = feed_store.remove_feed(session, feed_id)
                return done(f"removed {feed.url}")
            if action in ("pause", "resume"):
                feed = feed_store.update_feed(session, feed_id, {"paused": action == "pause"})
                return done(f"{action}d {feed.url}")
        return done(f"unknown action {action!r}")

    @app.post("/manage/subscriptions", include_in_schema=False)
    async def manage_subscribe(request: Request) -> Response:
        _, fields = await form(request)
        target = fields.get("target", "").strip()
        channel = fields.get("channel", "atom")
        spec = subs.SubscriptionSpec(
            name=fields.get("name", ""), channel=channel, target=target, words=fields.get("words", ""),
            types=fields.get("types", ""), min_severity=fields.get("min_severity", "medium"),
        )  # fmt: skip
        with factory() as session:
            try:
                sub = subs.create(session, spec)
            except StorydiffError as exc:
                return done(f"not subscribed: {exc}")
            # the webhook's signing secret is shown on the subscription's page, never put in a URL
            return RedirectResponse(f"/manage/subscriptions/{sub.id}", status_code=303)

    @app.post("/manage/subscriptions/{sub_id}/{action}", include_in_schema=False)
    async def manage_subscription(request: Request, sub_id: SubscriptionId, action: str) -> Response:
        await form(request)
        with factory() as session:
            if action in ("mute", "unmute"):
                subs.update(session, sub_id, {"muted": action == "mute"})
                return done(f"{action}d subscription {sub_id}")
            if action == "remove":
                subs.remove(session, sub_id)
                return done(f"removed subscription {sub_id}")
            if action == "test":
                from storydiff.alerts.sample import send_test

                outcome = send_test(subs.get(session, sub_id))
                return done(f"test {'delivered' if outcome['ok'] else 'failed: ' + str(outcome.get('error'))}")
        return done(f"unknown action {action!r}")
