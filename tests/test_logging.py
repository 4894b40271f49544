"""Logs an operator can use (issue 13): one configuration for `storydiff serve`, the CLI and the Celery
worker; text or JSON lines with the request id; one line per feed refresh naming the feed by id and
outlet; no secrets (no query strings, no passwords)."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storydiff import logs
from storydiff.cli import shown_database_url
from storydiff.errors import ConfigError
from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.refresh import refresh_feed
from tests.feedserver import rss
from tests.webserver import free_port

VENV_BIN = Path(sys.executable).parent
ITEMS = [
    {
        "title": f"Logged {n}",
        "link": f"http://127.0.0.1/a/{n}",
        "guid": f"l{n}",
        "date": "Tue, 21 Oct 2025 10:00:00 +0000",
        "description": "text",
    }
    for n in range(2)
]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_request_id_and_fields(restore_logging):
    out = io.StringIO()
    logs.configure("INFO", "json", out)
    log = logging.getLogger("storydiff.test")
    token = logs.REQUEST_ID.set("req-1")
    try:
        log.info("feed %d refreshed", 7, extra={"feed_id": 7, "outlet": "Courier Wire"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("it failed")
    finally:
        logs.REQUEST_ID.reset(token)
    log.debug("below the level")
    log.warning("outside a request")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 3
    first, failed, outside = lines
    assert first["message"] == "feed 7 refreshed" and first["level"] == "INFO" and first["logger"] == "storydiff.test"
    assert first["request_id"] == "req-1" and first["feed_id"] == 7 and first["outlet"] == "Courier Wire"
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert failed["request_id"] == "req-1" and "ValueError: boom" in failed["exception"]
    assert "request_id" not in outside


def test_text_lines_name_the_request(restore_logging):
    out = io.StringIO()
    logs.configure("WARNING", "text", out)
    token = logs.REQUEST_ID.set("req-2")
    try:
        logging.getLogger("storydiff.test").warning("slow answer")
        logging.getLogger("storydiff.test").info("not shown")
    finally:
        logs.REQUEST_ID.reset(token)
    (line,) = out.getvalue().splitlines()
    assert line.endswith("WARNING storydiff.test: slow answer [request req-2]")


def test_levels_and_formats_are_checked_and_the_cli_level_follows_the_rules(monkeypatch):
    monkeypatch.delenv("STORYDIFF_LOG_LEVEL", raising=False)
    assert logs.level_name() == "INFO" and logs.format_name() == "text"
    assert logs.cli_level(verbose=False, service=False) == "WARNING"
    assert logs.cli_level(verbose=True, service=False) == "INFO"
    assert logs.cli_level(verbose=False, service=True) == "INFO"
    monkeypatch.setenv("STORYDIFF_LOG_LEVEL", "error")
    assert logs.cli_level(verbose=False, service=True) == "ERROR"
    assert logs.cli_level(verbose=True, service=False) == "INFO"
    monkeypatch.setenv("STORYDIFF_LOG_LEVEL", "debug")
    assert logs.cli_level(verbose=True, service=False) == "DEBUG"
    monkeypatch.setenv("STORYDIFF_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match="STORYDIFF_LOG_LEVEL must be one of DEBUG"):
        logs.level_name()
    with pytest.raises(ConfigError, match="STORYDIFF_LOG_FORMAT must be text or json"):
        logs.format_name("xml")


def test_urls_in_messages_lose_credentials_queries_and_fragments(monkeypatch):
    assert (
        logs.safe_url("https://user:pw@example.com:8443/feed.xml?key=s3cret#x") == "https://example.com:8443/feed.xml?…"
    )
    assert logs.scrub("cannot reach http://h/f?token=abc: refused") == "cannot reach http://h/f?…: refused"
    assert shown_database_url().startswith("sqlite:///")
    monkeypatch.setenv("DATABASE_URL", "postgresql://storydiff:hunter2@db.internal:5432/storydiff")
    assert shown_database_url() == "postgresql+psycopg://storydiff:***@db.internal:5432/storydiff"


def test_each_feed_refresh_is_one_line_with_id_outlet_status_counts_and_duration(sqlite_db, feed_server, caplog):
    caplog.set_level(logging.INFO, logger="storydiff.ingest.refresh")
    with sqlite_db.begin() as s:
        good = add_feed(s, FeedSpec(feed_server.add("/feed", rss(ITEMS)) + "?key=s3cret", "Courier Wire", "wire"))[0].id
        bad = add_feed(s, FeedSpec(feed_server.add("/gone", status=410) + "?token=s3cret", "Gone Daily"))[0].id
    with sqlite_db() as s:
        refresh_feed(s, good)
        refresh_feed(s, bad)
    records = [r for r in caplog.records if r.name == "storydiff.ingest.refresh"]
    assert len(records) == 2
    ok, failed = records
    assert ok.levelno == logging.INFO
    assert (ok.feed_id, ok.outlet, ok.status, ok.new, ok.updated) == (good, "Courier Wire", "ok", 2, 0)  # type: ignore[attr-defined]
    assert ok.duration_ms >= 0 and f"feed {good} (Courier Wire): ok, 2 new" in ok.getMessage()  # type: ignore[attr-defined]
    assert failed.levelno == logging.WARNING and failed.status == "error" and "410" in failed.getMessage()  # type: ignore[attr-defined]
    assert all("s3cret" not in r.getMessage() and "s3cret" not in str(r.__dict__) for r in records)


def wait_for(predicate, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_serve_writes_json_lines_with_request_ids_and_feed_outcomes_and_no_secrets(tmp_path, feed_server):
    data = tmp_path / "data"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("STORYDIFF_") and k not in ("DATABASE_URL", "REDIS_URL")
    } | {
        "STORYDIFF_DATA_DIR": str(data),
        "STORYDIFF_ALLOW_PRIVATE_URLS": "1",
        "STORYDIFF_DEFAULT_FEEDS": "0",
        "STORYDIFF_FULLTEXT": "0",
        "STORYDIFF_HOST_DELAY": "0",
        "STORYDIFF_LOG_FORMAT": "json",
    }
    url = feed_server.add("/feed", rss(ITEMS)) + "?key=s3cret"
    added = subprocess.run(
        [VENV_BIN / "storydiff", "feeds", "add", url, "--outlet", "Courier Wire"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert added.returncode == 0, added.stderr
    port = free_port()
    err = tmp_path / "serve.err"
    with err.open("w") as stderr:
        proc = subprocess.Popen([VENV_BIN / "storydiff", "serve", "--port", str(port)], env=env, stderr=stderr)
        try:
            wait_for(lambda: '"feed_id": 1' in err.read_text())
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: b"uvicorn running" in err.read_bytes().lower())
            answer = httpx.get(f"{base}/api/stories?q=ferry", headers={"X-Request-ID": "trace-1"})
            assert answer.headers["x-request-id"] == "trace-1"
            wait_for(lambda: "trace-1" in err.read_text())
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    text = err.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    (refresh,) = [line for line in lines if line.get("feed_id") == 1]
    assert refresh["outlet"] == "Courier Wire" and refresh["status"] == "ok" and refresh["new"] == 2
    assert refresh["level"] == "INFO" and isinstance(refresh["duration_ms"], int)
    (access,) = [line for line in lines if line.get("request_id") == "trace-1"]
    assert access["logger"] == "storydiff.web.access" and access["path"] == "/api/stories" and access["status"] == 200
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # uvicorn's own lines in our format
    assert "s3cret" not in text and "q=ferry" not in text


def test_the_cli_logs_warnings_and_with_v_progress_too(tmp_path, feed_server):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("STORYDIFF_") and k not in ("DATABASE_URL", "REDIS_URL")
    } | {"STORYDIFF_DATA_DIR": str(tmp_path / "data"), "STORYDIFF_ALLOW_PRIVATE_URLS": "1", "STORYDIFF_FULLTEXT": "0"}
    storydiff = str(VENV_BIN / "storydiff")
    subprocess.run(
        [storydiff, "feeds", "add", feed_server.add("/feed", rss(ITEMS)), "--outlet", "A"], env=env, check=True
    )
    subprocess.run(
        [storydiff, "feeds", "add", feed_server.add("/gone", status=410), "--outlet", "B"], env=env, check=True
    )
    quiet = subprocess.run([storydiff, "ingest", "--all"], env=env, capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr
    assert "WARNING storydiff.ingest.refresh: feed 2 (B): error" in quiet.stderr and "feed 1 (A)" not in quiet.stderr
    verbose = subprocess.run([storydiff, "-v", "ingest", "--all"], env=env, capture_output=True, text=True)
    assert "INFO storydiff.ingest.refresh: feed 1 (A): ok, 0 new, 0 updated, 2 unchanged" in verbose.stderr
    wrong = subprocess.run(
        [storydiff, "stats"], env=env | {"STORYDIFF_LOG_LEVEL": "loud"}, capture_output=True, text=True
    )
    assert wrong.returncode == 2 and "STORYDIFF_LOG_LEVEL must be one of" in wrong.stderr


CELERY = """
import logging
from celery import signals
from storydiff.worker import app
app.log.setup(loglevel="ERROR")  # what `celery worker` does at start: our signal receiver takes over
logging.getLogger("storydiff.ingest.refresh").info("feed 3 (Courier Wire): ok", extra={"feed_id": 3})
task = app.tasks["storydiff.refresh_feed"]
signals.task_prerun.send(sender=task, task_id="t-1", task=task, args=(3,), kwargs={})
logging.getLogger("celery.app.trace").warning("inside the task")
signals.task_postrun.send(sender=task, task_id="t-1", task=task, args=(3,), kwargs={}, retval=None, state="SUCCESS")
"""


def test_the_celery_worker_logs_in_our_format_with_the_task(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYDIFF_")} | {
        "STORYDIFF_LOG_FORMAT": "json",
        "STORYDIFF_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run([sys.executable, "-c", CELERY], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line is one JSON object
    (refresh,) = [line for line in lines if "feed_id" in line]
    (inside,) = [line for line in lines if line["message"] == "inside the task"]
    assert refresh["feed_id"] == 3 and refresh["level"] == "INFO"  # STORYDIFF_LOG_LEVEL, not celery's --loglevel
    assert inside["task"] == "storydiff.refresh_feed" and inside["task_id"] == "t-1"
