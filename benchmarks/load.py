"""Load: many feeds through the distributed mode (Celery workers on Redis, PostgreSQL) against the
embedded mode (one process) on the same feeds, measured in the same run.

1,000 feeds are served from 127.0.0.1, their items resampled from the real RSS files in
../shared/data/rss-feeds-real (unique guids and links): 3 % answer slowly (5 s before the first
byte), 3 % fail (HTTP 500), 1 % are large (20× the items). No full-text extraction (the links point
nowhere reachable); everything else runs: fetch, parse, store, wire-copy linking, clustering,
reports, alert matching.

- **embedded**: a fresh PostgreSQL database, `pipeline.run_once` in this process until nothing is
  pending — the single-process figure.
- **distributed**: another fresh database, N Celery worker processes (solo pool) and beat on
  Redis. At t0 every feed is due and claimed, as beat's `schedule_due_feeds` does at its tick; the
  run ends when every feed has been refreshed and every stored article is clustered with its story's
  report current. Then a second round: every feed gains items and is due again, to see whether the
  workers' memory stays flat.

Printed: feeds refreshed per minute, articles/s (stored and clustered, over the whole run), the
queue depth and each worker's RSS (its process tree) over time, the refresh latency (from the feed
being due to its refresh being stored: p50/p95/max, which must stay within the feed's interval,
STORYDIFF_MIN_INTERVAL), and the ratio of the distributed to the embedded throughput.

    python benchmarks/load.py [--feeds 1000 --items 10 --workers 2 --redis redis://127.0.0.1:6379/11]
                              [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _ingest_benchmark() -> Any:
    """benchmarks/ingest.py, whose real-feed builder this benchmark shares."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ingest_benchmark", Path(__file__).with_name("ingest.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


real_feeds = _ingest_benchmark().real_feeds
QUEUES = ("fetch", "extract", "compare", "alerts", "celery")


class Feeds:
    """Feeds on 127.0.0.1; a feed's body can be replaced between rounds."""

    def __init__(self, bodies: list[bytes], slow: set[int], failing: set[int]) -> None:
        self.bodies, self.slow, self.failing = bodies, slow, failing
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                number = int(self.path.rsplit("/", 1)[-1].removesuffix(".xml"))
                if number in feeds.slow:
                    time.sleep(5.0)
                status = 500 if number in feeds.failing else 200
                body = b"failing on purpose" if status == 500 else feeds.bodies[number]
                self.send_response(status)
                self.send_header("content-type", "application/rss+xml")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a worker stopped mid-fetch
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], ConnectionError):  # a client closed its connection
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, number: int) -> str:
        return f"{self.base}/f/{number}.xml"


def build(args: argparse.Namespace, rng: random.Random) -> tuple[list[bytes], set[int], set[int], set[int]]:
    numbers = list(range(args.feeds))
    rng.shuffle(numbers)
    slow = set(numbers[: args.feeds * 3 // 100])
    failing = set(numbers[args.feeds * 3 // 100 : args.feeds * 6 // 100])
    large = set(numbers[args.feeds * 6 // 100 : args.feeds * 7 // 100])
    folder = Path(args.data) / "rss-feeds-real"
    bodies = real_feeds(folder, args.feeds, args.items, rng)
    for number in large:
        bodies[number] = real_feeds(folder, 1, args.items * 20, random.Random(f"large{number}"))[0].replace(
            b"sd0x", f"sd{number}L".encode()
        )
    return bodies, slow, failing, large


def fresh_database(admin_url: str) -> str:
    from sqlalchemy import create_engine, text

    name = f"storydiff_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def prepared(args: argparse.Namespace, feeds: Feeds) -> tuple[str, Any, Any]:
    """A fresh, migrated PostgreSQL database holding the feeds: its URL, engine and session factory."""
    from storydiff.ingest.feeds import FeedSpec, add_feed
    from storydiff.store import make_engine, migrate, session_factory

    url = fresh_database(args.admin_url)
    engine = make_engine(url)
    migrate(engine)
    factory = session_factory(engine)
    with factory.begin() as s:
        for number in range(args.feeds):
            add_feed(s, FeedSpec(feeds.url(number), f"Outlet {number % 97}", "newspaper"))
    return url, engine, factory


def state(factory: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from storydiff.compare.store_reports import stale_story_ids
    from storydiff.store.models import Article, Feed, StoryArticle

    with factory() as s:
        return {
            "refreshed": s.scalar(select(func.count(Feed.id)).where(Feed.last_fetch_at.is_not(None))) or 0,
            "articles": s.scalar(select(func.count(Article.id))) or 0,
            "clustered": s.scalar(select(func.count(StoryArticle.article_id))) or 0,
            "stale": len(stale_story_ids(s)),
        }


def refreshed_since(factory: Any, since: datetime) -> list[float]:
    """Seconds from `since` (every feed due) to each feed's refresh being stored."""
    from sqlalchemy import select

    from storydiff.store.models import Feed

    with factory() as s:
        return [(at - since).total_seconds() for at in s.scalars(select(Feed.last_fetch_at)) if at and at >= since]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, MB (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def embedded(factory: Any) -> tuple[float, dict[str, int]]:
    from storydiff.pipeline import pending_work, run_once

    started = time.perf_counter()
    run_once(factory)
    while True:
        with factory() as s:
            work = pending_work(s)
        if not (work.unclustered or work.stale):
            break
        run_once(factory, feed_ids=[])
    return time.perf_counter() - started, state(factory)


def due_now(factory: Any) -> datetime:
    from sqlalchemy import update

    from storydiff.store.models import Feed

    now = datetime.now(UTC)
    with factory.begin() as s:
        s.execute(update(Feed).values(next_check_at=now, etag=None, last_modified=None))
    return now


def beat_tick(redis_url: str) -> None:
    """What beat does every 30 s: schedule_due_feeds claims the due feeds and enqueues their
    refresh batches (run by a worker)."""
    from celery import Celery

    sender = Celery("load", broker=redis_url)
    sender.send_task("storydiff.schedule_due_feeds")
    sender.close()


def watch(factory: Any, redis_url: str, workers: list[subprocess.Popen], started: float, expected_feeds: int,
          timeout: float, label: str) -> tuple[float, dict[str, int], list[float]]:  # fmt: skip
    """Sample until the round has settled; prints one line every ~10 s. Returns the round's wall
    time, the final state and each worker's last RSS."""
    import redis

    broker = redis.Redis.from_url(redis_url)
    last_print = 0.0
    settled_for = 0
    while True:
        time.sleep(2)
        now = time.perf_counter() - started
        st = state(factory)
        depth = sum(int(broker.llen(q)) for q in QUEUES)
        rss = [tree_rss_mb(w.pid) for w in workers]
        if now - last_print >= 10:
            last_print = now
            print(f"  {label} {now:6.0f} s  refreshed {st['refreshed']:5}/{expected_feeds}  articles {st['articles']:6}"
                  f"  clustered {st['clustered']:6}  stale reports {st['stale']:4}  queued {depth:5}"
                  f"  worker RSS {' / '.join(f'{r:.0f}' for r in rss)} MB", flush=True)  # fmt: skip
        done = st["refreshed"] >= expected_feeds and st["clustered"] == st["articles"] and not st["stale"]
        settled_for = settled_for + 1 if done and depth == 0 else 0
        if settled_for >= 2:
            return now, st, rss
        if now > timeout:
            print(f"  {label}: not settled after {timeout:.0f} s")
            return now, st, rss
        for w in workers:
            if w.poll() is not None:
                raise SystemExit(f"a worker exited with {w.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="storydiff-load-")
    os.environ.update(
        STORYDIFF_DATA_DIR=tmp, STORYDIFF_ALLOW_PRIVATE_URLS="1", STORYDIFF_FULLTEXT="0", STORYDIFF_HOST_DELAY="0",
        STORYDIFF_DEFAULT_FEEDS="0", STORYDIFF_LOG_LEVEL="WARNING",
    )  # fmt: skip
    rng = random.Random(13)
    bodies, slow, failing, large = build(args, rng)
    feeds = Feeds(bodies, slow, failing)
    items = sum(b.count(b"<item") for b in bodies)
    print(f"{args.feeds} feeds ({len(slow)} slow, {len(failing)} failing, {len(large)} large), {items} items; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    urls: list[str] = []
    try:
        single = None
        if not args.skip_embedded:
            url, engine, factory = prepared(args, feeds)
            urls.append(url)
            seconds, st = embedded(factory)
            single = st["clustered"] / seconds
            print(f"embedded (one process): {seconds:.1f} s, {st['articles']} articles stored, {st['clustered']} "
                  f"clustered → {single:.0f} articles/s, {args.feeds / seconds * 60:.0f} feeds/min")  # fmt: skip
            engine.dispose()

        url, engine, factory = prepared(args, feeds)
        urls.append(url)
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        env = {**os.environ, "REDIS_URL": args.redis, "DATABASE_URL": url}
        celery = [sys.executable, "-m", "celery", "-A", "storydiff.worker"]
        command = [*celery, "worker", "-Q", ",".join(QUEUES), "--pool", "solo", "--without-heartbeat",
                   "--without-gossip", "--without-mingle"]  # fmt: skip
        workers = []
        for n in range(args.workers):
            workers.append(subprocess.Popen([*command, "-n", f"load{n}@%h"], cwd=ROOT, env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
        beat = subprocess.Popen(
            [*celery, "beat", "--schedule", str(Path(tmp) / "beat-schedule")],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(6)  # the workers connect
            rss_idle = [tree_rss_mb(w.pid) for w in workers]
            rounds = []
            for number in (1, 2):
                if number == 2:  # every feed gains items and is due again
                    for f, body in enumerate(feeds.bodies):
                        extra = real_feeds(Path(args.data) / "rss-feeds-real", 1, 2, random.Random(f"r2-{f}"))[0]
                        new = (
                            extra.split(b"</title>", 1)[1]
                            .rsplit(b"</channel>", 1)[0]
                            .replace(b"sd0x", f"r2f{f}x".encode())
                        )
                        feeds.bodies[f] = body.replace(b"</channel>", new + b"</channel>", 1)
                since = due_now(factory)
                started = time.perf_counter()
                beat_tick(args.redis)
                seconds, st, rss = watch(
                    factory, args.redis, workers, started, args.feeds, args.timeout, f"round {number}"
                )
                latency = refreshed_since(factory, since)
                rounds.append((seconds, st, rss, latency))
        finally:
            for p in [*workers, beat]:
                p.terminate()
            for p in [*workers, beat]:
                p.wait(timeout=60)
            engine.dispose()
        (seconds, st, rss, latency), (seconds2, st2, rss2, latency2) = rounds
        multi = st["clustered"] / seconds
        print(f"distributed ({args.workers} workers), round 1: {seconds:.1f} s, {st['articles']} articles, "
              f"{multi:.0f} articles/s, {len(latency) / seconds * 60:.0f} feeds refreshed/min")  # fmt: skip
        print(f"  refresh latency from due: p50 {statistics.median(latency):.1f} s, p95 {percentile(latency, 0.95):.1f} s,"
              f" max {max(latency):.1f} s ({len(latency)} feeds; interval {os.environ.get('STORYDIFF_MIN_INTERVAL', '300')} s)")  # fmt: skip
        print(f"round 2 (+2 items per feed): {seconds2:.1f} s, {st2['articles'] - st['articles']} new articles; refresh "
              f"latency p95 {percentile(latency2, 0.95):.1f} s, max {max(latency2) if latency2 else float('nan'):.1f} s")  # fmt: skip
        print(f"worker RSS MB idle {' / '.join(f'{r:.0f}' for r in rss_idle)}, after round 1 "
              f"{' / '.join(f'{r:.0f}' for r in rss)}, after round 2 {' / '.join(f'{r:.0f}' for r in rss2)}")  # fmt: skip
        if single:
            print(f"ratio distributed / embedded throughput: {multi / single:.2f} (target ≥ 1.8 with 2 workers)")
    finally:
        feeds.server.shutdown()
        for url in urls:
            drop_database(args.admin_url, url)


if __name__ == "__main__":
    main()
