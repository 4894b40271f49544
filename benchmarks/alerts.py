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
hands out due feeds every 30 s; this benchmark starts the clock when the feed is refreshed,
so it measures what storydiff adds after that.

    python benchmarks/alerts.py [--runs 20] [--redis redis://127.0.0.1:6379/10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Invented events on unrelated topics, so that each run is a story of its own: (title, lead,
# the sentence whose number the two outlets disagree on, a closing line). {p} is a place name
# made up for the run, {n} the outlet's number.
EVENTS = [
    ("Ferry strike in {p} cancels sailings", "Ferry deckhands in {p} walked out over overtime pay.",
     "Harbourmasters said {n} sailings were scrapped.", "The union expects talks on Thursday."),
    ("Wildfire near {p} forces evacuations", "Flames raced through pine forest north of {p}.",
     "Fire chiefs said {n} homes were evacuated.", "Aerial bombers were grounded by gusts."),
    ("Bridge in {p} shut after cracks found", "Engineers barred traffic from the river span at {p} following an inspection.",
     "Highway managers said {n} buses would be diverted.", "Repairs may last into spring."),
    ("Surgery postponed at {p} infirmary", "The infirmary in {p} postponed planned surgery.",
     "Administrators said {n} operations were delayed.", "Theatre staffing shortages were blamed."),
    ("Barley fields drowned near {p}", "Heavy rain burst the dykes along the valley below {p}.",
     "Growers said {n} hectares of barley were submerged.", "Pumps arrived from neighbouring farms."),
    ("Copper mine collapse traps miners at {p}", "A tunnel caved in at the copper pit outside {p}.",
     "Rescue teams said {n} miners remained trapped.", "Oxygen is being pumped through a borehole."),
    ("Blackout across {p} after substation blaze", "A substation blaze knocked out electricity in {p}.",
     "The grid operator said {n} households lost power.", "Generators were rushed to elderly residences."),
    ("Grain train derails near {p}", "A freight train hauling grain left the rails near {p}.",
     "The railway said {n} wagons overturned.", "No injuries were reported by the driver."),
    ("Teachers in {p} back walkout over class sizes", "Secondary teachers in {p} voted for industrial action.",
     "Their association said {n} classrooms would stay empty.", "Ministers called the ballot regrettable."),
    ("Gale breaches sea wall at {p}", "High tide and a gale breached the sea wall at {p}.",
     "The coastguard said {n} trawlers sank at their moorings.", "Fishermen are counting the cost."),
    ("Plastics plant ablaze in {p}", "A plastics factory on the edge of {p} went up in smoke.",
     "Brigades said {n} engines tackled the inferno.", "Residents were told to stay indoors."),
    ("Tap supply unsafe in {p}", "Drinking supplies in {p} were declared contaminated after routine tests.",
     "The utility said {n} streets were affected.", "Bottled supplies are handed out at the library."),
    ("Fog grounds flights at {p} airport", "Dense fog halted the runway at {p} for most of Friday.",
     "The airport said {n} departures were cancelled.", "Travellers slept on benches in the lounge."),
    ("Landslide cuts pass over {p}", "Rock and mud slid onto the alpine road above {p} after the thaw.",
     "Police said {n} motorists were stranded.", "Diggers are clearing debris from both ends."),
    ("Tram services cut in {p} over rota row", "Tram motormen in {p} refused extra duties in a rota dispute.",
     "The network said {n} lines were suspended.", "Mediation is expected."),
    ("Solvent leak at {p} depot", "A tanker spilled solvent at the logistics depot in {p}.",
     "Paramedics said {n} employees were treated for fumes.", "The site remains sealed."),
    ("Heatwave fills emergency wards in {p}", "Temperatures in {p} topped forty degrees for a fifth day.",
     "Doctors said {n} patients were admitted with heatstroke.", "Cooling centres were set up in the market."),
    ("Reservoir release floods villages below {p}", "Sluice gates of the reservoir above {p} were opened.",
     "Prefecture staff said {n} hamlets were inundated.", "Sandbags were distributed overnight."),
    ("Dockers blockade container terminal in {p}", "Dockers in {p} blockaded the container yard.",
     "Shipping agents said {n} vessels were waiting offshore.", "The harbour board asked for arbitration."),
    ("Avalanche buries ski run at {p}", "An avalanche swept across a marked piste above {p}.",
     "Mountain guides said {n} skiers were dug out.", "The resort stopped its upper lifts."),
    ("Ransomware cripples town hall in {p}", "Hackers locked the computers of the municipality in {p}.",
     "The mayor said {n} clerks could not work.", "Payments to suppliers are on hold."),
    ("Measles outbreak grows in {p}", "Epidemiologists in {p} confirmed a measles outbreak.",
     "The clinic said {n} children were infected.", "A vaccination drive begins on Monday."),
    ("Gas blast wrecks tenement in {p}", "A gas explosion tore into a tenement in {p}.",
     "Firefighters said {n} flats were destroyed.", "Investigators are looking for the cause."),
    ("Locust swarm strips orchards around {p}", "Locusts descended on the orchards surrounding {p}.",
     "Agronomists said {n} tonnes of apricots were ruined.", "Spraying aircraft were requested."),
    ("Sinkhole swallows cars in {p}", "A sinkhole appeared beneath a plaza in central {p}.",
     "Surveyors said {n} vehicles fell into the hole.", "Nearby shops emptied as a precaution."),
]  # fmt: skip
SYLLABLES = ["var", "nol", "ost", "rel", "kas", "dun", "mer", "tiv", "bral", "quen", "sor", "lith", "gav", "pel",
             "drum", "oss", "han", "wick", "tor", "bel", "fen", "grav", "lum", "zar"]  # fmt: skip


def place(run: int, tag: str) -> str:
    """A made-up town name, different for every run and tag."""
    rnd = random.Random(f"{tag}{run}")
    return "".join(rnd.choice(SYLLABLES) for _ in range(3)).capitalize()


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

    def publish(self, run: int, tag: str) -> str:
        """Add one event to both feeds; returns the event's place name, which its story title carries."""
        name = place(run, tag)
        title, lead, numbered, closing = EVENTS[(len(EVENTS) - 1 - run if tag == "E" else run) % len(EVENTS)]
        now = format_datetime(datetime.now(UTC))
        for feed, count, outlet in (("a", 12 + run, "Harbour Courier"), ("b", 31 + run, "Coastal Wire")):
            text = " ".join(part.format(p=name, n=count) for part in (lead, numbered, closing))
            self.items[feed].append(
                f"<item><title>{title.format(p=name)}</title>"
                f"<link>{self.base}/{feed}/{tag}{run}</link><guid>{outlet}-{tag}{run}</guid>"
                f"<pubDate>{now}</pubDate><description>{text}</description></item>"
            )
        return name


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


def explain(factory: Any, name: str) -> str:
    """Where a run whose alert never came stopped: its articles' story and that story's report."""
    from sqlalchemy import select

    from storydiff.store.models import Report, StoryArticle, Version

    with factory() as s:
        rows = s.execute(
            select(StoryArticle.story_id, Version.title)
            .outerjoin(StoryArticle, StoryArticle.article_id == Version.article_id)
            .where(Version.title.contains(name))
        ).all()
        parts = []
        for story_id, title in rows:
            report = s.scalar(select(Report).where(Report.story_id == story_id)) if story_id else None
            parts.append(f"{title!r} story {story_id} report divergences "
                         f"{report.divergences if report else None}")  # fmt: skip
    return "; ".join(parts) or "no article stored"


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
    for run in range(max(3, args.runs // 5)):
        name = feeds.publish(run, "E")
        started = time.perf_counter()
        run_once(factory, feed_ids=ids)
        at = receiver.wait(name, 30)
        if at is not None:
            embedded.append(at - started)

    redis.Redis.from_url(args.redis).flushdb()
    env = {**os.environ, "REDIS_URL": args.redis, "STORYDIFF_LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "storydiff.worker", "worker", "-Q", "fetch,extract,compare,alerts,celery",
         "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    from storydiff.worker import app

    app.conf.broker_url = args.redis
    latencies: list[float] = []
    missed: list[str] = []
    try:
        time.sleep(5)  # the worker connects
        for run in range(args.runs):
            name = feeds.publish(run, "C")
            started = time.perf_counter()
            for feed_id in ids:  # what beat's schedule_due_feeds enqueues for due feeds
                app.send_task("storydiff.refresh_feed", args=[feed_id], queue="fetch")
            at = receiver.wait(name, 60)
            if at is None:
                missed.append(name)
            else:
                latencies.append(at - started)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    print(f"runs: {args.runs} through the Celery worker ({len(latencies)} alerts received, {len(missed)} missed); "
          f"database {'PostgreSQL' if args.database_url else 'SQLite'}")  # fmt: skip
    for name in missed:
        print(f"missed: {name}: {explain(factory, name)}")
    if latencies:
        print(f"Celery: feed refreshed → webhook received: p50 {statistics.median(latencies):.2f} s, "
              f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s (target p95 ≤ 5 s)")  # fmt: skip
    if embedded:
        print(f"embedded pipeline (baseline, same steps in-process, {len(embedded)} runs): "
              f"p50 {statistics.median(embedded):.2f} s, p95 {percentile(embedded, 0.95):.2f} s")  # fmt: skip
    if latencies and embedded:
        print(f"ratio Celery / embedded p50: {statistics.median(latencies) / statistics.median(embedded):.2f}")
    print("plus, in a deployment: the wait for the feed's next check (≥ STORYDIFF_MIN_INTERVAL = 300 s by default) "
          "and up to one beat tick (30 s)")  # fmt: skip


if __name__ == "__main__":
    main()
