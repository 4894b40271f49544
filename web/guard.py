"""The outermost layer of the web app, a plain ASGI middleware (so nothing the app raises gets past
it, and nothing it sends goes out without it):

- a request id per request (a sane incoming X-Request-ID is kept, else a new one), sent back as
  X-Request-ID and put on every log line written while the request is served;
- the security headers (Content-Security-Policy without scripts, nosniff, no-referrer) on every
  response, errors included;
- HEAD served as GET without the body, on every GET route;
- a path or query parameter holding a control character (NUL, a line break, …) refused with a 400;
- an unexpected exception answered with a 500 carrying all of the above and the request id, logged
  with its traceback, and swallowed: Starlette's own error middleware re-raises after answering, and
  uvicorn then closes the connection, resetting the next request a keep-alive client sends on it;
- one access line per request (method, path without its query, status, duration)."""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storydiff.logs import REQUEST_ID
from storydiff.store.inputs import CONTROL
from storydiff.web.templating import TEMPLATES

CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
SECRET_PATH = re.compile(r"^(/alerts/)[^/]+(\.atom)$")  # a subscription's private feed: the path is its key

log = logging.getLogger("storydiff.web")
access = logging.getLogger("storydiff.web.access")


def new_request_id() -> str:
    """32 random hex digits (a request's name in the log, not a secret: no system call for it)."""
    return f"{random.getrandbits(128):032x}"


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/healthz"


def error_response(request: Request, status: int, message: str, detail: Any = None) -> Response:
    """{"error": message} for the API, the HTML error page for pages."""
    if wants_json(request):
        body: dict[str, Any] = {"error": message}
        if detail is not None:
            body["detail"] = detail
        return JSONResponse(body, status_code=status)
    return TEMPLATES.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)


def with_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def loggable_path(path: str) -> str:
    return SECRET_PATH.sub(r"\1…\2", path)


def control_character(scope: Scope) -> str | None:
    """The name of the first path or query parameter holding a control character, or None."""
    if CONTROL.search(scope.get("path", "")):
        return "the path"
    for name, value in Request(scope).query_params.multi_items():
        if CONTROL.search(name) or CONTROL.search(value):
            return f"parameter {CONTROL.sub('?', name)[:40]!r}"
    return None


def internal_error(request: Request, request_id: str) -> Response:
    message = f"internal error; the server's log has the details under request id {request_id}"
    return with_security_headers(error_response(request, 500, message))


class Guard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if INCOMING_ID.fullmatch(incoming) else new_request_id()
        token = REQUEST_ID.set(request_id)
        method = scope["method"]
        head = method == "HEAD"
        if head:  # served as GET; the body is dropped below, the headers (Content-Length too) stay
            scope = dict(scope, method="GET")
            scope["storydiff.method"] = "HEAD"
        status: list[int] = []
        started = time.perf_counter()

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                headers["X-Request-ID"] = request_id
                allow = headers.get("allow")
                if allow and "GET" in allow and "HEAD" not in allow:
                    headers["Allow"] = f"{allow}, HEAD"
            elif message["type"] == "http.response.body" and head and message.get("body"):
                message = dict(message, body=b"")
            await send(message)

        try:
            refused = control_character(scope)
            if refused:
                message = f"{refused} has a control character (such as NUL or a line break); remove it"
                await error_response(Request(scope), 400, message)(scope, receive, guarded_send)
            else:
                await self.app(scope, receive, guarded_send)
        except Exception:
            log.exception("unexpected error serving %s %s", method, loggable_path(scope.get("path", "")))
            if status:  # the answer is under way: it cannot be replaced, the connection has to go
                raise
            await internal_error(Request(scope), request_id)(scope, receive, guarded_send)
        finally:
            milliseconds = round((time.perf_counter() - started) * 1000, 1)
            path = loggable_path(scope.get("path", ""))
            code = status[0] if status else 0
            access.info(
                "%s %s %s %.1f ms",
                method,
                path,
                code,
                milliseconds,
                extra={"method": method, "path": path, "status": code, "duration_ms": milliseconds},
            )
            REQUEST_ID.reset(token)
