"""Integration tests: a real Celery worker on the real Redis runs refresh_feed (and what it queues), takes
fetch work first; report work is queued in batches, coalesced per story."""

import base64
import json
import os
import re
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
        # cluster_articles enqueued compare_stories for the changed stories: every story gets its report
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
    for task in ("storydiff.refresh_feed", "storydiff.cluster_articles", "storydiff.compare_stories["):
        assert task in output, output[-2000:]


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        need(False, f"Redis at {REDIS_URL} is not reachable ({exc}); start redis-server")
    return client


def test_a_worker_takes_fetch_work_before_queued_report_work(sqlite_db, feed_server):
    """Queues are consumed in -Q order (fetch first), not round-robin: refreshes queued after report
    batches still run first, so refreshes never wait behind a backlog of compare work."""
    _redis_or_skip()
    url = feed_server.add("/order", rss([{"title": "Order item", "link": "http://ex.com/o/1", "guid": "o1"}]))
    with sqlite_db.begin() as s:
        feed_id = add_feed(s, FeedSpec(url, "Order outlet", "wire"))[0].id
    tag = uuid.uuid4().hex[:8]
    fetch, compare = f"fetch-{tag}", f"compare-{tag}"
    os.environ["REDIS_URL"] = REDIS_URL
    try:
        from storydiff.worker import app

        app.conf.broker_url = REDIS_URL
        for _ in range(2):  # queued first: report batches (for a story that does not exist: skipped)
            app.send_task("storydiff.compare_stories", args=[[10**9]], queue=compare)
        for _ in range(2):
            app.send_task("storydiff.refresh_feed", args=[feed_id], queue=fetch)
    finally:
        os.environ.pop("REDIS_URL", None)
    env = {**os.environ, "REDIS_URL": REDIS_URL, "STORYDIFF_FULLTEXT": "0"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "storydiff.worker", "worker", "-Q", f"{fetch},{compare},compare",
         "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sqlite_db() as s:
                if s.get(Feed, feed_id).last_fetch_at is not None and s.scalar(select(func.count()).select_from(Story)):
                    break
            time.sleep(0.5)
        time.sleep(2)  # the report batches run after the refreshes
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0]
    done = re.findall(r"Task (storydiff\.\w+)\[[^\]]+\] succeeded", output)
    ran = [name for name in done if name in ("storydiff.refresh_feed", "storydiff.compare_stories")]
    # (then the report batch for the story the refresh created, queued by its clustering run)
    assert ran[:4] == ["storydiff.refresh_feed"] * 2 + ["storydiff.compare_stories"] * 2, output[-3000:]


def test_report_work_is_queued_in_batches_and_coalesced_per_story(monkeypatch):
    """enqueue_reports: STORYDIFF_COMPARE_BATCH stories per task; a story already queued is not queued again."""
    client = _redis_or_skip()
    monkeypatch.setenv("STORYDIFF_COMPARE_BATCH", "2")
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    from storydiff import worker

    monkeypatch.setattr(worker.app.conf, "broker_url", REDIS_URL)
    base = 10**9 + int(uuid.uuid4().int % 10**6) * 10
    stories = [base, base + 1, base + 2]
    before = client.llen("compare")
    try:
        assert worker.enqueue_reports(stories) == 3
        assert client.llen("compare") - before == 2  # two tasks: [base, base + 1], [base + 2]
        assert worker.enqueue_reports([*stories, base + 3]) == 1  # only the new story
        assert client.llen("compare") - before == 3
    finally:
        added = client.lpop("compare", client.llen("compare") - before) or []  # ours: the newest, on the left
        client.delete(*(f"storydiff:queued:compare:{s}" for s in [*stories, base + 3]))
    batches = sorted(json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in added)  # the task's args
    assert batches == [[base, base + 1], [base + 2], [base + 3]]
