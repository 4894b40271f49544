"""Ingestion throughput: ≥ 5,000 items in ≥ 100 feeds served from 127.0.0.1, full pipeline
(fetch → parse → store, MinHash wire-copy linking; no full-text extraction) into SQLite,
against feedparser parsing the same bytes alone, measured in the same run.

By default the feeds are resampled from the real RSS files in ../shared/data/rss-feeds-real
(each item gets a unique guid and link, so every item is new; repeated texts are realistic
syndication load for the wire-copy detector). ``--source synthetic`` generates feeds instead.

    python benchmarks/ingest.py [--feeds 120 --items 50 --source real|synthetic]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

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


ITEM = re.compile(rb"<item\b.*?</item>", re.S)
ROOT_TAG = re.compile(rb"<rss\b[^>]*>", re.S)


def real_feeds(folder: Path, feeds: int, items: int, rng: random.Random) -> list[bytes]:
    """Feeds resampled from real RSS 2.0 files; guids and links made unique per copy."""
    sources = []
    for path in sorted(folder.rglob("*.xml")) + sorted(folder.rglob("*.rss")):
        raw = path.read_bytes()
        found, root = ITEM.findall(raw), ROOT_TAG.search(raw)
        if found and root:
            sources.append((root.group(0), found))
    out = []
    for f in range(feeds):
        root, pool = sources[f % len(sources)]
        parts = []
        for n in range(items):
            tag = f"sd{f}x{n}".encode()
            item = rng.choice(pool)
            if b"<guid" in item:
                item = re.sub(rb"(<guid\b[^>]*>)(.*?)(</guid>)", rb"\1" + tag + rb"-\2\3", item, flags=re.S)
            else:
                item = item.replace(b"</item>", b'<guid isPermaLink="false">' + tag + b"</guid></item>")
            item = re.sub(rb"(<link>)\s*(https?://[^<#?]*)", rb"\1\2/" + tag, item)
            parts.append(item)
        out.append(
            root + b"<channel><title>Resampled " + str(f).encode() + b"</title>" + b"".join(parts) + b"</channel></rss>"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=120)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--source", choices=["real", "synthetic"], default="real")
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

    from storydiff import settings
    from storydiff.ingest.feeds import FeedSpec, add_feed
    from storydiff.ingest.refresh import refresh_due_feeds
    from storydiff.store import open_database

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: tests/ is not on the path
    from tests.feedserver import FeedServer

    rng = random.Random(42)
    real = settings.shared_data_dir() / "rss-feeds-real"
    if args.source == "real" and not real.is_dir():
        print(f"{real} not found: using synthetic feeds")
        args.source = "synthetic"
    if args.source == "real":
        bodies = real_feeds(real, args.feeds, args.items, rng)
    else:
        bodies = [make_feed(f, args.items, rng) for f in range(args.feeds)]
    total = args.feeds * args.items
    from storydiff.ingest.language import detect_language

    detect_language("warm up the language model before timing anything")
    feedparser.parse(bodies[0])

    started = time.perf_counter()
    parsed = sum(
        len(feedparser.parse(b, response_headers={"content-type": "application/rss+xml"}).entries) for b in bodies
    )
    baseline = time.perf_counter() - started
    assert parsed == total, (parsed, total)

    from storydiff.ingest import parsepool

    parsepool.warm_up()  # a running service keeps its parse processes; start them before timing
    server = FeedServer()
    _, factory = open_database()
    with factory.begin() as s:
        for f, body in enumerate(bodies):
            add_feed(s, FeedSpec(server.add(f"/f{f}.xml", body), f"Outlet {f}", "newspaper"))
    started = time.perf_counter()
    results = refresh_due_feeds(factory)
    pipeline = time.perf_counter() - started
    server.close()
    stored = sum(r.new + r.unchanged + r.updated for r in results)
    assert all(r.status in ("ok", "warning") for r in results), {r.status: r.error for r in results}
    assert stored == total, (stored, total, [(r.url, r.error) for r in results if r.status == "warning"][:3])

    from storydiff.store.queries import stats

    with factory() as s:
        counts = stats(s)
    assert counts["articles"] > 0 and (args.source == "synthetic" or counts["wire_copies"] > 0), counts
    print(f"items: {total} in {args.feeds} feeds, {args.source} (SQLite, no full-text extraction)")
    print(f"stored: {counts['articles']} articles, {counts['wire_copies']} linked as wire copies")
    print(f"feedparser alone : {total / baseline:8.0f} items/s ({baseline:.2f} s)")
    print(f"storydiff ingest : {total / pipeline:8.0f} items/s ({pipeline:.2f} s)  fetch+parse+store+dedup")
    print(
        f"ratio pipeline / feedparser-alone: {baseline / pipeline:.2f} (target >= 0.80); "
        f"parse processes: {parsepool.process_count()} (STORYDIFF_PARSE_PROCESSES), feedparser alone: 1 process"
    )
    parsepool.shutdown()


if __name__ == "__main__":
    main()
