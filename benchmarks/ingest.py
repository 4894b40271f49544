"""Ingestion throughput: ≥ 5,000 items in ≥ 100 feeds served from 127.0.0.1, full pipeline
(fetch → parse → store, MinHash wire-copy linking; no full-text extraction) into SQLite,
against feedparser parsing the same bytes alone, measured in the same run.

    python benchmarks/ingest.py [--feeds 120 --items 50]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_SYLLABLES = [
    "ba",
    "ce",
    "di",
    "fo",
    "gu",
    "ha",
    "je",
    "ki",
    "lo",
    "mu",
    "na",
    "pe",
    "ri",
    "so",
    "tu",
    "va",
    "we",
    "xi",
    "yo",
    "zu",
]
# a 4,000-word pseudo vocabulary: like real news, distinct stories share few word 3-grams
WORDS = sorted({"".join(random.Random(i).choices(_SYLLABLES, k=3)) for i in range(4000)})


def make_feed(feed_no: int, items: int, rng: random.Random) -> bytes:
    parts = []
    for n in range(items):
        words = " ".join(rng.choice(WORDS) for _ in range(60))
        parts.append(
            f"<item><title>Feed {feed_no} story {n}: {' '.join(rng.choice(WORDS) for _ in range(8))}</title>"
            f"<link>https://outlet{feed_no}.example/news/{n}?utm_source=rss</link><guid>o{feed_no}-{n}</guid>"
            f"<pubDate>Tue, 21 Oct 2025 {n % 24:02d}:{n % 60:02d}:00 +0000</pubDate>"
            f"<description><![CDATA[<p>{words}.</p><p>{words[:200]}.</p>]]></description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {feed_no}</title>'
        f"<link>https://outlet{feed_no}.example/</link>{''.join(parts)}</channel></rss>"
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=120)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="storydiff-bench-"))
    os.environ.update(
        STORYDIFF_DATA_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
        STORYDIFF_ALLOW_PRIVATE_URLS="1",
        STORYDIFF_FULLTEXT="0",
        STORYDIFF_PER_HOST_CONCURRENCY="8",
    )

    import feedparser

    from ingest import refresh_due_feeds
    from ingest.feeds import FeedSpec, add_feed
    from store import open_database
    from tests.feedserver import FeedServer

    rng = random.Random(42)
    bodies = [make_feed(f, args.items, rng) for f in range(args.feeds)]
    total = args.feeds * args.items

    started = time.perf_counter()
    parsed = sum(
        len(feedparser.parse(b, response_headers={"content-type": "application/rss+xml"}).entries) for b in bodies
    )
    baseline = time.perf_counter() - started
    assert parsed == total

    server = FeedServer()
    _, factory = open_database()
    with factory.begin() as s:
        for f, body in enumerate(bodies):
            add_feed(s, FeedSpec(server.add(f"/f{f}.xml", body), f"Outlet {f}", "newspaper"))
    started = time.perf_counter()
    results = refresh_due_feeds(factory)
    pipeline = time.perf_counter() - started
    server.close()
    stored = sum(r.new for r in results)
    assert stored == total and all(r.status == "ok" for r in results), {r.status for r in results}

    print(f"items: {total} in {args.feeds} feeds (SQLite, no full-text extraction)")
    print(f"feedparser alone : {total / baseline:8.0f} items/s ({baseline:.2f} s)")
    print(f"storydiff ingest : {total / pipeline:8.0f} items/s ({pipeline:.2f} s)  fetch+parse+store+dedup")
    print(f"ratio pipeline / feedparser-alone: {baseline / pipeline:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
