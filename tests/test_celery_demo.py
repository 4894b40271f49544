"""The bundled demo through the distributed mode: real Celery beat and worker processes on Redis,
SQLite or PostgreSQL; beat enqueues one refresh task per due feed, each refresh triggers its own
clustering run — the demo's story must come out whole, as in the embedded mode (with stories
closed by the wall clock it came out in pieces)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from storydiff.demo.run import add_demo_feeds
from storydiff.demo.server import DemoFeedServer
from storydiff.store.models import Article, Outlet, StoryArticle
from tests.conftest import need

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("STORYDIFF_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.mark.slow
def test_the_demo_story_comes_out_whole_from_a_real_worker_and_beat(db, monkeypatch, tmp_path):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        up, why = True, None
    except redis.RedisError as exc:
        up, why = False, exc
    need(up, f"Redis at {REDIS_URL} is not reachable ({why}); start redis-server")
    redis.Redis.from_url(REDIS_URL).flushdb()  # this test's own Redis database: no task left from a run before
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "1")
    server = DemoFeedServer().start()
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "STORYDIFF_ALLOW_PRIVATE_URLS": "1",
        "STORYDIFF_HOST_DELAY": "0",
    }
    with db.begin() as s:
        add_demo_feeds(s, server.base_url)
    celery = [sys.executable, "-m", "celery", "-A", "storydiff.worker"]
    worker = subprocess.Popen(
        [*celery, "worker", "-Q", "fetch,extract,compare,celery", "--pool", "solo", "--without-heartbeat",
         "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    beat = subprocess.Popen(  # its first tick enqueues schedule_due_feeds: one refresh task per due feed
        [*celery, "beat", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 150
        settled = 0
        while time.monotonic() < deadline and settled < 6:
            time.sleep(1)
            assert worker.poll() is None and beat.poll() is None, (worker.stdout.read(), beat.stdout.read())
            with db() as s:
                total = s.scalar(select(func.count()).select_from(Article))
                clustered = s.scalar(select(func.count()).select_from(StoryArticle))
            settled = settled + 1 if total and clustered == total else 0
        assert total and clustered == total, f"{clustered} of {total} articles clustered"
        with db() as s:
            rows = s.execute(
                select(StoryArticle.story_id, Outlet.name)
                .join(Article, Article.id == StoryArticle.article_id)
                .join(Outlet, Outlet.id == Article.outlet_id)
            ).all()
        outlets: dict[int, set[str]] = {}
        for story_id, name in rows:
            outlets.setdefault(story_id, set()).add(name)
        assert max(len(names) for names in outlets.values()) == 6, sorted(map(len, outlets.values()))
    finally:
        server.stop()
        for process in (beat, worker):
            process.terminate()
            process.communicate(timeout=20)
