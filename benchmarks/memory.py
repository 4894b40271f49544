"""Memory of a long-running comparing process: many real stories' reports computed one after the
other in one process, as a Celery worker or the embedded service does for weeks.

The stories are real multi-article news nobody here wrote: FNC-1's bodies grouped by topic (the
bodies of the headlines they are related to, connected: one event, several outlets' texts; a topic
with many bodies gives several stories of up to ``--outlets`` bodies), then BASIL's events and the
AllSides roundups, then the whole stream a second time (a worker recomputes stories as new
articles arrive). After every ``--every`` reports it prints the resident memory (after a
``malloc_trim``, as the worker does after heavy tasks: what the process holds, not what the
allocator kept) and the entries held by storydiff's caches; at the end, the growth from the first
checkpoint to the last. The baseline is the same stream in the same process: memory after the
first checkpoint. Python's allocations are traced (tracemalloc) from the first report, so that at the
end clearing each cache tells what one entry costs, hence what the cache costs when full. With bounded caches the growth slows to nothing once they are full; a cache
keyed by texts that never stops growing shows up here as growth that does not.

    python benchmarks/memory.py [--data ../shared/data] [--every 250] [--outlets 6]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import functools
import gc
import time
import tracemalloc
from pathlib import Path
from typing import Any


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def trim() -> None:
    gc.collect()
    name = ctypes.util.find_library("c")
    if name:
        libc = ctypes.CDLL(name)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


def _caches() -> list[tuple[str, Any, int]]:
    """(name, cache, bound in entries) of every lru_cache of storydiff's modules and the stems table."""
    from storydiff.compare import align, features

    found: list[tuple[str, Any, int]] = [("align._CONTENT", align._CONTENT, features.WORD_CACHE)]
    for obj in gc.get_objects():
        if isinstance(obj, functools._lru_cache_wrapper) and obj.__module__.startswith("storydiff"):
            name = f"{obj.__module__.rsplit('.', 1)[-1]}.{obj.__qualname__}"
            found.append((name, obj, obj.cache_info().maxsize or 0))
    return found


def cache_entries() -> dict[str, int]:
    """Entries of every cache right now."""
    return {
        name: len(cache) if isinstance(cache, dict) else cache.cache_info().currsize for name, cache, _ in _caches()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder (default: settings)")
    parser.add_argument("--every", type=int, default=250, help="reports between two checkpoints")
    parser.add_argument("--outlets", type=int, default=6, help="bodies per FNC-1 story at most")
    args = parser.parse_args()

    from storydiff import settings
    from storydiff.compare.report import build_report
    from storydiff.evals.divergences import load_allsides, load_basil, load_fnc_topics

    data = args.data or settings.shared_data_dir()
    stories = [list(e.articles) for e in load_fnc_topics(data / "fnc-1", args.outlets)]
    stories += [list(e.articles) for e in load_basil(data / "basil-dev")]
    stories += [list(e.articles) for e in load_allsides(data / "allsides-roundups")]
    stream = stories + stories  # the second pass: the same stories recomputed
    claims = 0
    print(f"{len(stories)} real stories (FNC-1 topics, BASIL, AllSides), streamed twice: {len(stream)} reports")
    trim()
    print(f"before the first report: {rss_mb():.1f} MB (Python's allocations traced: the run is slower than without)")
    tracemalloc.start()
    marks: list[tuple[int, float]] = []
    started = time.perf_counter()
    for n, story in enumerate(stream, 1):
        report = build_report(story)
        claims += sum(len(g["claims"]) for g in report["claim_groups"])
        if n % args.every == 0 or n == len(stream):
            trim()
            marks.append((n, rss_mb()))
            entries = cache_entries()
            big = ", ".join(f"{k} {v}" for k, v in sorted(entries.items(), key=lambda kv: -kv[1])[:6])
            print(f"  {n:5d} reports ({claims:6d} claims, {time.perf_counter() - started:6.1f} s): "
                  f"RSS {marks[-1][1]:6.1f} MB; cache entries: {big}")  # fmt: skip
    # what each cache costs when full: bytes per entry (memory freed by clearing it, traced since
    # the start) × its bound; a long-running worker reaches these once it has seen enough texts
    full_total = 0.0
    print("per cache: entries now, bytes per entry, bound (entries), memory when full")
    for name, cache, bound in _caches():
        entries = len(cache) if isinstance(cache, dict) else cache.cache_info().currsize
        if entries < 100:
            continue
        before = tracemalloc.get_traced_memory()[0]
        cache.clear() if isinstance(cache, dict) else cache.cache_clear()
        gc.collect()
        per_entry = (before - tracemalloc.get_traced_memory()[0]) / entries
        full_total += per_entry * bound / 2**20
        print(f"  {name:34s} {entries:6d}  {per_entry:6.0f} B  {bound:7d}  {per_entry * bound / 2**20:6.1f} MB")
    print(f"  all of them full: {full_total:.0f} MB")
    first, last = marks[0], marks[-1]
    half = next((m for m in marks if m[0] >= len(stories)), last)
    print(
        f"growth from the first checkpoint ({first[0]} reports, {first[1]:.1f} MB) to the last ({last[0]}): "
        f"{last[1] - first[1]:+.1f} MB ({last[1] / first[1]:.2f}×); over the second pass alone "
        f"({half[0]} → {last[0]}): {last[1] - half[1]:+.1f} MB"
    )


if __name__ == "__main__":
    main()
