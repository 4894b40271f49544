"""Checks inside one claim group (pure): numeric, quote, attribution and framing divergences.
See ``compare.diverge`` for what each type means."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from storydiff.compare.align import ClaimGroup, ClaimRef, _stem, content_stems
from storydiff.compare.claims import REPORTING, Claim
from storydiff.compare.evidence import WORDS, Divergence, StoryView, clip, outlet_names, words
from storydiff.compare.features import COMMON_WORDS, FUNCTION_WORDS, TEXT_CACHE
from storydiff.compare.quantities import _BOUND_LAST_WORDS, Quantity
from storydiff.compare.samefact import SAME_FACT, STRONG, cut, find_spans
from storydiff.compare.sources import SPOKESPEOPLE, is_medium, is_named, misspelt, source_key, transliterated

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
SAME_QUOTE_SHARE = 0.5  # share of a quote's words found in order in another: one statement reworded
SAME_SPEAKER_SHARE = 0.3  # a named person quoted once in each article: a looser share is one statement
FRAMING_HEDGES = ("reportedly", "allegedly", "purportedly", "so-called", "supposedly", "self-styled")
LOADED_TERMS = (
    "fiasco", "farce", "sham", "hysteria", "propaganda", "regime", "puppet", "junta", "provocation", "debacle",
    "humiliating", "humiliation", "capitulation", "lies", "thugs", "mob", "chaos",
    "chaotic", "disastrous", "catastrophic", "slaughter", "massacre", "scandal", "reckless", "brazen",
    "aggressor", "warmonger", "terrorists", "witch hunt", "meltdown", "bloodbath",
)  # fmt: skip
# ("apparently" marks what the writer infers from what was seen — "the king apparently walked away"
# in a video — more than a doubt on the fact, and "speculation" is the plain word for unconfirmed
# talk: of the judged FNC-1 framings on them, 2 of 12 and 0 of 3 were true, against 18 of 26 for
# "allegedly", "purportedly" and "reportedly"; they are no framing terms)
# ("militants" is the wire services' neutral word for armed fighters, not a label: "terrorists" is;
# "fake" and "hoax" are verdicts on what is true, not wording: a story debunking a hoax says so, and
# the outlets that ran the hoax are contradicted, not framed differently)
FRAMING = re.compile(r"\b(" + "|".join(re.escape(t) for t in FRAMING_HEDGES + LOADED_TERMS) + r")\b", re.I)
NEGATION_WORDS = re.compile(r"\b(?:not|never|no|nothing|none|neither|nor|cannot)\b|n[’']t\b", re.IGNORECASE)


_FRAMING_WORDS = frozenset(t for t in FRAMING_HEDGES + LOADED_TERMS if " " not in t)
_FRAMING_PHRASES = tuple(t for t in FRAMING_HEDGES + LOADED_TERMS if " " in t)


def _quantity_key(q: Quantity) -> tuple[str, float] | None:
    """(what is counted, value): durations in days, plural units folded ("234 miles" = "234-mile")."""
    if q.unit is None:
        return None
    if q.unit in DURATION_DAYS:
        return "duration", q.value * DURATION_DAYS[q.unit]
    if q.unit == "year" and "-" in q.text:  # "a 28-year career" is 28 years, not the year 28
        return "duration", q.value * DURATION_DAYS["years"]
    unit = q.unit[:-1] if len(q.unit) > 3 and q.unit.endswith("s") and not q.unit.endswith("ss") else q.unit
    return unit, q.value


def value_range(q: Quantity, key: tuple[str, float] | None = None) -> tuple[float, float]:
    """What a quantity allows: a point for "18", a range for "several", "dozens", "days away"
    (``key``: its ``_quantity_key``, when the caller has it)."""
    first = q.text.split()[0].lower() if q.text else ""
    if q.text.lower().startswith("a few"):
        first = "a few"
    if first in VAGUE_RANGES:
        return VAGUE_RANGES[first]
    if first in BARE_DURATION_DAYS:  # "days away": some days
        return BARE_DURATION_DAYS[first]
    key = key or _quantity_key(q)
    value = key[1] if key else q.value
    # a bound word says "a little more / less than": "at least 12 dead" is a toll of 12 known so
    # far (and disagrees with "at least 19"), "more than 5,000 troops" agrees with "5,200 troops"
    if q.bound == "min":
        return value, value * 1.1
    if q.bound == "max":  # "nearly 60", "fewer than 60"
        return value * 0.9, value
    if q.bound == "about":  # "about $3.6 billion": a rounding either way
        return value * 0.975, value * 1.025
    rounded = _ROUNDED.match(q.text)
    if rounded:  # "$1 trillion": one significant digit and a scale word, a rounding
        half = value / int(rounded.group(1)) / 2
        return value - half, value + half  # what rounds to it: 1 trillion is 0.5 to 1.5 trillion
    return value, value


# one significant digit before a scale word ("$1 trillion", "2 million"): written as a rounding
_ROUNDED = re.compile(r"[$€£¥]?([1-9])(?:0{0,2})\s+(?:million|billion|trillion)\b", re.IGNORECASE)


_CLAUSE_BREAK = re.compile(r"[;:()\[\]—–]|\s-\s|,\s+(?:and|but|while|whereas|which|who|as|after|before|compared)\s")
ROLE_WORDS = 4  # content words each side of a number that say what it counts


# words that name one role of a count in different forms ("killing", "died", "death toll")
ROLE_CANON = {
    w: "death"
    for w in [
        "kill",
        "killed",
        "killing",
        "die",
        "died",
        "dead",
        "death",
        "deaths",
        "fatalitie",
        "fatality",
        "toll",
        "perish",
    ]
}
ROLE_CANON |= {w: "injury" for w in ["injured", "injure", "injurie", "injury", "wounded", "wound", "hurt"]}
ROLE_CANON |= {w: "arrest" for w in ["arrest", "arrested", "detain", "detained", "detention"]}
CASUALTY_ROLES = frozenset(["death", "injury"])
# one death toll in other words: "12 people were killed", "killed 15 civilians", "15 dead", "15
# deaths", "killed 12", "the death toll rose to 15" — a count of people, a count with no unit, or a
# count of the role itself is the role's count when the word next to it says so (the word before
# it first: "killed 12 people and wounded 30")
PERSON_UNITS = frozenset(["people", "person", "civilian", "victim", "soldier", "children", "resident", "migrant",
                          "passenger"])  # fmt: skip
_BOUND_STEMS = frozenset(content_stems(" ".join(_BOUND_LAST_WORDS | {"more", "fewer", "less", "roughly", "some"})))
_ROLES = frozenset(ROLE_CANON.values())
ROLE_UNITS = {u: ROLE_CANON[u] for u in ("dead", "death", "killed", "died", "fatalitie", "fatality", "injured",
                                         "wounded")}  # fmt: skip


class _ClaimTokens:
    """A claim's clause breaks and number spans, read once: the role words of each of its numbers
    are the content stems of the window that belongs to it."""

    def __init__(self, claim: Claim) -> None:
        base = claim.span[0]
        self.claim = claim
        self.spans = [(o.span[0] - base, o.span[1] - base) for o in claim.numbers]
        self.breaks = [m.start() for m in _CLAUSE_BREAK.finditer(claim.text)]
        self.heads: dict[tuple[int, int], str | None] = {}  # per number read by role(): the word it counts
        self.windows: dict[tuple[int, int], list[str]] = {}  # the stems of a window, read once (the
        # words after one number are often the words before the next)

    def _stems(self, lo: int, hi: int) -> list[str]:
        if (lo, hi) not in self.windows:
            self.windows[lo, hi] = content_stems(self.claim.text[lo:hi])
        return self.windows[lo, hi]

    def _clause_start(self, start: int) -> int:
        """Where the window before a number starting at ``start`` begins: after the previous number
        or the clause break before it."""
        return max([e for _, e in self.spans if e <= start] + [b + 1 for b in self.breaks if b < start], default=0)

    def role(self, q: Quantity, words: int = ROLE_WORDS) -> frozenset[str]:
        """What a number counts, beyond its unit: content stems next to it inside its clause and
        up to the neighbouring numbers ("$43 million [paid in taxes]" vs "$139 million [in income]";
        "100 people were struck by gunfire resulting in [18 deaths]": "deaths" is the 18's)."""
        text = self.claim.text
        start, end = q.span[0] - self.claim.span[0], q.span[1] - self.claim.span[0]
        lo = self._clause_start(start)
        hi = min([b for b, _ in self.spans if b >= end] + [b for b in self.breaks if b >= end], default=len(text))
        after = self._stems(end, hi)
        self.heads[q.span] = ROLE_CANON.get(after[0], after[0]) if after else None
        before = self._stems(lo, start)[-words:]
        # a year dates what its clause told before it ("Brokaw, who Williams replaced in 2004, knew
        # …": the replacing, not the knowing), unless it opens the clause ("In 2004, …")
        dated = q.unit == "year" and "-" not in q.text and before
        return frozenset(ROLE_CANON.get(w, w) for w in (before if dated else before + after[:words]))

    def casualty_role(self, q: Quantity, unit: str | None) -> str | None:
        """ "death" or "injury" for a count of people, of the role itself or with no unit: said by
        the content word right before it inside its clause ("killed at least 15 people"), else by
        the word right after it ("12 people were killed"), else by its role words when they name one
        of the two ("the number of people killed … has risen to 27 people"), or for a bare number by
        "toll" anywhere before it in its clause ("the toll … rose to 16"); None otherwise."""
        if unit in ROLE_UNITS:
            return ROLE_UNITS[unit]
        start = q.span[0] - self.claim.span[0]
        lo = self._clause_start(start)
        before = self._stems(lo, start)
        while before and before[-1] in _BOUND_STEMS:  # "killed at least 12": the verb before the bound
            before = before[:-1]
        if before and before[-1] in ROLE_CANON:
            role: str | None = ROLE_CANON[before[-1]]
        else:
            named = self.role(q) & CASUALTY_ROLES
            role = self.heads.get(q.span)
            if role not in _ROLES and unit is not None:  # the word after says nothing: the role
                role = next(iter(named)) if len(named) == 1 else None  # words, when they are clear
            elif role not in _ROLES:  # a bare number ("Godane, 37, who …" is an age): only a toll
                role = "death" if "toll" in before else None
        return role if role in CASUALTY_ROLES else None


_YEAR_SPAN = re.compile(r"\b(?:from|between)\s+((?:19|20)\d\d)\s+(?:to|and|until|through)\s+((?:19|20)\d\d)\b")
# two numbers told in sentences that did not align are one quantity only when more of the words
# next to them say what they count: the unit, the word right after the number, and three role
# words ("the 35-word oath administered by Chief Justice" / "Justice Roberts administered the
# 38-word oath"); one or two shared role words across unaligned sentences were different
# quantities on the development data ($550 billion of new spending vs a $1 trillion bill)
CROSS_ROLE_WORDS = 3
# counts that grow while a story is told (views, likes, followers, signatures): two outlets read
# them at different times, a different figure is no disagreement
RUNNING_COUNTS = frozenset(["view", "like", "follower", "retweet", "subscriber", "signature", "download"])
# outlets' figures for one quantity differ (early and late tolls, sources, a slip), but by less than
# this factor; a value several times another measures another scope (a war, a year, one attack)
COUNT_SPREAD = 3.0
CONTEXT_WORDS = 12  # content words each side of a number: the local fact the same-fact decision compares


def _context(claim: Claim, q: Quantity) -> str:
    """The words around a number inside its sentence, the number itself cut out."""
    start, end = q.span[0] - claim.span[0], q.span[1] - claim.span[0]
    before, after = claim.text[:start].split(), claim.text[end:].split()
    return " ".join(before[-CONTEXT_WORDS:] + after[:CONTEXT_WORDS])


def _interval_index(ranges: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Ranges sorted by their low end, with the running maximum of their high ends."""
    ordered = sorted(ranges)
    highest, running = [], float("-inf")
    for _, high in ordered:
        running = max(running, high)
        highest.append(running)
    return [low for low, _ in ordered], highest


def _overlaps(index: tuple[list[float], list[float]], low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """For each [low, high]: does any indexed range overlap it? (the ranges starting at or below
    ``high``; all the ranges at once)"""
    lows, highest = index
    k = np.searchsorted(np.asarray(lows), high, side="right")
    return (k > 0) & (np.asarray(highest)[np.maximum(k - 1, 0)] >= low)


def _orders_apart(a: tuple[int, int, float, float], b: tuple[int, int, float, float]) -> bool:
    """Two ranges (``(_, _, low, high)``) more than ``COUNT_SPREAD`` times apart: not one toll told twice."""
    (_, _, low_a, high_a), (_, _, low_b, high_b) = a, b
    return max(low_a, low_b) > COUNT_SPREAD * max(min(high_a, high_b), 1e-9)


def _scale_slip(a: tuple[int, int, float, float], b: tuple[int, int, float, float]) -> bool:
    """The same figure with a scale word more or less ("$800" / "$800 million"): a slip, one quantity."""
    (_, _, low, high), (_, _, low_big, high_big) = sorted((a, b), key=lambda f: f[2])
    if high > 1.15 * low or high_big > 1.15 * low_big:
        return False  # "thousands", "dozens": loosely stated, no figure to slip
    return any(low_big / scale <= high and low <= high_big / scale for scale in (1e3, 1e6, 1e9))


def _conflicting_pairs(
    facts: list[tuple[int, int, float, float]], bounds: dict[int, tuple[list[float], list[float]]]
) -> list[tuple[int, int]]:
    """The pairs (positions in ``facts``, in ``combinations`` order) of two voices' numbers whose
    ranges cannot both hold, neither value stated anywhere in the other voice's article."""
    voice = np.array([v for _, v, _, _ in facts])
    low = np.array([lo for _, _, lo, _ in facts])
    high = np.array([hi for _, _, _, hi in facts])
    distinct = sorted(set(voice.tolist()))
    # stated[k, x]: voice distinct[x] states a value overlapping number k's range
    stated = np.zeros((len(facts), len(distinct)), dtype=bool)
    for x, v in enumerate(distinct):
        if v in bounds:
            stated[:, x] = _overlaps(bounds[v], low, high)
    by_other = stated[:, np.searchsorted(distinct, voice)]  # [i, j]: the voice of j states i's value
    keep = (voice[:, None] != voice[None, :]) & ((high[:, None] < low[None, :]) | (high[None, :] < low[:, None]))
    keep &= ~by_other & ~by_other.T
    rows, cols = np.nonzero(np.triu(keep, 1))  # row-major: the order of combinations(facts, 2)
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def numeric_divergences(story: StoryView) -> list[Divergence]:
    """Different values for the same quantity anywhere in two voices' articles: the same unit *and*
    the same counted thing (role words shared next to both numbers), the words around both numbers
    telling the same fact (same-fact decision on the local context, numbers masked), and neither
    value stated anywhere in the other voice's article."""
    # one pass over the numbers: what each voice states (by unit), and the numbers that may pair
    stated: dict[int, dict[str, list[tuple[float, float]]]] = {}
    by_unit: dict[str, list[tuple[ClaimRef, Quantity, tuple[float, float]]]] = {}
    tokens: dict[ClaimRef, _ClaimTokens] = {}
    role_unit: dict[tuple[ClaimRef, tuple[int, int]], str] = {}  # the death tolls and counts of injured
    for ref, claim in story.claims.items():
        voice = stated.setdefault(story.voice[ref.account], {})
        if "from " in claim.text or "between " in claim.text:  # "from 1996 to 2007": every year between
            for first, last in _YEAR_SPAN.findall(claim.text):
                voice.setdefault("year", []).append((float(first), float(last)))
        for q in claim.numbers:
            key = _quantity_key(q)
            if key is None or key[0] in PERSON_UNITS or key[0] in ROLE_UNITS:  # (no unit: key is None)
                if ref not in tokens:
                    tokens[ref] = _ClaimTokens(claim)
                casualty = tokens[ref].casualty_role(q, key[0] if key else None)
                if casualty:
                    key = casualty, q.value
                    role_unit[ref, q.span] = casualty
            if key:
                value = value_range(q, key)
                voice.setdefault(key[0], []).append(value)
                if not claim.boilerplate:
                    by_unit.setdefault(key[0], []).append((ref, q, value))
    # every number that may pair gets an integer id (tuples of claims and quantities hash slowly)
    nodes: list[tuple[ClaimRef, Quantity]] = []
    parent: list[int] = []
    strength: list[float] = []  # at a root: the best same-fact score inside its quantity (component)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    context: dict[int, str] = {}

    def masked_context(i: int) -> str:
        if i not in context:  # the words around the number, the speaker masked
            ref, q = nodes[i]
            claim = story.claim(ref)
            around = _context(claim, q)
            context[i] = cut(around, find_spans(around, [claim.speaker]))
        return context[i]

    linked: set[int] = set()
    group_of = {m: g for g, group in enumerate(story.alignment.groups) for m in group.members}
    roles: dict[int, frozenset[str]] = {}

    def role_of(i: int) -> frozenset[str]:
        if i not in roles:  # read only for numbers that pass the cheap tests
            ref, q = nodes[i]
            if ref not in tokens:
                tokens[ref] = _ClaimTokens(story.claim(ref))
            unit = (_quantity_key(q) or (None,))[0]
            roles[i] = tokens[ref].role(q) - {unit, _stem(unit) if unit else None}
        return roles[i]

    def head_of(i: int) -> str | None:  # the first content word after the number (role_of read it)
        ref, q = nodes[i]
        return tokens[ref].heads.get(q.span)

    for unit, found in by_unit.items():
        if unit in RUNNING_COUNTS or len({story.voice[ref.account] for ref, _, _ in found}) < 2:
            continue  # a count that grows by the minute, or one voice counts this: nothing to compare
        # per number, once: its voice and its range (what the other voices state, and its role words, when needed)
        bounds = {v: _interval_index(units[unit]) for v, units in stated.items() if unit in units}
        facts = []
        for ref, q, (low, high) in found:
            voice = story.voice[ref.account]
            nodes.append((ref, q))
            parent.append(len(parent))
            strength.append(0.0)
            facts.append((len(nodes) - 1, voice, low, high))
        casualty_unit = unit in CASUALTY_ROLES or unit in CASUALTY_UNITS or f"{unit}s" in CASUALTY_UNITS
        # a casualty count is one quantity across the whole story; another quantity pairs inside one
        # claim group (sentences that aligned, with a same-fact decision on the words around the
        # numbers) or, told in sentences that did not align, by more shared role words (pairs of
        # one voice, of ranges that can both hold, or of a value the other article states too — two
        # quantities, not a conflict — are left out at once)
        for a, b in _conflicting_pairs(facts, bounds):
            i, j = facts[a][0], facts[b][0]
            group_i = group_of.get(nodes[i][0])
            in_group = group_i is not None and group_i == group_of.get(nodes[j][0])
            if _orders_apart(facts[a], facts[b]) and not _scale_slip(facts[a], facts[b]):
                continue  # a value several times another is another quantity (a war's dead and one
                # attack's, "nine days ago" / "six years ago"), unless a scale word slipped ("$800 million")
            aligned = casualty_unit or in_group
            shared = role_of(i) & role_of(j)
            # role words decide alone when there are three and the word each number counts is the
            # same ("the 35-word oath" / "the 38-word oath"; not "$40 million in taxes" / "in income")
            by_role = len(shared) >= CROSS_ROLE_WORDS and head_of(i) is not None and head_of(i) == head_of(j)
            if not shared or not (aligned or by_role):
                continue  # nothing but the unit in common: different quantities ($43m in taxes, $139m income)
            ri, rj = root(i), root(j)
            if ri == rj and strength[ri] >= STRONG:
                continue  # already one quantity, and confidently: this pair can change nothing
            score = story.text_same_fact(masked_context(i), masked_context(j))
            if shared & CASUALTY_ROLES and shared - CASUALTY_ROLES and casualty_unit:
                # one event's dead (or injured) counted twice: one quantity (the role alone in common
                # is not one event: "killing six soldiers" at a border post, "a war that has killed
                # 200,000 people")
                score = max(score, SAME_FACT)
            if score < SAME_FACT and not by_role:
                continue  # (the role words decide alone: the score then only sets the confidence)
            parent[ri] = rj
            strength[rj] = max(strength[ri], strength[rj], score)
            linked.update((i, j))
    components: dict[int, list[tuple[ClaimRef, Quantity]]] = {}
    for i in sorted(linked):
        components.setdefault(root(i), []).append(nodes[i])
    out = []
    for top, members in components.items():
        chosen: dict[ClaimRef, Quantity] = {}
        for ref, q in sorted(members, key=lambda n: (n[0], n[1].span)):
            chosen.setdefault(ref, q)  # one number per claim
        values: dict[tuple[float, float], list[ClaimRef]] = {}
        for ref, q in sorted(chosen.items(), key=lambda kv: value_range(kv[1])):
            lo, hi = value_range(q)
            last = next(reversed(values), None)
            if last is not None and lo <= last[1]:  # overlapping ranges ("27" and "at least 27") are one value
                values[(last[0], max(hi, last[1]))] = [*values.pop(last), ref]
            else:
                values[(lo, hi)] = [ref]
        if len(values) < 2 or not story.spread(values):
            continue
        first_ref, first = members[0]
        unit = role_unit.get((first_ref, first.span)) or _quantity_key(first)[0]  # type: ignore[index]
        vague = any(hi > 1.15 * lo for lo, hi in values)  # "several", "dozens", "days": loosely stated
        low, high = min(v[1] for v in values), max(v[0] for v in values)
        casualties = unit in CASUALTY_ROLES or unit in CASUALTY_UNITS or f"{unit}s" in CASUALTY_UNITS
        big = casualties or unit == "year" or high > 1.25 * low
        # high: an important difference told with a confident same-fact decision; a death toll is
        # the most important element there is, so the chosen same-fact level is enough for it
        confident = strength[top] >= (SAME_FACT if casualties else STRONG)
        small = unit != "year" and high <= 1.05 * low
        severity = "low" if small else "high" if big and confident and not vague else "medium"
        sides = sorted(values.items(), key=lambda kv: kv[0])
        summary = " vs ".join(
            f"{chosen[refs[0]].text} ({outlet_names(story.accounts, [r.account for r in refs])})" for _, refs in sides
        )
        evidence = tuple(story.evidence(r, chosen[r].text, [chosen[r].span]) for r in chosen)
        group = story.group_of(next(iter(chosen)))
        out.append(
            Divergence("numeric", severity, tuple(sorted({r.account for r in chosen})), evidence, summary, group)
        )
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


_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-", "…": "...", "\u00a0": " "})


_CONTRACTIONS: tuple[tuple[str, str], ...] = (
    # "cannot", "can not" and "can't" are one word in three spellings (as are "won't" / "will not")
    (r"\bcan(?:not|'t)\b", "can not"), (r"\bwon't\b", "will not"), (r"\bshan't\b", "shall not"),
    (r"n't\b", " not"), (r"'re\b", " are"), (r"'ll\b", " will"), (r"'ve\b", " have"), (r"'m\b", " am"),
    (r"'d\b", " would"), (r"'s\b", " s"),
)  # fmt: skip
# words whose change does not change what was said
QUOTE_FILLER = FUNCTION_WORDS | COMMON_WORDS
QUOTE_FILLER |= frozenset(
    [
        "s",
        "is",
        "am",
        "do",
        "does",
        "did",
        "that",
        "just",
        "very",
        "so",
        "well",
        "oh",
        "uh",
        "um",
        "both",
        "also",
        "even",
        "still",
        "really",
        "actually",
        "al",
        "el",
    ]
)


_DOTTED = re.compile(r"\b(?:[a-z]\.){2,}")


@lru_cache(maxsize=TEXT_CACHE)
def quote_words(quote: str) -> tuple[str, ...]:
    """A quote's words after normalisation: curly and straight quotes, dashes and hyphens, "&",
    accents, contractions and case do not make two wordings."""
    plain = fold_accents(quote.translate(_TYPOGRAPHY)).replace("&", " and ").lower()
    if "." in plain:  # an abbreviation with or without its dots: "F.B.I." is "FBI"
        plain = _DOTTED.sub(lambda m: m.group().replace(".", ""), plain)
    for pattern, repl in _CONTRACTIONS:
        plain = re.sub(pattern, repl, plain)
    return tuple(re.findall(r"[a-z0-9]+", plain))


def fold_accents(text: str) -> str:
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _inner_ops(a: tuple[str, ...], b: tuple[str, ...]) -> list[Any]:
    """Word diff of two quotes without the unmatched ends: two windows cut from one speech differ
    only at their edges."""
    ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    while ops and ops[0][0] in ("insert", "delete"):  # one side starts earlier
        ops.pop(0)
    while ops and ops[-1][0] in ("insert", "delete"):  # one side runs on
        ops.pop()
    return ops


def _same_word(x: str, y: str) -> bool:
    """One word in two spellings: a plural, a transliterated name ("qaddafi" / "gadhafi")."""
    x, y = re.sub(r"^(?:al|el)(?=[a-z]{4})", "", x), re.sub(r"^(?:al|el)(?=[a-z]{4})", "", y)
    return _stem(x) == _stem(y) or (len(x) > 4 and len(y) > 4 and fuzz.ratio(x, y) >= 60)


def _changed_content(a: tuple[str, ...], b: tuple[str, ...], ops: list) -> list[str]:
    """The content words that one quote changes inside the part both quote."""
    changed: list[str] = []
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            continue
        wa = [w for w in a[i1:i2] if w not in QUOTE_FILLER]
        wb = [w for w in b[j1:j2] if w not in QUOTE_FILLER]
        if len(wa) == len(wb) and all(_same_word(x, y) for x, y in zip(wa, wb, strict=True)):
            continue  # only filler changed, or the same words spelled otherwise
        changed += wa + wb
    return changed


def _matched(ops: list) -> int:
    return sum(i2 - i1 for op, i1, i2, _, _ in ops if op == "equal")


# words whose change turns what was said around: negation, and how sure or bound the speaker is
MEANING_WORDS = frozenset(
    [
        "not",
        "never",
        "no",
        "nothing",
        "none",
        "nobody",
        "neither",
        "nor",
        "without",
        "will",
        "would",
        "may",
        "might",
        "must",
        "could",
        "should",
        "can",
        "cannot",
        "whatever",
        "always",
    ]
)


def _changes_meaning(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """A rewording that changes what was said: inside the part both outlets quote, a negation,
    a modal ("will" / "may") or a number differs. Other rewordings (a synonym, a dropped adjective)
    were judged trivial on real multi-outlet news."""
    ops = _inner_ops(a, b)
    if not ops:
        return False
    short, long = sorted((a, b), key=len)
    whole = Counter(long)
    if sum(min(n, whole[w]) for w, n in Counter(short).items()) >= 0.8 * len(short):
        # the shorter quote's words are nearly all in the longer one (clauses may be reordered):
        # it changes the meaning only when it carries a negation or modal the longer one does not
        inner = _inner_ops(short, long)  # the part of the shorter quote that the longer one also quotes
        region = short[inner[0][1] : inner[-1][2]] if inner else ()
        in_long = Counter(w for w in long if w in MEANING_WORDS)
        if any(n > in_long[w] for w, n in Counter(w for w in region if w in MEANING_WORDS).items()):
            return True
    else:
        part_a, part_b = a[ops[0][1] : ops[-1][2]], b[ops[0][3] : ops[-1][4]]  # what both outlets quote
        if Counter(w for w in part_a if w in MEANING_WORDS) != Counter(w for w in part_b if w in MEANING_WORDS):
            return True  # a negation or modal more or less
    for op, i1, i2, j1, j2 in ops:
        numbers = [w for w in a[i1:i2] if w[0].isdigit()], [w for w in b[j1:j2] if w[0].isdigit()]
        if op == "replace" and all(numbers) and set(numbers[0]) != set(numbers[1]):
            return True  # a number replaced by another
    return False


def excerpt(raw_a: str, raw_b: str) -> bool:
    """One quote is taken from the other: the same words inside their common part (an overlapping
    window of one speech, a sub-span), or pieces around an ellipsis all found in the other."""
    a, b = quote_words(raw_a), quote_words(raw_b)
    if not a or not b:
        return False
    (raw_short, short), (_, long) = sorted(((raw_a, a), (raw_b, b)), key=lambda x: len(x[1]))
    if sum((Counter(short) & Counter(long)).values()) < 0.4 * len(short):
        return False  # too few words in common for any of the cases below (cheap, before difflib)
    ops = _inner_ops(short, long)
    if re.search(r"\.\.\.|…", raw_short) and ops:  # an excerpt with an ellipsis: its words, in order, in the other
        span = ops[-1][2] - ops[0][1]  # the shorter quote's words from the first to the last shared one
        return span >= 0.5 * len(short) and _matched(ops) >= 0.8 * span
    return (
        _matched(ops) >= 0.6 * len(short)
        and not _changed_content(short, long, ops)
        and not _changes_meaning(short, long)
    )


def _only_statement(story: StoryView, refs: list[ClaimRef]) -> bool:
    """The claims are one named person's only quoted sentence in each of their articles: then two
    differently worded versions can only be one statement (translated or reworded), not two."""
    speakers = {source_key(story.claim(r).speaker) for r in refs}
    if len(speakers) != 1 or None in speakers or not is_named(story.claim(refs[0]).speaker or ""):
        return False
    speaker = next(iter(speakers))
    accounts = {r.account for r in refs}
    quoted = Counter(
        r.account
        for r, c in story.claims.items()
        if r.account in accounts and c.quotes and source_key(c.speaker) == speaker
    )
    return all(n == 1 for n in quoted.values())


# a false start in a transcript: "it's not, it's kind of …" is "it's kind of …", not a negation
_FALSE_START = re.compile(r"\b([\w'’]+\s+)(?:not|never)\s*[,—–-]+\s*\1", re.IGNORECASE)


# ("may" is left out: a modal first)
_DAY_NAMES = frozenset(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
     "april", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr",
     "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"]
)  # fmt: skip


def _only_dates(changed: Sequence[str]) -> bool:
    """The changed words are a date and nothing else, a day or month named among them: the same
    words said on another day, not the same statement quoted otherwise."""
    return any(w in _DAY_NAMES for w in changed) and all(
        w in _DAY_NAMES or (w.isdigit() and (int(w) <= 31 or 1900 <= int(w) <= 2100)) for w in changed
    )


def _quoted_elsewhere(story: StoryView, refs: list[ClaimRef], quote: str) -> bool:
    """Some voice of ``refs`` quotes these words too, from the same speaker (the same words, or an
    excerpt of them), in another sentence of its article: "We did not negotiate" and "We will not
    negotiate" both said."""
    voices = {story.voice[r.account] for r in refs}
    speakers = {source_key(story.claim(r).speaker) for r in refs}
    wanted = quote_words(quote)
    for ref, claim in story.claims.items():
        if (
            story.voice[ref.account] in voices
            and ref not in refs
            and source_key(claim.speaker) in speakers  # the same speaker (another one's words are no excuse)
            and any(quote_words(q) == wanted or excerpt(q, quote) for q in claim.quotes)
        ):
            return True
    return False


def quote_divergences(story: StoryView, index: int, group: ClaimGroup) -> list[Divergence]:
    """One speaker's same statement quoted in words that differ in content inside the part both
    outlets quote (after normalisation; an excerpt, an ellipsis or a spelling of a name is agreement)."""
    found = {
        r: _FALSE_START.sub(r"\1", max(story.claim(r).quotes, key=len)) for r in group.members if story.claim(r).quotes
    }
    words = {r: quote_words(q) for r, q in found.items()}
    by_value: dict[tuple[str, ...], list[ClaimRef]] = {}
    for ref in found:
        if len(words[ref]) >= 4:
            by_value.setdefault(words[ref], []).append(ref)
    # the earliest outlet's wording first: the diff reads as how the quote changed
    keys = sorted(by_value, key=lambda k: (min(r.account for r in by_value[k]), -len(" ".join(k))))
    if len(keys) < 2:
        return []
    distinct = [keys[0]]
    for key in keys[1:]:
        raw = found[by_value[key][0]]
        if any(excerpt(raw, found[by_value[k][0]]) for k in distinct):
            continue
        matched = _matched(_inner_ops(key, keys[0]))
        if matched >= SAME_QUOTE_SHARE * max(len(key), len(keys[0])) or (
            matched >= SAME_SPEAKER_SHARE * len(key) and _only_statement(story, by_value[key] + by_value[keys[0]])
        ):
            # only rewordings of one statement count: most of *both* versions' words, in order (two
            # sentences of one speaker sharing a phrase are two statements), or a named person's
            # only quoted statement in each article (a translation reworded more)
            distinct.append(key)
    if len(distinct) < 2 or not story.spread({" ".join(k): by_value[k] for k in distinct}):
        return []
    first, second = by_value[distinct[0]][0], by_value[distinct[1]][0]
    speakers = {source_key(story.claim(r).speaker) for r in (first, second)} - {None}
    if len(speakers) == 2 and not story.aliases.same(*speakers):
        return []  # two people: not one statement (attribution looks at that)
    if _quoted_elsewhere(story, by_value[distinct[0]], found[second]) or _quoted_elsewhere(
        story, by_value[distinct[1]], found[first]
    ):
        return []  # the speaker said both: one outlet quotes the other's wording too, in another sentence
    changed = _changed_content(distinct[1], distinct[0], _inner_ops(distinct[1], distinct[0]))
    if _only_dates(changed):
        return []  # one formula said on two occasions ("at 11 a.m. on Thursday (November 06, 2014), …")
    if not _changes_meaning(distinct[1], distinct[0]):
        return []  # reworded with the same meaning: judged trivial on real news, not shown
    diff = _word_diff(found[first].translate(_TYPOGRAPHY), found[second].translate(_TYPOGRAPHY))
    weighty = bool(NEGATION_WORDS.search(" ".join(changed)) or any(w[0].isdigit() for w in changed))
    severity = "high" if weighty and len(changed) <= 4 else "medium"
    speaker = story.claim(first).speaker or story.claim(second).speaker or "the speaker"
    names = [outlet_names(story.accounts, [r.account for r in by_value[k]]) for k in distinct[:2]]
    summary = f"{speaker} quoted as “{clip(found[first], 70)}” ({names[0]}) vs “{clip(found[second], 70)}” ({names[1]})"
    refs = [r for k in distinct for r in by_value[k]]
    changed_a = {i for i, word in enumerate(_diff_words(diff, 1)) if word}
    changed_b = {i for i, word in enumerate(_diff_words(diff, 2)) if word}
    evidence = []
    for ref in refs:
        marks = changed_a if words[ref] == distinct[0] else changed_b if words[ref] == distinct[1] else None
        evidence.append(story.evidence(ref, found[ref], _quote_marks(story, ref, found[ref], marks)))
    accounts = tuple(sorted({r.account for r in refs}))
    return [Divergence("quote", severity, accounts, tuple(evidence), summary, index, diff)]


def _body_of(text: str, speaker: str | None) -> frozenset[str]:
    """The body a named speaker speaks for, as the words describing them next to the name ("Apple"
    in "Apple PR spokeswoman Nat Kerris" or "Nat Kerris, an Apple spokeswoman,"); empty when no
    word around the name says they speak for a body."""
    if not speaker:
        return frozenset()
    at = text.find(speaker)
    if at < 0:
        return frozenset()
    after = text[at + len(speaker) :]
    after = after[1 : after.find(",", 1)] if after.startswith(",") and "," in after[1:] else ""  # an apposition
    around = [*text[:at].split()[-3:], *speaker.split(), *after.split()[:4]]
    words = {w for w in re.findall(r"[a-z]+", " ".join(around).lower())}
    if not words & SPOKESPEOPLE:
        return frozenset()
    own = re.findall(r"[a-z]+", speaker.lower())
    described = [i for i, w in enumerate(own) if w in SPOKESPEOPLE]
    name = own[described[-1] + 1 :] if described else own  # "… spokeswoman Nat Kerris": the name
    return frozenset(words - SPOKESPEOPLE - FUNCTION_WORDS - set(name))


def _described_body(speaker: str | None) -> frozenset[str]:
    """The body a described source speaks for ("an Apple spokesperson": "apple")."""
    words = set(re.findall(r"[a-z]+", (speaker or "").lower()))
    return frozenset(words - SPOKESPEOPLE - FUNCTION_WORDS)


def _names_nobody(key: str, speaker: str | None) -> bool:
    """A voice described with nothing it speaks for ("the statement", "a source"), not "a police
    spokesman", "the fire service" or "Pentagon officials"."""
    return key in SPOKESPEOPLE and not _described_body(speaker)


def _names_too(key: str, words: AbstractSet[str]) -> bool:
    """The article names this source as well, maybe with a letter slipped ("Gohel" / "Cohel")."""
    return key in words or (len(key) >= 5 and any(misspelt(key, w) for w in words if abs(len(w) - len(key)) <= 1))


def _attribution_candidates(
    story: StoryView, keyed: dict[ClaimRef, str], same_facts: frozenset[frozenset[ClaimRef]]
) -> list[tuple[ClaimRef, ClaimRef]]:
    """Pairs of sourced claims worth comparing: aligned ones, ones another check found to tell the
    same fact, and ones sharing three words in a row of a quote (instead of every pair)."""
    pairs: set[tuple[ClaimRef, ClaimRef]] = set()
    for group in story.alignment.groups:  # aligned: one claim group (one claim per outlet)
        sourced = [m for m in group.members if m in keyed]
        pairs |= set(combinations(sorted(sourced), 2))
    pairs |= {tuple(sorted(p)) for p in same_facts if len(p) == 2 and all(r in keyed for r in p)}
    shingles: dict[tuple[str, ...], list[ClaimRef]] = {}
    for ref in keyed:
        for quote in story.claim(ref).quotes:
            words = quote_words(quote)
            for k in range(len(words) - 2):
                shingles.setdefault(words[k : k + 3], []).append(ref)
    for members in shingles.values():
        if 1 < len(members) <= 20:
            pairs |= set(combinations(sorted(set(members)), 2))
    return sorted(pairs)  # ClaimRef is a tuple: ordered as (account, claim)


def attribution_divergences(
    story: StoryView, same_facts: frozenset[frozenset[ClaimRef]] = frozenset()
) -> list[Divergence]:
    """The same statement credited to different named sources: the same quote (≥ 5 words, one an
    excerpt of the other or nearly the same words) or the same fact told in strongly similar words
    with the speakers masked — and the two names never set side by side anywhere in the story
    (the alias table: "his lawyer, Aitan Goelman" is one source). Unsourced vs sourced is not a
    divergence: an outlet that does not name the source has not credited anyone else."""
    keyed = {r: k for r, c in story.claims.items() if (k := source_key(c.speaker))}
    aliases = story.aliases
    parent: dict[ClaimRef, ClaimRef] = {}

    def root(r: ClaimRef) -> ClaimRef:
        while parent.setdefault(r, r) != r:
            r = parent[r]
        return r

    strength: dict[ClaimRef, bool] = {}
    # (without apostrophes: the key of "Father O’neal" is "oneal", his sentence says "o’neal")
    folded = {r: re.sub(r"['’]", "", fold_accents(story.claim(r).text).lower()) for r in keyed}
    # named people the story describes, somewhere, as speaking for a body ("Pentagon spokesman Col. Steve Warren")
    # the body each named speaker is described, somewhere, as speaking for ("Apple PR spokeswoman Nat Kerris")
    bodies: dict[str, set[str]] = {}
    for r, k in keyed.items():
        if is_named(k):
            bodies.setdefault(k, set()).update(_body_of(story.claim(r).text, story.claim(r).speaker))
    for a, b in _attribution_candidates(story, keyed, same_facts):
        if story.voice[a.account] == story.voice[b.account] or aliases.same(keyed[a], keyed[b]):
            continue
        if transliterated(keyed[a], keyed[b]) or misspelt(keyed[a], keyed[b]):
            continue  # one name in two spellings ("Mashnuq" / "Machnouk", "Gohel" / "Cohel"): one source
        ca, cb = story.claim(a), story.claim(b)
        if _names_nobody(keyed[a], ca.speaker) or _names_nobody(keyed[b], cb.speaker):
            continue  # "the statement", "a source": whose, it does not say — no one else credited
        if keyed[b] in folded[a] or keyed[a] in folded[b]:
            continue  # both names in one sentence: who said what is told, not contested
        if keyed[a].replace(".", "") == keyed[b].replace(".", "") or is_medium(keyed[a]) != is_medium(keyed[b]):
            continue  # "U.S." / "US"; a medium relaying a quote and its speaker are not two credits
        if keyed[a] in SPOKESPEOPLE and keyed[b] in SPOKESPEOPLE:
            continue  # "a police spokesman" / "an officer": two descriptions, no one credited instead
        if (keyed[a] in SPOKESPEOPLE and bodies.get(keyed[b], set()) & _described_body(ca.speaker)) or (
            keyed[b] in SPOKESPEOPLE and bodies.get(keyed[a], set()) & _described_body(cb.speaker)
        ):
            continue  # "an Apple spokesperson" / "Apple spokeswoman Nat Kerris": maybe one person, no one else
        named_in_a = is_named(keyed[b]) and _names_too(keyed[b], story.voice_words[story.voice[a.account]])
        if named_in_a or (is_named(keyed[a]) and _names_too(keyed[a], story.voice_words[story.voice[b.account]])):
            continue  # an article that names the other's source too may well credit it (a quote's
            # speaker a sentence earlier, a relaying outlet): a different credit is not established
        shared_quote = any(
            len(quote_words(x)) >= 5
            and len(quote_words(y)) >= 5
            and len(set(quote_words(x)) & set(quote_words(y))) >= 3  # cheap first
            and (fuzz.ratio(" ".join(quote_words(x)), " ".join(quote_words(y))) >= 80 or excerpt(x, y))
            for x in ca.quotes
            for y in cb.quotes
        )
        established = frozenset((a, b)) in same_facts  # e.g. the two sides of one numeric divergence
        if not established and not (shared_quote and is_named(keyed[a]) and is_named(keyed[b])):
            # a described source ("an official") needs the very same fact, not only a shared quote;
            # two sentences that did not even align (unmasked) cannot state it strongly alike
            aligned = story.group_of(a) is not None and story.group_of(a) == story.group_of(b)
            if not aligned or story.same_fact(a, b, [ca.speaker], [cb.speaker]) < STRONG:
                continue
        parent[root(a)] = root(b)
        strength[a] = strength[b] = shared_quote
    components: dict[ClaimRef, list[ClaimRef]] = {}
    for ref in parent:
        components.setdefault(root(ref), []).append(ref)
    out = []
    for refs in components.values():
        refs.sort(key=lambda r: r.as_tuple())
        by_source: dict[str, list[ClaimRef]] = {}
        for r in refs:
            by_source.setdefault(aliases.root(keyed[r]), []).append(r)
        if len(by_source) < 2 or not story.spread(by_source):
            continue
        severity = "high" if all(strength.get(r) for r in refs) else "medium"
        summary = "; ".join(
            f"{outlet_names(story.accounts, [r.account for r in rs])}: {story.claim(rs[0]).speaker}"
            for rs in by_source.values()
        )
        evidence = tuple(story.evidence(r, keyed[r], story.mark_in(r, story.claim(r).speaker)) for r in refs)
        accounts = tuple(sorted({r.account for r in refs}))
        group = story.group_of(refs[0])
        out.append(Divergence("attribution", severity, accounts, evidence, f"Credited differently — {summary}", group))
    return out


@lru_cache(maxsize=TEXT_CACHE)
def framing_terms(text: str) -> tuple[str, ...]:
    """Loaded or hedging words of the outlet's own voice: words inside quotation marks are the
    speaker's, not the outlet's, and do not count."""
    own = QUOTED.sub(" ", text)
    lowered = own.lower()
    if not (_FRAMING_WORDS & set(words(lowered))) and not any(t in lowered for t in _FRAMING_PHRASES):
        return ()
    found = {m.group().lower() for m in FRAMING.finditer(own)}
    for m in _HEDGED_SAYING.finditer(own):  # "reportedly said": a doubt on who said it, not on the fact
        if not re.search(rf"\b{m.group(1)}\b(?!\s+(?:{REPORTING}|reads|posted)\b)", own, re.IGNORECASE):
            found.discard(m.group(1).lower())
    return tuple(sorted(found))


# a hedge on a verb of saying: the outlet passes a statement on second-hand ("reportedly wrote",
# "allegedly said", "reportedly reads"), and the statement is the same in every outlet
_HEDGED_SAYING = re.compile(rf"\b({'|'.join(FRAMING_HEDGES)})\s+(?:{REPORTING}|reads|posted)\b", re.IGNORECASE)


QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
_HEDGED = re.compile(
    r"\b(?:accus\w*|alleg\w*|according to|suspect\w*|charg\w* with|claim\w*|reported that|reports? (?:say|said|suggest)\w*)\b",
    re.IGNORECASE,
)  # ("it was reported that P" keeps the distance "P, reportedly" keeps)


def _hedged(claim: Claim) -> bool:
    """The claim itself keeps a distance: a hedge, an accusation frame or a named source."""
    return bool(claim.hedges or claim.speaker or _HEDGED.search(QUOTED.sub(" ", claim.text)))


def _uses_a_form(used: AbstractSet[str], terms: Sequence[str]) -> bool:
    """Words ``used`` (lower-cased) hold one of the terms in some form ("the Islamist militant
    group" where the other outlet says "Islamist militants"): the same wording, not a different frame."""
    stems = {_stem(t) for t in terms if " " not in t}
    roots = tuple(HEDGE_ROOTS[t] for t in terms if t in HEDGE_ROOTS)  # "purporting to show" / "purportedly showing"
    loaded = tuple(t for t in terms if " " not in t and t not in FRAMING_HEDGES)
    return bool(stems) and any(
        _stem(w) in stems
        or (roots and w.startswith(roots))
        or (len(w) >= 5 and any(t.startswith(w) for t in loaded))  # "terror group" / "terrorists"
        for w in used
    )


# hedges whose other forms hedge too ("alleged", "purporting", "supposed"); not "reported" or
# "apparent", which most articles use for other things
HEDGE_ROOTS = {"allegedly": "alleg", "purportedly": "purport", "supposedly": "suppos"}


def _own_words(claim: Claim) -> str:
    """The claim without what it quotes (quotation marks, or a quotation that runs over sentences)."""
    text = QUOTED.sub(" ", claim.text)
    for quoted in claim.quotes:
        text = text.replace(quoted, " ")
    return text


def framing_divergences(
    story: StoryView, refs: Sequence[ClaimRef], index: int | None, same_fact_known: bool = False
) -> list[Divergence]:
    """One voice tells a fact in loaded or hedging words of its own that other voices, telling the
    same fact (same-fact decision with the terms masked, or the two sides of one contradiction), do not use. Hedges on both sides
    ("allegedly hacking" / "accused of hacking") are agreement."""
    terms = {r: framing_terms(_own_words(story.claim(r))) for r in refs}
    out = []
    for ref, found in terms.items():
        if not found:
            continue
        hedge_only = all(t in FRAMING_HEDGES for t in found)
        plain = [
            o
            for o in refs
            if story.voice[o.account] != story.voice[ref.account]
            and not set(terms[o]) & set(found)
            and not _uses_a_form(story.voice_words[story.voice[o.account]], found)  # anywhere in its article
            and not (hedge_only and _hedged(story.claim(o)))
            and (same_fact_known or story.same_fact(ref, o, list(found), []) >= SAME_FACT)
        ]
        if not plain:
            continue
        claim = story.claim(ref)
        own = QUOTED.sub(lambda m: " " * len(m.group()), claim.text)
        for quoted in claim.quotes:
            own = own.replace(quoted, " " * len(quoted))
        marks = [(claim.span[0] + m.start(), claim.span[0] + m.end()) for m in FRAMING.finditer(own)]
        severity = "low" if hedge_only else "medium"
        outlet = story.accounts[ref.account].outlet
        summary = f"{outlet} frames it as {', '.join(f'“{t}”' for t in found)}; {outlet_names(story.accounts, [o.account for o in plain])} do not"
        evidence = (story.evidence(ref, " ".join(found), marks), *tuple(story.evidence(o, "") for o in plain))
        accounts = tuple(sorted({ref.account} | {o.account for o in plain}))
        out.append(Divergence("framing", severity, accounts, evidence, summary, index))
    return out
