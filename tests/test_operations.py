"""Operations (issue 13) over real HTTP on SQLite and PostgreSQL: input that used to answer 500 is
a 4xx saying what to change; every answer, an unexpected 500 included, carries the security headers
and a request id and leaves the keep-alive connection usable; HEAD works on every GET route; /healthz
says degraded with the reason when the database or the broker does not answer."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import socket
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from storydiff.store import make_engine, session_factory
from storydiff.store.tokens import create_token
from storydiff.web.guard import CSP
from tests.conftest import need
from tests.demo_story import ingest_demo
from tests.webserver import serve_app


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


NESTED = b64(b"[" * 5000)
BIG = "9" * 25  # far above 64 bits

# (path, status): each was a 500 (most also reset the next request on the connection)
API_INPUT = [
    ("/api/stories?since=2025-10-21", 200),  # a date, no zone: midnight UTC
    ("/api/stories?since=2025-10-21T00:00&until=2025-10-23T00:00Z", 200),  # naive and aware bounds
    ("/api/stories?since=0001-01-01T00:00%2B01:00", 400),
    ("/api/stories?until=9999-12-31T23:59-05:00", 400),
    ("/api/stories?since=9999-12-31", 400),
    ("/api/stories?since=1969-12-31T23:59:59Z", 400),
    (f"/api/stories/{BIG}", 422),
    (f"/api/stories/{2**63}/report", 422),
    (f"/api/stories/{2**31}", 422),  # above the 32-bit ids of PostgreSQL
    (f"/api/stories?min_outlets={BIG}", 422),
    ("/api/stories?min_outlets=%C2%B2", 422),
    (f"/api/stories?cursor={NESTED}", 422),  # longer than any cursor
    (f"/api/stories?cursor={NESTED[:480]}", 400),  # nested 360 deep
    ("/api/stories?sort=score&cursor=" + b64(b'["score", 1e999, 1]'), 400),
    ("/api/stories?cursor=" + b64(b'["updated", "9999-12-31T23:59:59-05:00", 1]'), 400),
    ("/api/articles?cursor=" + b64(b'["2025-10-21T00:00", 99999999999999999999]'), 400),
    ("/api/articles?cursor=" + b64(b'["0001-01-01T00:00+01:00", 1]'), 400),
    ("/api/stories?q=a%00b", 400),
    ("/api/stories?outlet=a%00b", 400),
    ("/api/stories?q=a%1Bb", 400),
    ("/alerts/aaaaaaaaaaaaaaaaaaaaaaaa%00.atom", 400),
]
PAGE_INPUT = [
    ("/?since=2025-10-21", 200),
    ("/?since=9999-12-31T23:59-05:00", 400),
    ("/?since=0001-01-01T00:00%2B01:00", 400),
    ("/?min_outlets=%C2%B2", 400),
    (f"/?min_outlets={BIG}", 400),
    (f"/?cursor={NESTED}", 400),
    (f"/articles?cursor={NESTED}", 400),
    (f"/stories/{BIG}", 422),
    (f"/stories/{2**63}/export.md", 422),
    ("/?q=a%00b", 400),
    ("/?outlet=%00", 400),
]


def same_connection(
    base: str, paths: list[str], headers: dict[str, str] | None = None
) -> list[tuple[int, dict, bytes]]:
    """GET each path on one keep-alive connection; fails if the server closes or resets it."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    answers, sock = [], None
    try:
        for path in paths:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            answers.append((response.status, {k.lower(): v for k, v in response.getheaders()}, body))
            assert response.getheader("connection", "").lower() != "close", path
            sock = sock or conn.sock
            assert conn.sock is sock, f"the connection was replaced after {path}"
    finally:
        conn.close()
    return answers


@pytest.fixture
def demo_site(db):
    story_id = ingest_demo(db)
    with serve_app(db) as base:
        yield base, story_id, db


def test_input_that_was_a_500_is_a_4xx_with_a_message_on_one_connection(demo_site):
    base, _, _ = demo_site
    cases = API_INPUT + PAGE_INPUT
    answers = same_connection(base, [path for path, _ in cases])
    for (path, status), (got, headers, body) in zip(cases, answers, strict=True):
        assert got == status, (path, got, body[:300])
        assert headers["content-security-policy"] == CSP and headers["x-request-id"], path
        if status >= 400 and (path.startswith("/api/") or path == "/healthz"):
            assert headers["content-type"] == "application/json", path
            assert json.loads(body)["error"], path
        elif status >= 400:
            assert headers["content-type"].startswith("text/html"), path
            assert b"could not be served" in body or b"Not found" in body, path
    said = {
        path: json.loads(body).get("error", "")
        for (path, _), (_, h, body) in zip(cases, answers, strict=True)
        if h["content-type"] == "application/json"
    }
    assert "from 1970-01-01 to 2200-12-31" in said["/api/stories?until=9999-12-31T23:59-05:00"]
    assert "less than or equal to 2147483647" in said[f"/api/stories/{BIG}"]
    assert "control character" in said["/api/stories?q=a%00b"]


def test_a_time_without_a_zone_is_utc_and_a_date_is_its_midnight(demo_site):
    base, story_id, _ = demo_site
    with httpx.Client(base_url=base) as client:
        last = datetime.fromisoformat(client.get(f"/api/stories/{story_id}").json()["last_seen"])

        def found(since: str) -> bool:
            answer = client.get("/api/stories", params={"since": since, "min_outlets": 1})
            assert answer.status_code == 200, answer.text
            return story_id in {s["id"] for s in answer.json()["stories"]}

        later = last + timedelta(seconds=1)
        assert found(last.replace(tzinfo=None).isoformat()) and not found(later.replace(tzinfo=None).isoformat())
        assert found(last.isoformat()) and not found(later.isoformat())
        plus2 = last.astimezone(datetime.fromisoformat("2025-01-01T00:00+02:00").tzinfo)
        assert found(plus2.isoformat()) and not found((plus2 + timedelta(seconds=1)).isoformat())
        assert found(last.date().isoformat()) and not found((last.date() + timedelta(days=1)).isoformat())
        # the page reads its form the same way
        page = client.get("/", params={"since": (last.date() + timedelta(days=1)).isoformat(), "min_outlets": 1})
        assert page.status_code == 200 and f'href="/stories/{story_id}"' not in page.text


def test_the_write_api_and_forms_refuse_what_the_database_cannot_hold(demo_site):
    base, _, factory = demo_site
    with factory() as session:
        token = create_token(session, "ops")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth) as client:
        feed = client.get("/api/feeds").json()[0]
        nul = client.post("/api/feeds", json={"url": "http://127.0.0.1/a\x00", "outlet": "A"})
        assert nul.status_code == 422 and "control characters" in nul.json()["error"]
        assert client.post("/api/feeds", json={"url": "http://127.0.0.1/a", "outlet": "A\nB"}).status_code == 422
        assert client.patch(f"/api/feeds/{2**63}", json={"paused": True}).status_code == 422
        assert client.delete(f"/api/subscriptions/{BIG}").status_code == 422
        nulled = client.patch(f"/api/feeds/{feed['id']}", json={"outlet": None})
        assert nulled.status_code == 400 and "outlet cannot be null" in nulled.json()["error"]
        assert client.patch(f"/api/feeds/{feed['id']}", json={"country": None}).json()["country"] is None
        sub = client.post("/api/subscriptions", json={"name": "desk"}).json()
        assert client.patch(f"/api/subscriptions/{sub['id']}", json={"name": None}).status_code == 400
        assert client.patch(f"/api/subscriptions/{sub['id']}", json={"min_score": None}).status_code == 200
        many = client.post("/api/subscriptions", json={"name": "x", "kinds": ["wire"] * 30})
        assert many.status_code == 422
        opml = (
            '<?xml version="1.0"?><opml version="2.0"><body>'
            f'<outline type="rss" text="{"T" * 300}" xmlUrl="http://127.0.0.1/long-title.xml"/>'
            f'<outline type="rss" text="Long" xmlUrl="http://127.0.0.1/{"u" * 2100}.xml"/>'
            '<outline type="rss" text="Fine" xmlUrl="http://127.0.0.1/fine.xml"/>'
            "</body></opml>"
        )
        imported = client.post("/api/feeds/opml", content=opml, headers={"Content-Type": "text/x-opml"})
        assert imported.status_code == 200, imported.text
        report = imported.json()
        assert report["added"] == ["http://127.0.0.1/fine.xml"]
        assert sorted(e["error"].split(" is ")[0] for e in report["invalid"]) == ["the feed's URL", "the outlet name"]
        # the sign-in form and the manage forms: forged cookies and CSRF fields of any text are refused
        assert (
            client.get(
                "/manage", headers={"Cookie": "storydiff_session=1.9999999999.\xe9".encode("latin-1")}
            ).status_code
            == 303
        )
        signed = client.post("/signin", data={"token": token})
        assert signed.status_code == 303
        forged = client.post("/manage/feeds", data={"csrf": "é" * 32, "url": "http://127.0.0.1/y", "outlet": "Y"})
        assert forged.status_code == 403
        csrf = client.get("/manage").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = client.post("/manage/feeds", data={"csrf": csrf, "url": "http://127.0.0.1/y", "outlet": "Y\x00"})
        assert refused.status_code == 303 and "control%20character" in refused.headers["location"]
        assert client.post(f"/manage/feeds/{BIG}/pause", data={"csrf": csrf}).status_code == 422


def test_head_answers_like_get_without_a_body_on_every_get_route(demo_site):
    base, story_id, _ = demo_site
    paths = [
        "/", "/articles", "/feeds", "/docs", "/signin", f"/stories/{story_id}", f"/stories/{story_id}/export.md",
        "/healthz", "/api/stories", f"/api/stories/{story_id}", f"/api/stories/{story_id}/report", "/api/articles",
        "/api/outlets", "/api/feeds", "/api/stats", "/openapi.json", "/api/stories/999999", "/?min_outlets=x",
    ]  # fmt: skip
    with httpx.Client(base_url=base) as client:
        for path in paths:
            get, head = client.get(path), client.head(path)
            assert head.status_code == get.status_code, path
            assert head.content == b"", path
            assert head.headers["content-type"] == get.headers["content-type"], path
            # the same length header as the GET (of the body as sent: a page may go out gzipped)
            assert head.headers.get("content-encoding") == get.headers.get("content-encoding"), path
            sent = get.headers.get("content-length") if get.headers.get("content-encoding") else str(len(get.content))
            assert head.headers.get("content-length") == sent, path
            assert head.headers["content-security-policy"] == CSP and head.headers["x-request-id"], path
        post_only = client.head("/signout")
        assert post_only.status_code == 405 and "POST" in post_only.headers["allow"]


def test_request_ids_are_kept_when_sane_and_made_otherwise(demo_site):
    base, _, _ = demo_site
    with httpx.Client(base_url=base) as client:
        assert (
            client.get("/api/stats", headers={"X-Request-ID": "edge-42.a:b"}).headers["x-request-id"] == "edge-42.a:b"
        )
        for bad in ("has space", "x" * 65, "a;b"):
            made = client.get("/api/stats", headers={"X-Request-ID": bad}).headers["x-request-id"]
            assert made != bad and len(made) == 32
        ids = {client.get("/api/stats").headers["x-request-id"] for _ in range(5)}
        assert len(ids) == 5


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket is closed


def test_an_unexpected_error_is_a_500_with_headers_and_request_id_that_keeps_the_connection(caplog):
    """A PostgreSQL that does not answer: every page fails unexpectedly (no input can fix it)."""
    engine = make_engine(f"postgresql+psycopg://storydiff@127.0.0.1:{closed_port()}/nothing")
    caplog.set_level(logging.ERROR, logger="storydiff.web")
    with serve_app(session_factory(engine)) as base:
        answers = same_connection(base, ["/api/stories", "/feeds", "/api/stats"], {"X-Request-ID": "trace-500"})
    engine.dispose()
    for status, headers, body in answers:
        assert status == 500
        assert headers["content-security-policy"] == CSP and headers["x-request-id"] == "trace-500"
        assert b"trace-500" in body and b"Traceback" not in body and b"OperationalError" not in body
    assert json.loads(answers[0][2])["error"].startswith("internal error")
    assert answers[1][1]["content-type"].startswith("text/html")
    logged = [r for r in caplog.records if r.name == "storydiff.web" and r.exc_info]
    assert len(logged) == 3 and all(r.request_id == "trace-500" for r in logged)  # type: ignore[attr-defined]
    assert "GET /api/stories" in logged[0].getMessage()


def test_healthz_is_degraded_with_the_reason_when_the_database_or_broker_is_down(sqlite_db, monkeypatch):
    down = make_engine(f"postgresql+psycopg://storydiff:pw@127.0.0.1:{closed_port()}/nothing")
    with serve_app(session_factory(down)) as base, httpx.Client(base_url=base) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert body["status"] == "degraded" and body["broker"].startswith("not used")
        assert (
            body["database"].startswith("unreachable: OperationalError: connection") and "refused" in body["database"]
        )
        assert body["error"] == f"degraded: database {body['database']}" and "pw" not in answer.text
        head = client.head("/healthz")
        assert head.status_code == 503 and head.content == b""
    down.dispose()
    redis_port = closed_port()
    monkeypatch.setenv("REDIS_URL", f"redis://:secret@127.0.0.1:{redis_port}/0")
    with serve_app(sqlite_db) as base, httpx.Client(base_url=base) as client:
        answer = client.get("/healthz")
        assert answer.status_code == 503
        assert answer.json()["database"] == "ok" and answer.json()["broker"].startswith("unreachable: ConnectionError")
        assert answer.json()["error"].startswith("degraded: broker unreachable: ConnectionError")
        assert "secret" not in answer.text
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
        healthy = client.get("/healthz")
        need(healthy.json()["broker"] == "ok", f"Redis at 127.0.0.1:6379: {healthy.json()['broker']}")
        assert healthy.status_code == 200 and healthy.json() == {
            "status": "ok",
            "database": "ok",
            "broker": "ok",
            "stuck": {},
        }


def test_the_openapi_document_states_the_limits_and_errors(demo_site):
    base, _, _ = demo_site
    schema = httpx.get(f"{base}/openapi.json").json()
    story = schema["paths"]["/api/stories/{story_id}"]["get"]
    (story_id,) = [p for p in story["parameters"] if p["name"] == "story_id"]
    assert story_id["schema"]["maximum"] == 2**31 - 1 and story_id["schema"]["minimum"] == 1
    write = schema["paths"]["/api/feeds/{feed_id}"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "422"} <= set(write)
    assert "text/x-opml" in schema["paths"]["/api/feeds/opml"]["post"]["requestBody"]["content"]
    assert set(schema["paths"]["/healthz"]["get"]["responses"]) >= {"200", "503"}
    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200 and "/api/subscriptions/{sub_id}" in docs.text
