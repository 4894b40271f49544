"""Web speed: the story page and the report API under concurrent load.

Builds a fresh SQLite database with 2,000 stories (2–4 outlets each, invented text) plus one
20-outlet story (15 sentences per article, the port-strike generator of benchmarks/compare.py),
computes every report through the real pipeline function (``compare_story``), starts the real
app with uvicorn in its own process on 127.0.0.1, and drives it from this process (a second
process) with concurrent HTTP clients (httpx: they accept gzip, as browsers do). Prints p50/p95
latency and requests/s for the 20-outlet story page, its report API (full body, and 304 with
If-None-Match), the stories list sorted by score and the default stories list.
Targets (issue 15): story page p95 ≤ 20 ms, stories list p95 ≤ 30 ms.

    python benchmarks/web.py [--seconds 8] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "port",
    "strike",
    "harbour",
    "union",
    "ships",
    "cargo",
    "talks",
    "wages",
    "police",
    "crowd",
    "minister",
    "council",
    "river",
    "bridge",
    "storm",
    "vote",
]


def _compare_benchmark():  # the story generator of benchmarks/compare.py
    spec = importlib.util.spec_from_file_location("compare_bench", ROOT / "benchmarks" / "compare.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def build_database(url: str) -> int:
    """2,000 small stories and one 20-outlet story; returns the big story's id."""
    os.environ["DATABASE_URL"] = url
    from storydiff.compare.store_reports import compare_story
    from storydiff.store import open_database
    from storydiff.store.models import Article, Outlet, Story, StoryArticle, Version

    _, factory = open_database()
    rng = random.Random(3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with factory() as s:
        outlets = [
            Outlet(name=f"Outlet {i:02d}", kind=("wire", "newspaper", "broadcaster")[i % 3], country="XX")
            for i in range(40)
        ]
        s.add_all(outlets)
        s.flush()
        big = _compare_benchmark().build_story(outlets=20, sentences=15, seed=11)
        stories: list[tuple[Story, list[tuple[Outlet, str, str]]]] = []
        for n in range(2000):
            topic = " ".join(rng.sample(WORDS, 3))
            members = [
                (o, f"{topic.capitalize()} report {n}", f"The {topic} dispute {n} continued as {rng.randint(2, 90)} people gathered, officials said. Talks resume on day {rng.randint(1, 9)}.")
                for o in rng.sample(outlets, rng.randint(2, 4))
            ]  # fmt: skip
            stories.append((Story(title=f"{topic.capitalize()} story {n}", status="open"), members))
        stories.append(
            (
                Story(title="Port strike: twenty outlets", status="open"),
                [(outlets[i], a.title, a.text) for i, a in enumerate(big)],
            )
        )
        article_no = 0
        for n, (story, members) in enumerate(stories):
            when = start + timedelta(minutes=n)
            story.first_seen = story.last_seen = when
            s.add(story)
            s.flush()
            for outlet, title, text in members:
                article_no += 1
                article = Article(key=f"bench:{article_no}", url=f"https://example.org/{article_no}", outlet_id=outlet.id,
                                  first_seen=when, published=when, needs_fulltext=False)  # fmt: skip
                s.add(article)
                s.flush()
                s.add(Version(article_id=article.id, seq=1, title=title, summary="", text=text, text_source="feed",
                              content_hash=str(article_no), fetched_at=when))  # fmt: skip
                s.add(StoryArticle(story_id=story.id, article_id=article.id, score=1.0))
        s.commit()
        big_id = stories[-1][0].id
        ids = [story.id for story, _ in stories]
    with factory() as s:
        for story_id in ids:
            compare_story(s, story_id)
    return big_id


def start_server(url: str, port: int) -> subprocess.Popen:
    code = (
        "import uvicorn; from storydiff.store import open_database; from storydiff.web.app import create_app; "
        f"uvicorn.run(create_app(open_database()[1]), host='127.0.0.1', port={port}, log_level='warning', access_log=False)"
    )
    env = dict(os.environ, DATABASE_URL=url)
    server = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start")


def load(url: str, seconds: float, concurrency: int, headers: dict[str, str] | None = None) -> dict[str, float]:
    latencies: list[float] = []
    statuses: set[int] = set()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(timeout=10, headers=headers) as client:
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses.add(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        "rps": len(latencies) / wall,
        "statuses": sorted(statuses),  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="storydiff-webbench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    started = time.perf_counter()
    big = build_database(url)
    print(f"database: 2,001 stories with reports in {time.perf_counter() - started:.1f} s ({folder})")
    sys.path.insert(0, str(ROOT))  # run as a script: tests/ is not on the path
    from tests.webserver import free_port

    port = free_port()
    server = start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        etag = httpx.get(f"{base}/api/stories/{big}/report").headers["etag"]
        runs = [
            ("story page, 20 outlets", f"{base}/stories/{big}", None),
            ("report API, 20 outlets", f"{base}/api/stories/{big}/report", None),
            ("report API, If-None-Match (304)", f"{base}/api/stories/{big}/report", {"If-None-Match": etag}),
            ("stories list, sorted by score", f"{base}/?sort=score&min_outlets=1", None),
            ("stories list, default (/)", f"{base}/", None),
        ]
        for name, target, headers in runs:
            load(target, 1.0, args.concurrency, headers)  # warm-up
            r = load(target, args.seconds, args.concurrency, headers)
            print(f"{name:34s} p50 {r['p50_ms']:6.1f} ms  p95 {r['p95_ms']:6.1f} ms  {r['rps']:7.1f} req/s  "
                  f"({r['requests']} requests, {args.concurrency} concurrent, status {r['statuses']})")  # fmt: skip
        print("targets: story page p95 ≤ 20 ms, stories list p95 ≤ 30 ms")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
