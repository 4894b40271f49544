"""Faults in the distributed mode, with real processes: a private Redis (no persistence, as a
broker without AOF) is SIGKILLed with tasks queued and restarted empty; Celery beat's sweep finds the
lost work again from the database state and a worker finishes it — every demo article extracted,
clustered and compared, once. Prints the time to recover and how many clustering runs the ingest took."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storydiff.compare.store_reports import stale_story_ids
from storydiff.demo.run import add_demo_feeds
from storydiff.demo.server import DemoFeedServer
from storydiff.store.models import Article, StoryArticle, Version
from tests.conftest import need
from tests.webserver import free_port

ROOT = Path(__file__).resolve().parents[1]


def start_redis(port: int) -> subprocess.Popen:
    server = shutil.which("redis-server")
    need(server is not None, "redis-server is not installed (scripts/test.sh installs it)")
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    for _ in range(100):
        try:
            redis.Redis(port=port, socket_connect_timeout=0.2).ping()
            return process
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError("private redis-server did not start")


ENQUEUE = """
from sqlalchemy import select
from storydiff import worker
from storydiff.ingest.refresh import refresh_feed
from storydiff.store import open_database
from storydiff.store.models import Article, Feed

_, factory = open_database()
with factory() as s:
    for feed_id in s.scalars(select(Feed.id)).all():
        for article_id in refresh_feed(s, feed_id).article_ids:
            if s.get(Article, article_id).needs_fulltext:
                worker.enqueue_once(worker.extract_article_task, article_id, key=f"extract:{article_id}")
    worker.enqueue_once(worker.cluster_articles_task, key="cluster")
"""


@pytest.mark.slow
def test_a_redis_restart_with_queued_tasks_loses_no_work(db, tmp_path, monkeypatch):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    broker = start_redis(port)
    server = DemoFeedServer().start()
    env = {**os.environ, "REDIS_URL": url, "STORYDIFF_ALLOW_PRIVATE_URLS": "1", "STORYDIFF_HOST_DELAY": "0",
           "STORYDIFF_SWEEP_AFTER": "3"}  # fmt: skip
    processes: list[subprocess.Popen] = []
    try:
        with db.begin() as s:
            add_demo_feeds(s, server.base_url)
        db_url = db.kw["bind"].url.render_as_string(hide_password=False)
        enqueue = subprocess.run(  # a process fetches the feeds; their extraction tasks go to the broker …
            [sys.executable, "-c", ENQUEUE],
            env={**env, "DATABASE_URL": db_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert enqueue.returncode == 0, enqueue.stderr[-2000:]
        with db() as s:
            waiting = s.scalar(select(func.count(Article.id)).where(Article.needs_fulltext.is_(True)))
            total = s.scalar(select(func.count(Article.id)))
        assert waiting > 0
        broker.kill()  # … and are lost: Redis dies without persistence
        broker.wait()
        broker = start_redis(port)
        import redis

        assert redis.Redis(port=port).dbsize() == 0  # nothing queued survived
        faulted = time.monotonic()
        celery = [sys.executable, "-m", "celery", "-A", "storydiff.worker"]
        log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed below)
        processes.append(subprocess.Popen(
            [*celery, "worker", "-Q", "fetch,extract,compare,alerts,celery", "--pool", "solo", "--without-heartbeat",
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        ))  # fmt: skip
        processes.append(subprocess.Popen(
            [*celery, "beat", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        ))  # fmt: skip

        def done() -> bool:
            with db() as s:
                pending = s.scalar(select(func.count(Article.id)).where(Article.needs_fulltext.is_(True)))
                clustered = s.scalar(select(func.count(StoryArticle.article_id)))
                return pending == 0 and clustered == total and not stale_story_ids(s)

        deadline = time.monotonic() + 240
        while not done():
            assert time.monotonic() < deadline, "the lost work was not recovered"
            assert all(p.poll() is None for p in processes)
            time.sleep(1)
        recovered = time.monotonic() - faulted
        with db() as s:  # every article once, each extraction attempted once (one version per article)
            assert s.scalar(select(func.count(Article.id))) == total
            assert s.scalar(select(func.count(Version.id))) == total
        log.close()
        runs = len(
            re.findall(r"Task storydiff\.cluster_articles\[[^\]]+\] succeeded", (tmp_path / "worker.log").read_text())
        )
        print(f"recovered {waiting} lost extractions in {recovered:.1f} s; {runs} clustering runs for {total} articles")
        assert recovered <= 120
        assert runs <= waiting  # coalesced: not one run per trigger
    finally:
        if "log" in locals():
            log.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        server.stop()
        broker.kill()
        broker.wait()
