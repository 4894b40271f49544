"""Faults in the distributed mode, with real processes (a Celery worker and beat on a private
Redis, the demo feeds), each ending with every expected article stored once, clustered and
compared, and the time to recover printed (target ≤ 2 min after the fault ends):

- Redis (no persistence, as a broker without AOF) is SIGKILLed with tasks queued and restarted
  empty: beat's sweep finds the lost work again from the database state.
- PostgreSQL becomes unreachable for 15 s in the middle of the ingest (a TCP proxy in front of it
  drops every connection and refuses new ones): tasks retry with capped backoff, never 0 s, and
  the work completes once the database is back.
- The worker is SIGKILLed while it is fetching a feed: a new worker refreshes the feed once the
  running refresh's lease runs out, instead of the feed staying locked."""

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
from storydiff.settings import SETTINGS
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


CELERY = [sys.executable, "-m", "celery", "-A", "storydiff.worker"]


def start_worker(env: dict[str, str], log: Path, name: str = "w1") -> subprocess.Popen:
    with open(log, "a") as out:  # the child has its own copy of the descriptor
        return subprocess.Popen(
            [*CELERY, "worker", "-Q", "fetch,extract,compare,alerts,celery", "--pool", "solo", "-n", f"{name}@%h",
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def start_beat(env: dict[str, str], tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*CELERY, "beat", "--schedule", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip


def settled(db, total: int) -> bool:
    """Every expected article stored, none waiting for text, all clustered, no stale report."""
    with db() as s:
        stored = s.scalar(select(func.count(Article.id)))
        pending = s.scalar(select(func.count(Article.id)).where(Article.needs_fulltext.is_(True)))
        clustered = s.scalar(select(func.count(StoryArticle.article_id)))
        return stored == total and pending == 0 and clustered == total and not stale_story_ids(s)


def wait_until(condition, seconds: float, processes: list[subprocess.Popen], log: Path, poll: float = 1.0) -> float:
    """Seconds until condition() holds; fails if it does not within `seconds` or a process died."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not recovered in {seconds} s:\n{log.read_text()[-3000:]}"
        assert all(p.poll() is None for p in processes), log.read_text()[-3000:]
        time.sleep(poll)
    return time.monotonic() - started


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def demo_links() -> int:
    """How many distinct articles the demo feeds carry (read from the feed files themselves)."""
    import feedparser

    folder = ROOT / "demo" / "feeds"
    return len({entry.link for path in folder.iterdir() for entry in feedparser.parse(path.read_bytes()).entries})


def beat_tick(broker_url: str) -> None:
    """What beat does at its tick, now rather than in 30 s: schedule_due_feeds claims the due feeds
    and enqueues their refresh (run by the worker)."""
    from celery import Celery

    sender = Celery("sender", broker=broker_url)
    sender.send_task("storydiff.schedule_due_feeds")
    sender.close()


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


@pytest.mark.slow
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_database_outage_in_the_middle_of_an_ingest_is_waited_out(db, tmp_path):
    from sqlalchemy.engine import make_url

    from tests.tcpproxy import TcpProxy

    direct = db.kw["bind"].url
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    port = free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    broker = start_redis(port)
    server = DemoFeedServer().start()
    proxied = make_url(direct.render_as_string(hide_password=False)).set(host="127.0.0.1", port=proxy.port)
    env = {**os.environ, "REDIS_URL": broker_url, "DATABASE_URL": proxied.render_as_string(hide_password=False),
           "STORYDIFF_ALLOW_PRIVATE_URLS": "1", "STORYDIFF_HOST_DELAY": "0"}  # fmt: skip
    log = tmp_path / "worker.log"
    processes: list[subprocess.Popen] = []
    total = demo_links()
    try:
        with db.begin() as s:
            add_demo_feeds(s, server.base_url)
        processes += [start_worker(env, log), start_beat(env, tmp_path)]
        beat_tick(broker_url)

        def some_stored() -> bool:
            with db() as s:
                return s.scalar(select(func.count(Article.id))) > 0

        # the demo ingest takes a second or two once it starts: look often, to cut in its middle
        wait_until(some_stored, 120, processes, log, poll=0.02)
        proxy.cut()  # the database is gone for the workers …
        time.sleep(15)
        with db() as s:
            during = s.scalar(select(func.count(Article.id)))
        proxy.restore()  # … and back
        recovered = wait_until(lambda: settled(db, total), 240, processes, log)
        with db() as s:  # every article once, one version each
            assert s.scalar(select(func.count(Article.id))) == total
            assert s.scalar(select(func.count(Version.id))) == total
        text = log.read_text()
        retries = re.findall(r"Retry in (\d+(?:\.\d+)?)s", text)
        print(f"database outage of 15 s ({proxy.refused} connections refused, {during} of {total} articles stored "
              f"before it): recovered {recovered:.1f} s after it ended; retry delays {sorted(set(retries))}")  # fmt: skip
        assert retries, "no task met the outage: cut earlier"
        assert all(float(r) >= 1 for r in retries)  # backoff, never "Retry in 0s"
        assert recovered <= 120
    finally:
        stop(processes)
        server.stop()
        proxy.close()
        broker.kill()
        broker.wait()


@pytest.mark.slow
def test_a_worker_killed_mid_refresh_does_not_lock_the_feed(db, tmp_path, feed_server):
    from tests.feedserver import rss

    items = [{"title": f"Harbour cranes idle on day {n} of the dispute", "link": f"http://ex.com/cranes/{n}",
              "guid": f"cranes-{n}", "date": "Tue, 21 Oct 2025 10:00:00 +0000",
              "description": f"Dockers stayed away from the cranes for a {n}th day."} for n in range(3)]  # fmt: skip
    url = feed_server.add("/slow.xml", rss(items), delay=45.0)  # the first refresh hangs in the fetch
    port = free_port()
    broker_url = f"redis://127.0.0.1:{port}/0"
    broker = start_redis(port)
    # the default download timeouts, not the suite's short ones: the running lease derives from them
    defaults = {s.name: s.default for s in SETTINGS if s.name.endswith("_TIMEOUT")}
    env = {**os.environ, **defaults, "REDIS_URL": broker_url, "STORYDIFF_ALLOW_PRIVATE_URLS": "1",
           "STORYDIFF_HOST_DELAY": "0", "STORYDIFF_FULLTEXT": "0"}  # fmt: skip
    log = tmp_path / "worker.log"
    processes: list[subprocess.Popen] = []
    try:
        from storydiff.ingest.feeds import FeedSpec, add_feed

        with db.begin() as s:
            add_feed(s, FeedSpec(url, "Quayside Post", "newspaper"))
        first = start_worker(env, log)
        processes += [first, start_beat(env, tmp_path)]
        beat_tick(broker_url)
        wait_until(lambda: len(feed_server.requests_to("/slow.xml")) >= 1, 120, processes, log)
        first.kill()  # SIGKILL mid-fetch: the task is neither finished nor acknowledged
        first.wait()
        processes.remove(first)
        killed = time.monotonic()
        feed_server.routes["/slow.xml"].delay = 0.0
        processes.append(start_worker(env, log, "w2"))
        recovered = wait_until(lambda: settled(db, len(items)), 240, processes, log)
        since_kill = time.monotonic() - killed
        with db() as s:
            assert s.scalar(select(func.count(Version.id))) == len(items)
        print(f"worker SIGKILLed mid-refresh: the feed was refreshed by another worker {since_kill:.1f} s later "
              f"({len(feed_server.requests_to('/slow.xml'))} requests to the feed)")  # fmt: skip
        assert recovered <= 120
    finally:
        stop(processes)
        broker.kill()
        broker.wait()
