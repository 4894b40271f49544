"""Wire copies at scale: the cost of storing one more copy of a story many sites already run.

One invented wire text is stored N times, each time by a different site (one article per store
call, as a feed refresh does) that adds its own credit line, on a fresh SQLite database; every copy
is linked to one original. (The credit line makes each a near-copy: a copy word for word stores no
bucket rows of its own, so it would never fill a bucket.)
Printed: the process CPU time per stored copy at the start, the middle and the end, with the
comparison bounded to the earliest ``BUCKET_CANDIDATES`` stored members of each LSH bucket (the
code as it ships) and, as the baseline in the same run, unbounded (every stored member compared,
the code before the bound). Target: the cost per copy does not grow with the number of copies.

    python benchmarks/copies.py [--copies 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta

NOW = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)
TEXT = (
    "Dock workers at the river port stopped work on Thursday after pay talks broke down, leaving "
    "nine grain barges tied up at the locks, a spokeswoman for the dockers' union told reporters."
)


def run(copies: int, bound: int) -> list[float]:
    """CPU seconds of each store call; ``bound``: stored members per bucket compared."""
    from storydiff.ingest import neardup, writer
    from storydiff.ingest.feeds import FeedSpec, add_feed
    from storydiff.ingest.items import Item
    from storydiff.store import make_engine, migrate, session_factory

    writer.BUCKET_CANDIDATES = bound
    folder = tempfile.mkdtemp(prefix="copies-")
    engine = make_engine(f"sqlite:///{folder}/copies.db")
    migrate(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        feeds = [
            add_feed(session, FeedSpec(f"https://site{k}.example/rss", f"Site {k}", "newspaper"))[0]
            for k in range(copies)
        ]
    times = []
    for k in range(copies):
        text = f"{TEXT} Distributed to the readers of site number {k}."
        sig = neardup.to_bytes(neardup.signature(f"Port strike\n{text}"))  # as the parser computes it
        item = Item(
            entry_id=f"guid-{k}",
            url=f"https://site{k}.example/strike",
            title="Port strike",
            summary=text,
            content="",
            published=NOW - timedelta(hours=copies - k),
            published_flag=None,
            language="en",
            author=None,
            minhash=sig,
        )
        with factory.begin() as session:
            feed = session.merge(feeds[k])
            started = time.process_time()
            writer.store_items(session, feed, [item], NOW)
            times.append(time.process_time() - started)
    with factory() as session:  # every copy linked to the one original
        from sqlalchemy import func, select

        from storydiff.store.models import Article

        originals = session.scalar(select(func.count()).where(Article.original_id.is_(None)))
        assert originals == 1, f"{originals} articles are no copy"
    engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=300)
    args = parser.parse_args()
    from storydiff.ingest import writer

    shipped = writer.BUCKET_CANDIDATES
    n = args.copies
    window = max(1, n // 15)
    spots = [(0, window), (n // 2 - window, n // 2), (n - window, n)]
    results = {}
    for name, bound in (("unbounded (before)", n + 1), (f"bounded at {shipped}", shipped)):
        times = run(n, bound)
        results[name] = [sum(times[a:b]) / (b - a) for a, b in spots]
        cells = ", ".join(
            f"copies {a + 1}–{b}: {v * 1000:.2f} ms" for (a, b), v in zip(spots, results[name], strict=True)
        )
        print(f"{name:20s} CPU per stored copy — {cells}; last / first {results[name][-1] / results[name][0]:.2f}")
    before, after = results["unbounded (before)"], results[f"bounded at {shipped}"]
    print(f"at {n} copies: bounded / unbounded = {after[-1] / before[-1]:.2f}")


if __name__ == "__main__":
    main()
