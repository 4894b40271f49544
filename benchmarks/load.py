"""Load: many feeds through the distributed mode (Celery workers on Redis, PostgreSQL) against the
embedded mode in one process on the same feeds, measured in the same run.

1,000 feeds are served from 127.0.0.1, their items resampled from the real RSS files in
../shared/data/rss-feeds-real (unique guids and links): 3 % answer slowly (5 s before the first
byte), 3 % fail (HTTP 500), 1 % are large (20× the items). No full-text extraction (the links point
nowhere reachable); everything else runs: fetch, parse, store, wire-copy linking, clustering,
reports, alert matching. Every feed is on one host here, unlike a real feed list, so the per-host
limit is raised to the number of fetch threads (STORYDIFF_PER_HOST_CONCURRENCY=8 unless set): the
politeness limit of 2 would otherwise decide both figures (30 slow feeds × 5 s through 2 slots).

- **single-process figure** (the baseline of the ratio): a fresh PostgreSQL database,
  `pipeline.run_once` until nothing is pending, in a process of its own (not this one, which serves
  the feeds) with STORYDIFF_PARSE_PROCESSES=0 — one process, no parse pool. ``--embedded-pool`` also
  times the embedded default (STORYDIFF_PARSE_PROCESSES=auto: extra parse processes on every core).
- **distributed**: another fresh database, N Celery worker processes (``--pool threads --concurrency
  6`` by default, as docker-compose.yml runs them: six tasks at a time per process, so refreshes
  waiting for slow servers do not hold the process — with 2 a round's refreshes took twice as long;
  ``--pool solo`` for one) and beat on Redis. At t0 every feed is due and
  claimed, as beat's `schedule_due_feeds` does at its tick; a round ends at the first sample (every
  2 s) where every feed has been refreshed in this round and every stored article is clustered with
  its story's report current. Then more rounds (``--rounds``, default 3): every feed gains two items
  and is due again, to see whether refreshes stay within their interval and memory stays flat.

Printed: feeds refreshed per minute, articles/s (stored and clustered with reports, over the
round), the queue depth and each worker's RSS (its process tree) every 10 s, the refresh latency
(from the feed being due to its refresh being stored: p50/p95/max, which must stay within the
feed's interval, STORYDIFF_MIN_INTERVAL), the CPU time of the embedded process and of the workers
per 1,000 articles (PostgreSQL's not counted), and the ratio of the distributed round-1 throughput
to the single-process figure (target ≥ 1.8 with 2 workers).

    python benchmarks/load.py [--feeds 1000 --items 10 --workers 2 --pool threads --concurrency 6 --rounds 3]
                              [--embedded-pool] [--redis redis://127.0.0.1:6379/11]
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


def state(factory: Any, since: datetime | None = None) -> dict[str, int]:
    from sqlalchemy import func, select

    from storydiff.compare.store_reports import stale_story_ids
    from storydiff.store.models import Article, Feed, StoryArticle

    with factory() as s:
        return {
            "refreshed": s.scalar(  # in this round: since every feed was made due
                select(func.count(Feed.id)).where(
                    Feed.last_fetch_at >= since if since else Feed.last_fetch_at.is_not(None)
                )
            )
            or 0,
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


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants so far, seconds (from /proc)."""
    total, todo, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (every core, every process), seconds (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process so far (server and backends; ended backends not counted)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


class CpuSplit:
    """Where the machine's CPU went during a phase: all of it, PostgreSQL, and this process (the
    feed server and the harness); the rest is the measured system's own processes (and Redis)."""

    def __init__(self) -> None:
        self.start = (machine_busy_seconds(), postgres_cpu_seconds(), time.process_time(), time.perf_counter())

    def line(self, measured: float) -> str:
        busy, pg, own, wall = (
            machine_busy_seconds() - self.start[0],
            postgres_cpu_seconds() - self.start[1],
            time.process_time() - self.start[2],
            time.perf_counter() - self.start[3],
        )
        cores = os.cpu_count() or 1
        return (f"machine busy {busy:.1f} of {cores * wall:.1f} core-s ({busy / (cores * wall):.0%}): measured "
                f"processes {measured:.1f} s, PostgreSQL {pg:.1f} s (backends still running), feed server and "
                f"harness {own:.1f} s")  # fmt: skip

    def busy(self) -> float:
        return machine_busy_seconds() - self.start[0]


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


def embedded_in_child(url: str, parse_processes: str) -> tuple[float, dict[str, int], float]:
    """The embedded mode in a process of its own (this one serves the feeds and must not share its
    interpreter with the measured pipeline), with STORYDIFF_PARSE_PROCESSES as given."""
    import json

    env = {**os.environ, "DATABASE_URL": url, "STORYDIFF_PARSE_PROCESSES": parse_processes}
    out = subprocess.run([sys.executable, __file__, "--embedded-child"], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    seconds, st, cpu = json.loads(out.strip().splitlines()[-1])
    return seconds, st, cpu


def _embedded_child() -> None:
    import json
    import resource

    from storydiff.store import open_database

    engine, factory = open_database()
    seconds, st = embedded(factory)
    engine.dispose()
    from storydiff.ingest import parsepool

    parsepool.shutdown()  # its processes' CPU time counts (RUSAGE_CHILDREN)
    cpu = sum(
        r.ru_utime + r.ru_stime for r in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )
    print(json.dumps([seconds, st, cpu]))


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


def watch(factory: Any, redis_url: str, workers: list[subprocess.Popen], started: float, since: datetime,
          expected_feeds: int, timeout: float, label: str) -> tuple[float, dict[str, int], list[float]]:  # fmt: skip
    """Sample until the round has settled; prints one line every ~10 s. Returns the round's wall
    time, the final state and each worker's last RSS."""
    import redis

    broker = redis.Redis.from_url(redis_url)
    last_print = 0.0
    settled_for, settled_at = 0, 0.0
    while True:
        time.sleep(2)
        now = time.perf_counter() - started
        st = state(factory, since)
        depth = sum(int(broker.llen(q)) for q in QUEUES)
        rss = [tree_rss_mb(w.pid) for w in workers]
        if now - last_print >= 10:
            last_print = now
            print(f"  {label} {now:6.0f} s  refreshed {st['refreshed']:5}/{expected_feeds}  articles {st['articles']:6}"
                  f"  clustered {st['clustered']:6}  stale reports {st['stale']:4}  queued {depth:5}"
                  f"  worker RSS {' / '.join(f'{r:.0f}' for r in rss)} MB", flush=True)  # fmt: skip
        done = st["refreshed"] >= expected_feeds and st["clustered"] == st["articles"] and not st["stale"]
        if done and depth == 0:
            settled_at = settled_at if settled_for else now  # the round ended at its first settled sample
            settled_for += 1
        else:
            settled_for = 0
        if settled_for >= 2:  # confirmed by the next sample
            return settled_at, st, rss
        if now > timeout:
            print(f"  {label}: not settled after {timeout:.0f} s")
            return now, st, rss
        for w in workers:
            if w.poll() is not None:
                raise SystemExit(f"a worker exited with {w.returncode}")


def worker_command(args: argparse.Namespace, n: int) -> list[str]:
    """One Celery worker process consuming every queue, fetch first (the -Q order is the priority);
    the last ``--compare-first`` workers take clustering and report work first."""
    pool = ["--pool", args.pool] + (["--concurrency", str(args.concurrency)] if args.pool != "solo" else [])
    queues = QUEUES
    if n >= args.workers - args.compare_first:
        queues = ("compare", *(q for q in QUEUES if q != "compare"))
    return [sys.executable, "-m", "celery", "-A", "storydiff.worker", "worker", "-Q", ",".join(queues), *pool,
            "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"load{n}@%h"]  # fmt: skip


def new_items(feeds: Feeds, data: str, number: int) -> None:
    """Every feed gains two items (round ``number``)."""
    for f, body in enumerate(feeds.bodies):
        extra = real_feeds(Path(data) / "rss-feeds-real", 1, 2, random.Random(f"r{number}-{f}"))[0]
        new = extra.split(b"</title>", 1)[1].rsplit(b"</channel>", 1)[0].replace(b"sd0x", f"r{number}f{f}x".encode())
        feeds.bodies[f] = body.replace(b"</channel>", new + b"</channel>", 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--pool", default="threads", choices=["solo", "threads"], help="each worker's pool")
    parser.add_argument("--concurrency", type=int, default=6, help="threads per worker process (--pool threads)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the distributed run (memory over time)")
    parser.add_argument(
        "--compare-first", type=int, default=0, help="workers (the last ones) that take clustering and reports first"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--embedded-pool", action="store_true",
                        help="also time the embedded mode with its default parse pool (extra processes)")  # fmt: skip
    parser.add_argument("--embedded-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.embedded_child:
        return _embedded_child()
    tmp = tempfile.mkdtemp(prefix="storydiff-load-")
    os.environ.update(
        STORYDIFF_DATA_DIR=tmp, STORYDIFF_ALLOW_PRIVATE_URLS="1", STORYDIFF_FULLTEXT="0", STORYDIFF_HOST_DELAY="0",
        STORYDIFF_DEFAULT_FEEDS="0", STORYDIFF_LOG_LEVEL="WARNING",
        # every feed is on one host here (127.0.0.1), unlike a real feed list: as many requests to it as
        # fetch threads, so the per-host politeness limit (2) does not decide the figures (as in ingest.py)
        STORYDIFF_PER_HOST_CONCURRENCY=os.environ.get("STORYDIFF_PER_HOST_CONCURRENCY", "8"),
    )  # fmt: skip
    rng = random.Random(13)
    bodies, slow, failing, large = build(args, rng)
    feeds = Feeds(bodies, slow, failing)
    items = sum(b.count(b"<item") for b in bodies)
    print(f"{args.feeds} feeds ({len(slow)} slow, {len(failing)} failing, {len(large)} large), {items} items; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    urls: list[str] = []
    try:
        single, single_cpu = None, 0.0
        single_seconds, busy_single = 0.0, 0.0
        runs = [("0", "embedded, one process (STORYDIFF_PARSE_PROCESSES=0)")]
        if args.embedded_pool:
            runs.append(("auto", "embedded with its default parse pool (STORYDIFF_PARSE_PROCESSES=auto)"))
        for processes, label in [] if args.skip_embedded else runs:
            url, engine, _ = prepared(args, feeds)
            engine.dispose()
            urls.append(url)
            split = CpuSplit()
            seconds, st, cpu = embedded_in_child(url, processes)
            rate = st["clustered"] / seconds
            if single is None:
                single, single_cpu = rate, cpu / st["clustered"] * 1000
                single_seconds, busy_single = seconds, split.busy()
            print(f"{label}: {seconds:.1f} s, {st['articles']} articles stored, {st['clustered']} clustered "
                  f"→ {rate:.0f} articles/s, {args.feeds / seconds * 60:.0f} feeds/min; CPU {cpu:.1f} s "
                  f"({cpu / st['clustered'] * 1000:.1f} s per 1,000 articles, PostgreSQL not counted); load average "
                  f"{os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
            print(f"  {split.line(cpu)}", flush=True)

        url, engine, factory = prepared(args, feeds)
        urls.append(url)
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        env = {**os.environ, "REDIS_URL": args.redis, "DATABASE_URL": url}
        print(f"distributed: {args.workers} worker processes, {' '.join(worker_command(args, 0)[3:-2])}")
        if args.compare_first:
            print(f"  the last {args.compare_first}: {' '.join(worker_command(args, args.workers - 1)[3:-2])}")
        workers = [
            subprocess.Popen(
                worker_command(args, n), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for n in range(args.workers)
        ]
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "storydiff.worker", "beat", "--schedule", str(Path(tmp) / "beat-schedule")],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(6)  # the workers connect
            rss_idle = [tree_rss_mb(w.pid) for w in workers]
            rounds = []
            splits: list[tuple[str, float]] = []
            before = 0
            for number in range(1, args.rounds + 1):
                if number > 1:  # every feed gains items and is due again
                    new_items(feeds, args.data, number)
                since = due_now(factory)
                cpu_before = sum(tree_cpu_seconds(w.pid) for w in workers)
                split = CpuSplit()
                started = time.perf_counter()
                beat_tick(args.redis)
                seconds, st, rss = watch(
                    factory, args.redis, workers, started, since, args.feeds, args.timeout, f"round {number}"
                )
                cpu = sum(tree_cpu_seconds(w.pid) for w in workers) - cpu_before
                splits.append((split.line(cpu), split.busy()))
                rounds.append((seconds, st, rss, refreshed_since(factory, since), st["articles"] - before, cpu))
                before = st["articles"]
        finally:
            for p in [*workers, beat]:
                p.terminate()
            for p in [*workers, beat]:
                p.wait(timeout=60)
            engine.dispose()
        interval = os.environ.get("STORYDIFF_MIN_INTERVAL", "300")
        for number, (seconds, _st, rss, latency, new, cpu) in enumerate(rounds, 1):
            what = "" if number == 1 else " (+2 items per feed)"
            print(f"distributed round {number}{what}: {seconds:.1f} s, {new} new articles, {new / seconds:.0f} "
                  f"articles/s, {len(latency) / seconds * 60:.0f} feeds refreshed/min; refresh latency from due: "
                  f"p50 {statistics.median(latency):.1f} s, p95 {percentile(latency, 0.95):.1f} s, max "
                  f"{max(latency):.1f} s ({len(latency)} feeds; interval {interval} s); workers' CPU {cpu:.1f} s "
                  f"({cpu / max(1, new) * 1000:.1f} s per 1,000 articles); worker RSS after "
                  f"{' / '.join(f'{r:.0f}' for r in rss)} MB")  # fmt: skip
            print(f"  {splits[number - 1][0]}")
        print(f"worker RSS MB idle {' / '.join(f'{r:.0f}' for r in rss_idle)}; after each round: "
              + "; ".join(" / ".join(f"{r:.0f}" for r in rss) for _, _, rss, _, _, _ in rounds))  # fmt: skip
        if single:
            multi = rounds[0][1]["clustered"] / rounds[0][0]
            print(f"ratio distributed round 1 / embedded one process: {multi / single:.2f} "
                  f"(target ≥ 1.8 with 2 workers); CPU per article distributed / embedded: "
                  f"{rounds[0][5] / rounds[0][1]['clustered'] * 1000 / single_cpu:.2f}; load average "
                  f"{os.getloadavg()[0]:.2f}")  # fmt: skip
            # the round's CPU (every process: workers, PostgreSQL, Redis, the feed server) on every
            # core at 100 % would still take busy / cores seconds: the highest ratio this machine allows
            floor = splits[0][1] / (os.cpu_count() or 1)
            print(f"round 1 with every core busy all the time would take ≥ {floor:.1f} s: at most "
                  f"{rounds[0][1]['clustered'] / floor / single:.2f}× on this machine with this CPU per article; "
                  f"the embedded run kept the machine {busy_single / ((os.cpu_count() or 1) * single_seconds):.0%} busy")  # fmt: skip
    finally:
        feeds.server.shutdown()
        for url in urls:
            drop_database(args.admin_url, url)


if __name__ == "__main__":
    main()
