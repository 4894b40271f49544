"""One integration test: a real Celery worker on the real Redis runs refresh_feed."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import func, select

from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.store.models import Article, Feed, Report, Story, StoryArticle
from tests.conftest import need
from tests.feedserver import rss

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("STORYDIFF_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def test_refresh_feed_task_on_a_real_worker(sqlite_db, feed_server, tmp_path, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")  # the items link to hosts tests must not contact
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        up = True
    except redis.RedisError as exc:
        up, why = False, exc
    need(up, f"Redis at {REDIS_URL} is not reachable ({why if not up else ''}); start redis-server")
    items = [
        {
            "title": f"Worker item {n}",
            "link": f"http://ex.com/w/{n}",
            "guid": f"w{n}",
            "date": "Tue, 21 Oct 2025 10:00:00 +0000",
            "description": "text",
        }
        for n in range(4)
    ]
    url = feed_server.add("/feed", rss(items))
    with sqlite_db.begin() as s:
        feed_id = add_feed(s, FeedSpec(url, "Worker outlet", "wire"))[0].id
    queue = f"fetch-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "REDIS_URL": REDIS_URL, "STORYDIFF_FULLTEXT": "0"}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "storydiff.worker",
            "worker",
            "-Q",
            f"{queue},compare",
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        os.environ["REDIS_URL"] = REDIS_URL
        from storydiff.worker import app, refresh_feed_task

        app.conf.broker_url = REDIS_URL
        refresh_feed_task.apply_async((feed_id,), queue=queue)
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline and stored < 4:
            time.sleep(0.5)
            assert worker.poll() is None, worker.stdout.read()
            with sqlite_db() as s:
                stored = s.scalar(select(func.count()).select_from(Article))
        assert stored == 4
        with sqlite_db() as s:
            assert s.get(Feed, feed_id).last_status == "ok"
        # refresh_feed enqueued cluster_articles: every article ends up in a story
        while time.monotonic() < deadline:
            with sqlite_db() as s:
                if s.scalar(select(func.count()).select_from(StoryArticle)) == 4:
                    break
            time.sleep(0.5)
        with sqlite_db() as s:
            clustered = s.scalar(select(func.count()).select_from(StoryArticle))
        if clustered != 4:
            worker.terminate()
            raise AssertionError(
                f"{clustered} of 4 articles clustered; worker said:\n{worker.communicate(timeout=20)[0][-6000:]}"
            )
        # cluster_articles enqueued compare_story for each changed story: every story gets its report
        while time.monotonic() < deadline:
            with sqlite_db() as s:
                stories = s.scalar(select(func.count()).select_from(Story))
                reports = s.scalar(select(func.count()).select_from(Report))
            if stories and reports == stories:
                break
            time.sleep(0.5)
        assert stories and reports == stories, f"{reports} reports for {stories} stories"
    finally:
        os.environ.pop("REDIS_URL", None)
        worker.terminate()
        output = worker.communicate(timeout=20)[0]
    for task in ("storydiff.refresh_feed", "storydiff.cluster_articles", "storydiff.compare_story"):
        assert task in output, output[-2000:]
