"""A real HTTP server on 127.0.0.1 whose routes control status, headers, delays and bodies."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    drip: float | None = None  # seconds between single bytes of the body
    etag: str | None = None  # answer 304 when If-None-Match matches
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.in_flight = self.max_in_flight = 0
        self._count_lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._count_lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self.serve()
                finally:
                    with server._count_lock:
                        server.in_flight -= 1

            def do_POST(self) -> None:  # recorded like a GET (the body is not read)
                self.do_GET()

            def serve(self) -> None:
                server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                    return
                if route.handler:
                    route.handler(self)
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                headers = {"Content-Type": "application/rss+xml; charset=utf-8", **route.headers}
                if route.etag:
                    headers["ETag"] = route.etag
                headers.setdefault("Content-Length", str(len(route.body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    if route.drip is None:
                        self.wfile.write(route.body)
                    else:
                        for i in range(len(route.body)):
                            self.wfile.write(route.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(route.drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:  # HTTPS: the listening socket hands out TLS connections
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.base = f"{'https' if tls else 'http'}://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, path: str, body: bytes | str = b"", **kwargs: object) -> str:
        self.routes[path] = Route(body.encode() if isinstance(body, str) else body, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base + path

    def requests_to(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(items: list[dict[str, str]], title: str = "Test feed", extra: str = "") -> str:
    """A small RSS 2.0 document; item keys: title, link, guid, date, description, content."""
    parts = []
    for it in items:
        fields = []
        for key, tag in (
            ("title", "title"),
            ("link", "link"),
            ("guid", "guid"),
            ("date", "pubDate"),
            ("description", "description"),
        ):
            if key in it:
                fields.append(f"<{tag}><![CDATA[{it[key]}]]></{tag}>")
        if "content" in it:
            fields.append(f"<content:encoded><![CDATA[{it['content']}]]></content:encoded>")
        parts.append("<item>" + "".join(fields) + "</item>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>http://example.org/</link>{extra}" + "".join(parts) + "</channel></rss>"
    )
