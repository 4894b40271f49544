"""Checks inside one claim group (pure): numeric, quote, attribution and framing divergences.
See ``compare.diverge`` for what each type means."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz import fuzz

from storydiff.compare.align import ClaimGroup, ClaimRef
from storydiff.compare.evidence import WORDS, Divergence, StoryView, clip, norm, outlet_names
from storydiff.compare.quantities import Quantity

CASUALTY_UNITS = frozenset(
    [
        "killed",
        "dead",
        "deaths",
        "died",
        "civilians",
        "people",
        "injured",
        "wounded",
        "victims",
        "bodies",
        "missing",
        "soldiers",
        "children",
        "casualties",
        "fatalities",
        "residents",
        "migrants",
        "passengers",
    ]
)
DURATION_DAYS = {"hours": 1 / 24, "hour": 1 / 24, "days": 1, "day": 1, "weeks": 7, "week": 7, "months": 30}
DURATION_DAYS |= {"month": 30, "years": 365, "year-long": 365}
VAGUE_RANGES = {
    "several": (3.0, 9.0),
    "a few": (2.0, 5.0),
    "dozens": (24.0, 99.0),
    "hundreds": (200.0, 999.0),
    "thousands": (2000.0, 9999.0),
}
BARE_DURATION_DAYS = {"hours": (2 / 24, 23 / 24), "days": (2.0, 6.0), "weeks": (14.0, 60.0), "months": (60.0, 330.0)}
BARE_DURATION_DAYS["years"] = (730.0, 3650.0)
SAME_QUOTE_RATIO = 50  # rapidfuzz ratio of two normalised quotes above which they are one quote reworded
FRAMING_HEDGES = ("reportedly", "apparently", "allegedly", "purportedly", "so-called", "supposedly", "self-styled")
LOADED_TERMS = (
    "fiasco", "farce", "sham", "hysteria", "propaganda", "regime", "puppet", "junta", "provocation", "debacle",
    "humiliating", "humiliation", "capitulation", "speculation", "fake", "lies", "thugs", "mob", "chaos",
    "chaotic", "disastrous", "catastrophic", "slaughter", "massacre", "scandal", "reckless", "brazen",
    "aggressor", "warmonger", "militants", "terrorists", "hoax", "witch hunt", "meltdown", "bloodbath",
)  # fmt: skip
FRAMING = re.compile(r"\b(" + "|".join(re.escape(t) for t in FRAMING_HEDGES + LOADED_TERMS) + r")\b", re.I)
NEGATION_WORDS = re.compile(r"\b(?:not|never|no|nothing|none|neither|nor|cannot)\b|n[’']t\b", re.IGNORECASE)


_FRAMING_WORDS = frozenset(t for t in FRAMING_HEDGES + LOADED_TERMS if " " not in t)
_FRAMING_PHRASES = tuple(t for t in FRAMING_HEDGES + LOADED_TERMS if " " in t)


def _quantity_key(q: Quantity) -> tuple[str, float] | None:
    if q.unit is None:
        return None
    if q.unit in DURATION_DAYS:
        return "duration", q.value * DURATION_DAYS[q.unit]
    return q.unit, q.value


def value_range(q: Quantity) -> tuple[float, float]:
    """What a quantity allows: a point for "18", a range for "several", "dozens", "days away"."""
    first = q.text.split()[0].lower() if q.text else ""
    if q.text.lower().startswith("a few"):
        first = "a few"
    if first in VAGUE_RANGES:
        return VAGUE_RANGES[first]
    if first in BARE_DURATION_DAYS:  # "days away": some days
        return BARE_DURATION_DAYS[first]
    key = _quantity_key(q)
    value = key[1] if key else q.value
    return value, value


def numeric_divergences(story: StoryView, index: int, group: ClaimGroup) -> list[Divergence]:
    per_unit: dict[str, dict[ClaimRef, Quantity]] = {}
    for ref in group.members:
        for q in story.claim(ref).numbers:
            key = _quantity_key(q)
            if key and ref not in per_unit.setdefault(key[0], {}):
                per_unit[key[0]][ref] = q
    out = []
    for unit, found in per_unit.items():
        values: dict[tuple[float, float], list[ClaimRef]] = {}
        for ref, q in found.items():
            values.setdefault(value_range(q), []).append(ref)
        disjoint = [(a, b) for a in values for b in values if a[1] < b[0]]  # ranges that cannot both hold
        if not disjoint or len({story.voice[r.account] for r in found}) < 2:
            continue
        vague = any(lo != hi for lo, hi in values)
        low, high = min(v[1] for v in values), max(v[0] for v in values)
        severity = "high" if unit in CASUALTY_UNITS or high > 1.25 * low else "medium" if high > 1.05 * low else "low"
        if vague and severity == "high":
            severity = "medium"  # "several" vs "60": a real difference, stated loosely by one side
        sides = sorted(values.items(), key=lambda kv: kv[0])
        summary = " vs ".join(
            f"{found[refs[0]].text} ({outlet_names(story.accounts, [r.account for r in refs])})" for _, refs in sides
        )
        evidence = tuple(story.evidence(r, found[r].text, [found[r].span]) for r in found)
        out.append(Divergence("numeric", severity, tuple(sorted({r.account for r in found})), evidence, summary, index))
    return out


def _word_diff(a: str, b: str) -> tuple[tuple[str, str, str], ...]:
    wa, wb = WORDS.findall(a), WORDS.findall(b)
    ops = difflib.SequenceMatcher(a=[w.lower() for w in wa], b=[w.lower() for w in wb], autojunk=False).get_opcodes()
    return tuple((op, " ".join(wa[i1:i2]), " ".join(wb[j1:j2])) for op, i1, i2, j1, j2 in ops)


def _diff_words(diff: Sequence[tuple[str, str, str]], side: int) -> list[bool]:
    """Per word of one side of a word diff: was it changed?"""
    return [op != "equal" for op, *texts in diff for _ in WORDS.findall(texts[side - 1])]


def _quote_marks(story: StoryView, ref: ClaimRef, quote: str, changed: set[int] | None) -> list[tuple[int, int]]:
    """Article spans of the changed words of a quote (the whole quote when not diffed)."""
    claim = story.claim(ref)
    at = claim.text.find(quote)
    if at < 0:
        return []
    base = claim.span[0] + at
    if changed is None:
        return [(base, base + len(quote))]
    spans: list[tuple[int, int]] = []
    for i, m in enumerate(WORDS.finditer(quote)):
        if i in changed:
            if spans and not quote[spans[-1][1] - base : m.start()].strip(" ,;:"):
                spans[-1] = (spans[-1][0], base + m.end())  # one mark for "keep working, though"
            else:
                spans.append((base + m.start(), base + m.end()))
    return spans


def quote_divergences(story: StoryView, index: int, group: ClaimGroup) -> list[Divergence]:
    found = {r: max(story.claim(r).quotes, key=len) for r in group.members if story.claim(r).quotes}
    by_value = story.variants(found)
    keys = sorted(by_value, key=len, reverse=True)
    # a quote that is a fragment of a longer one is an excerpt, not a different wording
    distinct = [k for k in keys if not any(k != other and k in other for other in keys)]
    # only rewordings of one quote count; two different quotes in one claim group are not a divergence
    distinct = [k for k in distinct if fuzz.ratio(distinct[0], k) >= SAME_QUOTE_RATIO]
    if len(distinct) < 2 or not story.spread({k: by_value[k] for k in distinct}):
        return []
    first, second = by_value[distinct[0]][0], by_value[distinct[1]][0]
    diff = _word_diff(found[first], found[second])
    changed = " ".join(f"{a} {b}" for op, a, b in diff if op != "equal")
    severity = "high" if NEGATION_WORDS.search(changed) or re.search(r"\d", changed) else "medium"
    speaker = story.claim(first).speaker or story.claim(second).speaker or "the speaker"
    summary = f"{speaker} quoted as “{clip(found[first], 70)}” ({outlet_names(story.accounts, [r.account for r in by_value[distinct[0]]])})"
    summary += (
        f" vs “{clip(found[second], 70)}” ({outlet_names(story.accounts, [r.account for r in by_value[distinct[1]]])})"
    )
    refs = [r for k in distinct for r in by_value[k]]
    changed_a = {i for i, word in enumerate(_diff_words(diff, 1)) if word}
    changed_b = {i for i, word in enumerate(_diff_words(diff, 2)) if word}
    evidence = []
    for ref in refs:
        key = norm(found[ref])
        words = changed_a if key == distinct[0] else changed_b if key == distinct[1] else None
        evidence.append(story.evidence(ref, found[ref], _quote_marks(story, ref, found[ref], words)))
    accounts = tuple(sorted({r.account for r in refs}))
    return [Divergence("quote", severity, accounts, tuple(evidence), summary, index, diff)]


def _source_key(speaker: str | None) -> str:
    """A source's identity: a named source by its last name ("Peskov" = "Kremlin spokesman Dmitry
    Peskov"), a described one by its head noun ("a senior White House official" → "official")."""
    if not speaker:
        return "(unsourced)"
    words = WORDS.findall(speaker)
    last = words[-1] if words else speaker
    return last.lower() if last[0].isupper() else last.lower().removesuffix("s")


def attribution_divergences(story: StoryView, index: int, group: ClaimGroup) -> list[Divergence]:
    found = {r: story.claim(r).speaker or "(unsourced)" for r in group.members}
    key_of = {r: _source_key(story.claim(r).speaker) for r in group.members}
    keys: dict[str, list[ClaimRef]] = {}
    for ref in group.members:
        keys.setdefault(key_of[ref], []).append(ref)
    voice_sets = [{story.voice[r.account] for r in refs} for refs in keys.values()]
    if len(keys) < 2 or len(set().union(*voice_sets)) < 2:
        return []
    severity = "low" if "(unsourced)" in keys else "medium"
    summary = "; ".join(
        f"{outlet_names(story.accounts, [r.account for r in refs])}: {found[refs[0]]}" for refs in keys.values()
    )
    evidence = tuple(story.evidence(r, key_of[r], story.mark_in(r, story.claim(r).speaker)) for r in group.members)
    accounts = tuple(sorted(group.accounts))
    return [Divergence("attribution", severity, accounts, evidence, f"Credited differently — {summary}", index)]


@lru_cache(maxsize=65536)
def framing_terms(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    if not (_FRAMING_WORDS & set(WORDS.findall(lowered))) and not any(t in lowered for t in _FRAMING_PHRASES):
        return ()
    return tuple(sorted({m.group().lower() for m in FRAMING.finditer(text)}))


def framing_divergences(story: StoryView, refs: Sequence[ClaimRef], index: int | None) -> list[Divergence]:
    terms = {r: framing_terms(story.claim(r).text) for r in refs}
    out = []
    for ref, found in terms.items():
        others = [o for o in refs if story.voice[o.account] != story.voice[ref.account]]
        if not found or not others or any(set(terms[o]) >= set(found) for o in others):
            continue
        plain = [o for o in others if not terms[o]]
        if not plain:
            continue
        claim = story.claim(ref)
        marks = [(claim.span[0] + m.start(), claim.span[0] + m.end()) for m in FRAMING.finditer(claim.text)]
        severity = "low" if all(t in FRAMING_HEDGES for t in found) else "medium"
        outlet = story.accounts[ref.account].outlet
        summary = f"{outlet} frames it as {', '.join(f'“{t}”' for t in found)}; {outlet_names(story.accounts, [o.account for o in plain])} do not"
        evidence = (story.evidence(ref, " ".join(found), marks), *tuple(story.evidence(o, "") for o in plain))
        accounts = tuple(sorted({ref.account} | {o.account for o in plain}))
        out.append(Divergence("framing", severity, accounts, evidence, summary, index))
    return out
