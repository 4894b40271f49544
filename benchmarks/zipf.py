"""Word frequencies: the mapped table (compare/zipf.py) against wordfreq's own lookup, same run.

Each side runs in a fresh process (as a worker or a CLI run would): it looks up every distinct
word of real news text (BASIL articles, lower-cased, as the clusterer splits them) and prints the growth of its resident memory
and the time of the first lookup and of all of them; the answers of both sides must be equal.

    python benchmarks/zipf.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SIDE = """
import json, re, sys, time
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 1e6
words = json.load(open(sys.argv[2]))
before = rss()
started = time.perf_counter()
if sys.argv[1] == "table":
    from storydiff.compare.zipf import zipf
    look = zipf
else:
    from wordfreq import zipf_frequency
    look = lambda w: zipf_frequency(w, "en")
look(words[0])
first = time.perf_counter() - started
values = [look(w) for w in words]
total = time.perf_counter() - started
print(json.dumps({"rss_mb": rss() - before, "first_s": first, "all_s": total, "values": values}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    args = parser.parse_args()
    import re

    words: set[str] = set()
    for path in sorted((Path(args.data) / "basil-dev" / "articles").glob("*/*.json")):
        paragraphs = json.loads(path.read_text(encoding="utf-8"))["body-paragraphs"]
        text = " ".join(" ".join(p) if isinstance(p, list) else str(p) for p in paragraphs)
        words |= {w.lower() for w in re.findall(r"[^\W_]+(?:['’][^\W_]+)?", text)}  # the clusterer's words
    listing = Path("/tmp") / "storydiff-zipf-words.json"
    listing.write_text(json.dumps(sorted(words)))
    from storydiff.compare.zipf import zipf

    zipf("warm")  # the table is written once per machine (not timed: every later process maps it)
    results = {}
    for side in ("table", "wordfreq"):
        out = subprocess.run(
            [sys.executable, "-c", SIDE, side, str(listing)], capture_output=True, text=True, check=True
        )
        results[side] = json.loads(out.stdout)
    table, wordfreq = results["table"], results["wordfreq"]
    assert table["values"] == wordfreq["values"], "the table's answers differ from wordfreq's"
    print(f"{len(words):,} distinct words of real news (BASIL), the same Zipf value from both sides")
    for name, r in results.items():
        print(
            f"{name:9s} memory +{r['rss_mb']:.1f} MB, first lookup {r['first_s'] * 1000:.0f} ms, "
            f"all {r['all_s'] * 1000:.0f} ms"
        )
    print(
        f"ratio wordfreq / table: memory {wordfreq['rss_mb'] / max(table['rss_mb'], 0.1):.1f}×, "
        f"first lookup {wordfreq['first_s'] / table['first_s']:.1f}×, all {wordfreq['all_s'] / table['all_s']:.1f}×"
    )


if __name__ == "__main__":
    main()
