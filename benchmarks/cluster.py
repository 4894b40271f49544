"""Clustering at scale: stream 100,000 articles in time order through the online clusterer.

Articles are the real UCI headlines (../shared/data), resampled: each pass over the 6,366
headlines keeps their own timestamps (36 hours of news) and is shifted 4 days later than the
previous pass, so earlier stories close as they would in a live deployment. Prints articles/s,
the mean per-article assignment time around 10k and 100k stored articles, and peak memory.
Targets: ≥ 1,000 articles/s on one core; the 100k per-article time ≤ 1.5 × the 10k one.

    python benchmarks/cluster.py [--articles 100000]
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace
from datetime import timedelta

WINDOW = 1000  # articles averaged around each checkpoint


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=100_000)
    args = parser.parse_args()

    from storydiff import settings
    from storydiff.compare.cluster import OnlineClusterer
    from storydiff.evals.cluster import load_uci

    source = sorted(load_uci(settings.shared_data_dir() / "uci-news-aggregator"), key=lambda x: x.doc.published)
    clusterer = OnlineClusterer()
    checkpoints = {10_000: 0.0, args.articles: 0.0}
    window_time = 0.0
    started = time.perf_counter()
    for n in range(args.articles):
        lap, item = divmod(n, len(source))
        doc = replace(source[item].doc, id=n, published=source[item].doc.published + timedelta(days=4 * lap))
        t0 = time.perf_counter()
        clusterer.add(doc)
        if clusterer.since_merge >= clusterer.config.merge_every:
            clusterer.consolidate()
            clusterer.close_quiet(doc.published)
        elapsed = time.perf_counter() - t0
        for mark in checkpoints:
            if mark - WINDOW < n + 1 <= mark:
                checkpoints[mark] += elapsed
        window_time += elapsed
    total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    at10k = checkpoints[10_000] / WINDOW * 1e6
    at_end = checkpoints[args.articles] / WINDOW * 1e6
    print(f"articles: {args.articles} (resampled UCI headlines, {args.articles // len(source) + 1} passes)")
    print(f"throughput: {args.articles / total:,.0f} articles/s on one core (target >= 1,000)")
    print(
        f"per-article time (incl. merge/close passes): {at10k:,.0f} us at 10k, {at_end:,.0f} us at {args.articles // 1000}k"
        f" -> ratio {at_end / at10k:.2f} (target <= 1.5)"
    )
    print(f"open stories at the end: {len(clusterer.open)}, stories ever: {len(clusterer.stories)}")
    print(f"peak memory (max RSS): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
