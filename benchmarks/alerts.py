"""Alert latency: from a new article being served to the webhook receiving its alert, through a
real Celery worker on Redis (SQLite in a temporary directory, or --database-url).

Each run publishes two articles about a new invented event in two feeds on 127.0.0.1 — the
outlets disagree on a number — and enqueues the two feeds' refresh tasks, as beat does at its
tick for due feeds. The worker fetches, stores, clusters, compares, matches the subscription
(numeric divergences) and delivers; the receiver notes when the alert arrives. Prints p50/p95
over the runs. Baseline measured in the same run: the same articles through the embedded
pipeline (`pipeline.run_once` in this process, no broker), the floor of what the pipeline costs.

What bounds the latency in a deployment: a new article is only seen when its feed is next checked
(the adaptive schedule, never more often than STORYDIFF_MIN_INTERVAL, 300 s by default) and beat
hands out due feeds once a minute; this benchmark starts the clock when the feed is refreshed,
so it measures what storydiff adds after that.

    python benchmarks/alerts.py [--runs 20] [--redis redis://127.0.0.1:6379/10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLACES = ["Varnholm", "Ostrelva", "Kettering Mills", "Saldavik", "Brunnhaven", "Tessaly Cove", "Morrowby", "Quenford",
          "Lissamore", "Draventon", "Hollin Ferry", "Pellaton", "Rusk Harbour", "Wendmoor", "Caddington", "Ulverhay",
          "Sorrelby", "Garnett Point", "Ashcombe", "Tiverlake", "Norham Quay", "Belstrand"]  # fmt: skip


class Feeds:
    """Two RSS feeds whose items the benchmark adds while it runs."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {"a": [], "b": []}
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/").removesuffix(".xml")
                body = (
                    '<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>'
                    + "".join(feeds.items.get(name, []))
                    + "</channel></rss>"
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/rss+xml")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def publish(self, run: int, tag: str) -> None:
        place = f"{PLACES[run % len(PLACES)]} {tag}{run}"
        now = format_datetime(datetime.now(UTC))
        for feed, count, outlet in (("a", 12 + run, "Harbour Courier"), ("b", 31 + run, "Coastal Wire")):
            text = (
                f"Ferry crews in {place} walked out on Tuesday over night-shift pay. "
                f"Port officials said {count} ferries were cancelled as the strike spread along the coast. "
                f"The union said talks with the operator in {place} would resume on Thursday."
            )
            self.items[feed].append(
                f"<item><title>Ferry strike in {place} cancels {count} sailings</title>"
                f"<link>{self.base}/{feed}/{tag}{run}</link><guid>{outlet}-{tag}{run}</guid>"
                f"<pubDate>{now}</pubDate><description>{text}</description></item>"
            )


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                title = body["data"].get("story", {}).get("title", "")
                receiver.arrived.setdefault(title, time.perf_counter())
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, marker: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for title, at in self.arrived.items():
                if marker in title:
                    return at
            time.sleep(0.02)
        return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="storydiff-alerts-bench-")
    os.environ.update(
        STORYDIFF_DATA_DIR=tmp, STORYDIFF_ALLOW_PRIVATE_URLS="1", STORYDIFF_FULLTEXT="0", STORYDIFF_HOST_DELAY="0",
        STORYDIFF_DEFAULT_FEEDS="0", STORYDIFF_ALERTS_PER_HOUR="1000",
    )  # fmt: skip
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    import redis

    from storydiff.alerts import subscriptions as subs
    from storydiff.ingest.feeds import FeedSpec, add_feed
    from storydiff.pipeline import run_once
    from storydiff.store import open_database

    _, factory = open_database()
    feeds, receiver = Feeds(), Receiver()
    with factory.begin() as s:
        ids = [add_feed(s, FeedSpec(f"{feeds.base}/{f}.xml", o, "newspaper"))[0].id
               for f, o in (("a", "Harbour Courier"), ("b", "Coastal Wire"))]  # fmt: skip
    with factory() as s:
        subs.create(s, subs.SubscriptionSpec("bench", "webhook", receiver.url, types="numeric", min_severity="low"))

    # baseline: the embedded pipeline in this process
    embedded = []
    for run in range(max(3, args.runs // 4)):
        feeds.publish(run, "E")
        started = time.perf_counter()
        run_once(factory, feed_ids=ids)
        at = receiver.wait(f"E{run}", 30)
        if at is not None:
            embedded.append(at - started)

    redis.Redis.from_url(args.redis).flushdb()
    env = {**os.environ, "REDIS_URL": args.redis}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "storydiff.worker", "worker", "-Q", "fetch,extract,compare,alerts,celery",
         "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    from storydiff.worker import app

    app.conf.broker_url = args.redis
    latencies, missed = [], 0
    try:
        time.sleep(5)  # the worker connects
        for run in range(args.runs):
            feeds.publish(run, "C")
            started = time.perf_counter()
            for feed_id in ids:  # what beat's schedule_due_feeds enqueues for due feeds
                app.send_task("storydiff.refresh_feed", args=[feed_id], queue="fetch")
            at = receiver.wait(f"C{run}", 60)
            if at is None:
                missed += 1
            else:
                latencies.append(at - started)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    print(f"runs: {args.runs} through the Celery worker ({len(latencies)} alerts received, {missed} missed); "
          f"database {'PostgreSQL' if args.database_url else 'SQLite'}")  # fmt: skip
    if latencies:
        print(f"Celery: feed refreshed → webhook received: p50 {statistics.median(latencies):.2f} s, "
              f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s (target p95 ≤ 5 s)")  # fmt: skip
    if embedded:
        print(f"embedded pipeline (baseline, same steps in-process, {len(embedded)} runs): "
              f"p50 {statistics.median(embedded):.2f} s, p95 {percentile(embedded, 0.95):.2f} s")  # fmt: skip
    if latencies and embedded:
        print(f"ratio Celery / embedded p50: {statistics.median(latencies) / statistics.median(embedded):.2f}")
    print("plus, in a deployment: the wait for the feed's next check (≥ STORYDIFF_MIN_INTERVAL = 300 s by default) "
          "and up to one beat tick (60 s)")  # fmt: skip


if __name__ == "__main__":
    main()
