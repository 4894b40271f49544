"""The story report (pure): one versioned JSON document per story, the only thing the web UI,
the API, the CLI and alerts read. Built from the story's articles by ``build_report``:
claims → alignment → divergences → agreement.

Schema version ``SCHEMA_VERSION`` (bump it on any incompatible change)::

    {"schema": 1, "story_id", "title", "first_seen", "last_seen",
     "divergence_score": 0..1,              # 1 − mean agreement of outlet pairs sharing claims
     "counts": {"numeric": n, ...},         # divergences per type
     "outlets": [{"name", "kind", "country", "copy_of": name|null, "account": article id,
                  "articles": [{"id", "url", "title", "published"}]}],
     "timeline": [{"outlet", "article_id", "title", "published", "url"}],   # by publish time
     "claim_groups": [{"id", "outlets": [names], "cohesion",
                       "claims": [{"outlet", "article_id", "index", "text", "span": [start, end],
                                   "speaker", "quotes", "numbers": [{"value", "text", "unit", "span"}],
                                   "entities", "hedges", "negated"}]}],
     "divergences": [{"id", "type", "severity", "outlets": [names], "summary", "group": id|null,
                      "fingerprint", "diff": [[op, words_a, words_b]],
                      "claims": [{"outlet", "article_id", "index", "text", "span", "marks", "value"}]}],
     "agreement": {"outlets": [names], "matrix": [[0..1 | null]]}}

Spans are character offsets into the article's text. Each outlet's account is its newest article
in the story; an outlet whose account reproduces another's (a wire copy: same original, or at
least 80 % of its claims near-identical to the other's) is marked ``copy_of`` and never
compared with its original.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from storydiff.compare.align import Alignment, align_claims
from storydiff.compare.claims import Claim, extract_claims
from storydiff.compare.diverge import Account, Divergence, agreement_matrix, divergence_score, find_divergences
from storydiff.compare.schema import SCHEMA_VERSION, SHOWN_FIRST, folded, shown_first

__all__ = ["SCHEMA_VERSION", "SHOWN_FIRST", "StoryArticle", "build_report", "folded", "shown_first"]


COPY_SHARE, COPY_SCORE = 0.8, 0.9


@dataclass(frozen=True)
class StoryArticle:
    id: Hashable
    outlet: str
    title: str
    text: str
    published: datetime | None = None
    url: str | None = None
    kind: str | None = None
    country: str | None = None
    original_id: Hashable | None = None  # the article this one is a wire copy of, when known


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _claims_of(article: StoryArticle) -> tuple[Claim, ...]:
    title = article.title.strip()
    claims = extract_claims(article.text)
    return tuple(replace(c, boilerplate=True) if c.text.strip() == title else c for c in claims)


def _mark_copies(accounts: list[Account], chosen: Sequence[StoryArticle], alignment: Alignment) -> list[Account]:
    """Mark an account as a copy of an earlier one when the feed said so (original_id) or when at
    least COPY_SHARE of its claims have a near-identical (≥ COPY_SCORE) claim in the earlier one."""
    ids = {a.id: i for i, a in enumerate(chosen)}
    copy_of: dict[int, int] = {}
    for i, article in enumerate(chosen):
        if article.original_id is not None and ids.get(article.original_id, i) != i:
            copy_of[i] = ids[article.original_id]
    rows: dict[int, list[int]] = {}
    for position, ref in enumerate(alignment.refs):
        rows.setdefault(ref.account, []).append(position)
    order = sorted(rows, key=lambda k: (chosen[k].published or datetime.max, k))
    for n, later in enumerate(order):
        if later in copy_of:
            continue
        for earlier in order[:n]:
            best = alignment.scores[np.ix_(rows[later], rows[earlier])].max(axis=1)
            if np.mean(best >= COPY_SCORE) >= COPY_SHARE:
                copy_of[later] = earlier
                break
    return [replace(acc, copy_of=copy_of.get(i)) for i, acc in enumerate(accounts)]


def _claim_json(article: StoryArticle, claim: Claim) -> dict[str, Any]:
    return {
        "outlet": article.outlet,
        "article_id": article.id,
        "index": claim.index,
        "text": claim.text,
        "span": list(claim.span),
        "speaker": claim.speaker,
        "quotes": list(claim.quotes),
        "numbers": [{"value": q.value, "text": q.text, "unit": q.unit, "span": list(q.span)} for q in claim.numbers],
        "entities": list(claim.entities),
        "hedges": list(claim.hedges),
        "negated": claim.negated,
    }


def _divergence_json(
    n: int, d: Divergence, chosen: Sequence[StoryArticle], claims: dict[tuple[int, int], Claim]
) -> dict[str, Any]:
    return {
        "id": f"d{n + 1}",
        "type": d.type,
        "severity": d.severity,
        "outlets": list(dict.fromkeys(chosen[a].outlet for a in d.accounts)),
        "summary": d.summary,
        "group": f"g{d.group + 1}" if d.group is not None else None,
        "fingerprint": d.fingerprint,
        "diff": [list(op) for op in d.diff],
        "claims": [
            {
                "outlet": chosen[e.account].outlet,
                "article_id": chosen[e.account].id,
                "index": e.claim,
                "text": claims[(e.account, e.claim)].text,
                "span": list(e.span),
                "marks": [list(m) for m in e.marks],
                "value": e.value,
            }
            for e in d.evidence
        ],
    }


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while one report is built, back as it was after. Building a
    report allocates tens of thousands of short-lived objects (claims, token lists, score rows) that
    reference counting frees, and the collector's passes over them found nothing to collect but
    cost 5–12 % of the build (`benchmarks/compare.py`'s story, median of 15, three rounds: 98.8 /
    87.4 / 95.7 ms with it, 92.1 / 83.8 / 83.5 ms without). Garbage with cycles made meanwhile is
    collected at the next pass after it."""
    if not gc.isenabled():  # (paused already: by the caller, or another thread's build)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def build_report(
    articles: Sequence[StoryArticle],
    story_id: Hashable | None = None,
    title: str | None = None,
    semantic: bool | str = False,
) -> dict[str, Any]:
    """The report of one story from its articles (any order); ``semantic`` (``compare.embed``,
    optional extra): True, the embedding backend decides what is the same fact and what is told
    elsewhere in other words; "coverage", only the latter."""
    with _collector_paused():
        return _build_report(articles, story_id, title, semantic)


def _build_report(
    articles: Sequence[StoryArticle], story_id: Hashable | None, title: str | None, semantic: bool | str
) -> dict[str, Any]:
    by_outlet: dict[str, list[StoryArticle]] = {}
    for article in sorted(articles, key=lambda a: (a.published or datetime.min, str(a.id))):
        by_outlet.setdefault(article.outlet, []).append(article)
    chosen = [items[-1] for items in by_outlet.values()]  # each outlet's newest article is its account
    claims_of: dict[tuple[str, str], tuple[Claim, ...]] = {}  # wire copies: one text, read once
    for a in chosen:
        if (a.title, a.text) not in claims_of:
            claims_of[a.title, a.text] = _claims_of(a)
    accounts = [Account(a.outlet, claims_of[a.title, a.text], published=a.published) for a in chosen]
    alignment = align_claims([a.claims for a in accounts])
    accounts = _mark_copies(accounts, chosen, alignment)
    divergences = find_divergences(accounts, alignment, [a.title for a in chosen], semantic)
    matrix = agreement_matrix(accounts, alignment, divergences)
    claims = {(i, c.index): c for i, acc in enumerate(accounts) for c in acc.claims}
    dated = [a.published for a in articles if a.published]
    ordered = sorted(articles, key=lambda a: (a.published or datetime.max, str(a.id)))
    return {
        "schema": SCHEMA_VERSION,
        "story_id": story_id,
        "title": title or (ordered[0].title if ordered else ""),
        "first_seen": _iso(min(dated)) if dated else None,
        "last_seen": _iso(max(dated)) if dated else None,
        "divergence_score": divergence_score(matrix),
        "counts": dict(Counter(d.type for d in divergences)),
        "outlets": [
            {
                "name": article.outlet,
                "kind": article.kind,
                "country": article.country,
                "copy_of": chosen[acc.copy_of].outlet if acc.copy_of is not None else None,
                "account": article.id,
                "articles": [
                    {"id": a.id, "url": a.url, "title": a.title, "published": _iso(a.published)}
                    for a in by_outlet[article.outlet]
                ],
            }
            for article, acc in zip(chosen, accounts, strict=True)
        ],
        "timeline": [
            {"outlet": a.outlet, "article_id": a.id, "title": a.title, "published": _iso(a.published), "url": a.url}
            for a in ordered
        ],
        "claim_groups": [
            {
                "id": f"g{n + 1}",
                "outlets": [chosen[m.account].outlet for m in group.members],
                "cohesion": group.cohesion,
                "claims": [_claim_json(chosen[m.account], claims[m.as_tuple()]) for m in group.members],
            }
            for n, group in enumerate(alignment.groups)
        ],
        "divergences": [_divergence_json(n, d, chosen, claims) for n, d in enumerate(divergences)],
        "agreement": {"outlets": [a.outlet for a in chosen], "matrix": matrix},
    }
