"""Divergence quality on real multi-outlet events, measured against written-down judgments.

Data: BASIL (``../shared/data/basil-dev``): 60 real events, each told in full text by Fox News,
the New York Times and HuffPost. Each event is compared as one story (clustering is measured
elsewhere) and every reported divergence gets a stable key: its type plus, per side, the article
id and the normalised value. Judgments live in ``evals/judged/divergences.jsonl`` (one line per
key: true / trivial / false, the correct type, a note, who judged) and the hand-listed divergences
for recall in ``evals/judged/recall.jsonl`` (sentences by article id, paragraph and sentence
number). Neither file holds article text.

A second development set, AllSides roundups (``../shared/data/allsides-roundups``: real events told
by left, center and right outlets, leads only), is read by ``load_allsides``.

Split: an event is held out for the developers' own checking when the first hex digit of the
SHA-1 of its id is 0–3 (about a quarter); rules are tuned on the rest. The judged set covers both.
"""

from __future__ import annotations

import ast
import hashlib
import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storydiff.compare.evidence import norm
from storydiff.compare.report import StoryArticle, build_report, shown_first
from storydiff.compare.schema import FOLD_SHOWN, fold_label, folded

# a reader who opens one outlet's fold of omissions or exclusives reads its first items first
FOLD_FIRST = FOLD_SHOWN  # what the text report lists of each outlet's fold

OUTLETS = {"fox": "Fox News", "nyt": "New York Times", "hpo": "HuffPost"}
TYPED = ("numeric", "quote", "attribution", "contradiction", "entity", "framing")
JUDGED_DIR = Path(__file__).resolve().parent / "judged"
JUDGMENTS = JUDGED_DIR / "divergences.jsonl"
RECALL = JUDGED_DIR / "recall.jsonl"


@dataclass(frozen=True)
class Event:
    id: str
    articles: tuple[StoryArticle, ...]
    # article id → [(paragraph, sentence, start, end)] of the sentences in the joined text
    sentences: dict[str, list[tuple[int, int, int, int]]]

    @property
    def held_out(self) -> bool:
        return is_held_out(self.id)


def is_held_out(event_id: str) -> bool:
    """About a quarter of the events, by a hash of their id, kept for checking, not tuning."""
    return hashlib.sha1(event_id.encode()).hexdigest()[0] in "0123"


def load_basil(root: Path) -> list[Event]:
    """BASIL events: each article's paragraphs joined with blank lines, sentences with spaces."""
    files = sorted((root / "articles").glob("*/*.json"))
    if not files:
        raise FileNotFoundError(f"no BASIL articles under {root / 'articles'}")
    by_event: dict[str, list[dict]] = defaultdict(list)
    for path in files:
        record = json.loads(path.read_text(encoding="utf-8"))
        by_event[record["triplet-uuid"]].append(record)
    events = []
    for event_id, records in sorted(by_event.items()):
        articles, sentences = [], {}
        for r in sorted(records, key=lambda r: r["source"]):
            text, spans = "", []
            for p, paragraph in enumerate(r["body-paragraphs"]):
                if text:
                    text += "\n\n"
                for s, sentence in enumerate(paragraph):
                    if s:
                        text += " "
                    spans.append((p, s, len(text), len(text) + len(sentence)))
                    text += sentence
            sentences[r["uuid"]] = spans
            published = datetime.fromisoformat(r["date"]).replace(tzinfo=UTC)
            articles.append(
                StoryArticle(r["uuid"], OUTLETS.get(r["source"], r["source"]), r["title"], text, published, r["url"])
            )
        events.append(Event(event_id, tuple(articles), sentences))
    return events


def _body(raw: object) -> str:
    """AllSides' crawled body: plain text, a list of paragraphs, or a Python-list-like string of them."""
    if isinstance(raw, list):
        return "\n\n".join(str(p).strip() for p in raw if str(p).strip())
    text = str(raw).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parts = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return "\n\n".join(str(p).strip() for p in parts if str(p).strip())
    return text


def load_allsides(path: Path) -> list[Event]:
    """AllSides roundups: each event's left / center / right articles (leads only). Sentences are
    referred to as paragraph 0 and their number in storydiff's own split of the lead."""
    from storydiff.compare.claims import split_sentences

    file = path / "roundups-dev.jsonl" if path.is_dir() else path
    events = []
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        published = datetime.fromisoformat(record["date"]).astimezone(UTC)
        articles, sentences = [], {}
        for side, news in sorted((record.get("news") or {}).items()):
            text = _body(news.get("newBody") or "")
            if not text:
                continue
            article_id = f"allsides-{record['id']}-{side}"
            sentences[article_id] = [(0, n, a, b) for n, (_, a, b) in enumerate(split_sentences(text))]
            title = news.get("newsTitle") or record["issue"]
            articles.append(StoryArticle(article_id, news["newsSource"], title, text, published, news.get("newsLink")))
        if len({a.outlet for a in articles}) >= 2:
            events.append(Event(f"allsides-{record['id']}", tuple(articles), sentences))
    return events


FNC_BODIES = 6  # bodies per FNC-1 story; another cut ("fnc4-topic-…") pairs the bodies differently


def load_fnc_topics(root: Path, outlets: int = FNC_BODIES) -> list[Event]:
    """FNC-1 topics as stories: the training bodies connected through the headlines they are
    related to (any stance but "unrelated"), sorted by id and cut into stories of up to
    ``outlets`` bodies, one made-up outlet per body (event ids ``fnc-topic-<first body>``, or
    ``fnc<outlets>-topic-…`` for another cut: a check of a rule on pairs of bodies it was not drawn from). Real news nobody here wrote, with many death
    tolls (wars, attacks) — though a topic is looser than one event. No hand list, judgments of
    what rules changed and of samples: a check on stories outside the judged events, not a gate.
    Sentences: storydiff's own split of each body, as paragraph 0."""
    from storydiff.compare.claims import split_sentences
    from storydiff.evals.stance import load_fnc

    pairs, bodies = load_fnc(root)
    parent: dict[tuple[str, object], tuple[str, object]] = {}

    def find(x: tuple[str, object]) -> tuple[str, object]:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for headline, body, stance in pairs:
        if stance != "unrelated":
            parent[find(("h", headline))] = find(("b", body))
    topics: dict[object, list[int]] = defaultdict(list)
    for node in list(parent):
        if node[0] == "b":
            topics[find(node)].append(node[1])  # type: ignore[arg-type]
    events = []
    for members in topics.values():
        members.sort()
        for start in range(0, len(members), outlets):
            chunk = members[start : start + outlets]
            if len(chunk) < 2:
                continue
            articles = tuple(StoryArticle(f"fnc-{b}", f"Outlet {k + 1}", "", bodies[b]) for k, b in enumerate(chunk))
            sentences = {a.id: [(0, n, x, y) for n, (_, x, y) in enumerate(split_sentences(a.text))] for a in articles}
            prefix = "fnc" if outlets == FNC_BODIES else f"fnc{outlets}"  # another cut: other stories
            events.append(Event(f"{prefix}-topic-{chunk[0]}", articles, sentences))
    return events


def item_key(event_id: str, divergence: dict[str, Any], with_text: bool = False) -> str:
    """Stable across runs and code changes that report the same thing: type + each side's article
    and normalised value (not the position of the divergence or of the outlet in the report); an
    omission's or exclusive's value is only "carried", so its sentences identify it. ``with_text``:
    a typed item's sentences too, for items of one report that the values alone do not tell apart
    (three credits of one quote pair to "Oberholtzer" and "Olberholtzer" in other sentences)."""
    coverage = with_text or divergence["type"] in ("omission", "exclusive")
    sides = sorted(
        f"{c['article_id']}:{norm(c['value'])}" + (f":{norm(c['text'])}" if coverage else "")
        for c in divergence["claims"]
    )
    return hashlib.sha1("|".join([event_id, divergence["type"], *sides]).encode()).hexdigest()[:16]


def item_keys(event_id: str, divergences: list[dict[str, Any]]) -> list[str]:
    """Each item's key; items sharing one key by their values (rare) are all keyed by their
    sentences as well, so every item of a report has its own key, whatever their order."""
    keys = [item_key(event_id, d) for d in divergences]
    shared = {k for k, n in Counter(keys).items() if n > 1}
    return [item_key(event_id, d, with_text=True) if k in shared else k for k, d in zip(keys, divergences, strict=True)]


def sentence_refs(event: Event, article_id: str, span: tuple[int, int]) -> list[list[int]]:
    """The (paragraph, sentence) pairs of the article that a character span overlaps."""
    start, end = span
    return [[p, s] for p, s, a, b in event.sentences[article_id] if a < end and start < b]


def report_items(event: Event, semantic: bool | str = False) -> list[dict[str, Any]]:
    report = build_report(event.articles, story_id=event.id, title=event.articles[0].title, semantic=semantic)
    first = {id(d) for d in shown_first(report["divergences"])}
    in_fold: Counter = Counter()
    items = []
    for d, key in zip(report["divergences"], item_keys(event.id, report["divergences"]), strict=True):
        fold = fold_label(d) if folded(d) else None
        if fold is not None:
            in_fold[fold] += 1
        items.append(
            {
                "key": key,
                "event": event.id,
                "type": d["type"],
                "severity": d["severity"],
                "shown_first": id(d) in first,  # in what a story page lists before "more"
                "fold_position": in_fold[fold] if fold is not None else None,  # 1 = first in its outlet's fold
                "summary": d["summary"],
                "sides": [
                    {
                        "outlet": c["outlet"],
                        "article": c["article_id"],
                        "sentences": sentence_refs(event, c["article_id"], tuple(c["span"])),
                        "value": c["value"],
                        "text": c["text"],
                    }
                    for c in d["claims"]
                ],
            }
        )
    return items


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def matches(item: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """A reported item finds a hand-listed divergence when the types agree and, for every article
    the hand list names, the item's evidence touches one of the named sentences."""
    if item["event"] != wanted["event"] or item["type"] not in wanted["types"]:
        return False
    touched = {(s["article"], p, q) for s in item["sides"] for p, q in s["sentences"]}
    named = defaultdict(set)
    for ref in wanted["sentences"]:
        named[ref["article"]].add((ref["article"], ref["p"], ref["s"]))
    return bool(named) and all(refs & touched for refs in named.values())


def evaluate(
    events: list[Event],
    judgments: list[dict[str, Any]],
    wanted: list[dict[str, Any]],
    split: str = "all",
    semantic: bool | str = False,
) -> dict[str, Any]:
    chosen = [e for e in events if split == "all" or (e.held_out == (split == "holdout"))]
    items = [item for event in chosen for item in report_items(event, semantic)]
    verdict = {j["key"]: j for j in judgments}
    per_type: dict[str, Counter] = defaultdict(Counter)
    high: Counter = Counter()
    first: Counter = Counter()  # judgments of what story pages list first (before "more")
    first_items = 0
    fold_first: dict[str, Counter] = defaultdict(Counter)  # judgments of the first items of each fold
    unjudged_typed = typed_on_judged = 0
    for item in items:
        j = verdict.get(item["key"])
        first_items += item["shown_first"]
        if item["shown_first"] and j is not None:
            first[j["judgment"]] += 1
        if item["type"] in TYPED:  # every typed item of every event is judged (the protocol)
            typed_on_judged += 1
            unjudged_typed += j is None
        if j is None:
            continue
        per_type[item["type"]][j["judgment"]] += 1
        if item["fold_position"] is not None and item["fold_position"] <= FOLD_FIRST:
            fold_first[item["type"]][j["judgment"]] += 1
        if item["severity"] == "high":
            high[j["judgment"]] += 1
    chosen_ids = {e.id for e in chosen}
    wanted_here = [w for w in wanted if w["event"] in chosen_ids]
    found = [w for w in wanted_here if any(matches(i, w) for i in items if i["event"] == w["event"])]
    listed_by_type = Counter(w["types"][0] for w in wanted_here)
    found_by_type = Counter(w["types"][0] for w in found)
    by_story: Counter = Counter()
    per_story: dict[str, list[int]] = defaultdict(list)
    for event in chosen:
        counts = Counter(i["type"] for i in items if i["event"] == event.id)
        by_story.update(counts)
        for t in (*TYPED, "omission", "exclusive"):
            per_story[t].append(counts.get(t, 0))

    def precision(c: Counter) -> float | None:
        n = sum(c.values())
        return round(c["true"] / n, 3) if n else None

    typed_precisions = {t: precision(per_type[t]) for t in TYPED if t in per_type}
    return {
        "split": split,
        "same_fact": "semantic" if semantic is True else "lexical",
        "coverage": "semantic" if semantic else "lexical",
        "events": len(chosen),
        "reported": dict(Counter(i["type"] for i in items)),
        "judged": {t: dict(c) for t, c in sorted(per_type.items())},
        "precision": {t: precision(per_type[t]) for t in sorted(per_type)},
        "min_typed_precision": min((p for p in typed_precisions.values() if p is not None), default=None),
        "high_judged": dict(high),
        "high_precision": precision(high),
        "shown_first": {
            "items": first_items,
            "judged": dict(first),
            "judged_share": round(sum(first.values()) / first_items, 3) if first_items else 0.0,
            "precision": precision(first),
        },
        "fold_first": {  # the first FOLD_FIRST omissions / exclusives of each outlet's fold
            t: {"judged": dict(c), "precision": precision(c)} for t, c in sorted(fold_first.items())
        },
        "typed_reported": typed_on_judged,
        "unjudged_typed": unjudged_typed,
        "unjudged_share": round(unjudged_typed / typed_on_judged, 3) if typed_on_judged else 0.0,
        "recall": round(len(found) / len(wanted_here), 3) if wanted_here else None,
        "recall_found": len(found),
        "recall_listed": len(wanted_here),
        "recall_by_type": {t: f"{found_by_type[t]}/{n}" for t, n in sorted(listed_by_type.items())},
        "per_story_median": {t: statistics.median(v) for t, v in per_story.items() if v},
        "per_story_mean": {t: round(statistics.fmean(v), 2) for t, v in per_story.items() if v},
    }
