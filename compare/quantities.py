"""Numbers in a sentence with what they count (pure): "18 civilians", "two weeks", "$2.5 billion",
"5.25%", "3,400 people", a bare "days away" (an unstated number, counted as 2), years."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

LOWER_WORDS = re.compile(r"[a-z]+")
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "dozen": 12,
    "dozens": 24,
    "hundreds": 200,
    "thousands": 2000,
    "a few": 3,
    "several": 3,
}
_NUMBER_WORD_SET = frozenset(w for w in _NUMBER_WORDS if " " not in w)
_DURATION_WORDS = frozenset(["hours", "days", "weeks", "months", "years"])
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "percent": 1, "%": 1}
_NUMBER_TAIL = (
    r")\b(?:\s*(?P<scale>thousand|million|billion|trillion|percent|%))?(?:-(?P<hunit>[a-z]+(?:-[a-z]+)*))?"
    r"(?:\s+(?P<unit>(?:[a-z][\w-]*\s+){0,1}[a-z][\w-]*))?"
)
# digits grouped in thousands ("934,200") or, as in South Asia, in lakhs ("9,34,200"); never the tail
# of a longer group ("34,200" inside "9,34,200")
_DIGITS = r"(?<![\w.])(?<!\d,)(?P<cur>[$€£¥])?(?P<num>\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d+)?|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NUMBER = re.compile(  # digits and number words ("two weeks", "dozens of")
    _DIGITS + "|" + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True)) + _NUMBER_TAIL,
    re.IGNORECASE,
)
_NUMBER_DIGITS_ONLY = re.compile(_DIGITS + _NUMBER_TAIL, re.IGNORECASE)  # the same, when no number word occurs
_HAS_DIGIT = re.compile(r"\d")
_BARE_DURATION = re.compile(r"\b(hours|days|weeks|months|years)\s+(?:away|later|from now|ago|off)\b", re.IGNORECASE)
_ADJECTIVE_ENDINGS = ("ian", "ese", "ish", "ern", "al")
_BOUND_BEFORE = re.compile(
    r"\b(?:(?P<min>more than|over|at least|upwards of|in excess of|no fewer than|no less than)"
    r"|(?P<max>nearly|almost|fewer than|less than|under|up to|at most|no more than)"
    r"|(?P<about>about|around|roughly|approximately|some|an estimated|estimated|close to))\s+$",
    re.IGNORECASE,
)
_BOUND_LAST_WORDS = frozenset(  # the last word of every phrase _BOUND_BEFORE knows
    [
        "than",
        "over",
        "least",
        "of",
        "under",
        "to",
        "most",
        "nearly",
        "almost",
        "about",
        "around",
        "roughly",
        "approximately",
        "some",
        "estimated",
    ]
)
_CLOCK = re.compile(r":\d\d|\s*[ap]\.m\.", re.I)
# a number right after a month ("Sept. 11", "October 21") is a date, after "No." a rank: not quantities
_NOT_A_COUNT_BEFORE = re.compile(
    r"(?:\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?|\bNo\.|\bNos\.|#)\s*$"
)
_UNIT_STOP = frozenset(
    [
        "and",
        "or",
        "but",
        "the",
        "a",
        "an",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "was",
        "were",
        "is",
        "are",
        "has",
        "have",
        "had",
        "said",
        "from",
        "up",
        "down",
        "since",
        "per",
        "as",
        "than",
        "after",
        "before",
        "over",
        "under",
        "into",
        "about",
        "more",
        "less",
        "each",
        "while",
        "when",
        "during",
        "between",
        "among",
        "through",
        "that",
        "who",
        "which",
    ]
)


@dataclass(frozen=True)
class Quantity:
    value: float
    text: str  # as written: "18 civilians", "two weeks"
    unit: str | None  # what it counts: "civilians", "weeks"
    span: tuple[int, int]  # in the article
    bound: str | None = None  # "min" (more than, at least), "max" (nearly, fewer than), "about", or exact


def _last_word(text: str) -> str:
    """The letters ending ``text`` (trailing spaces ignored), lower-cased: "(about " → "about"."""
    text = text.rstrip()
    start = len(text)
    while start and text[start - 1].isalpha():
        start -= 1
    return text[start:].lower()


_NUMBER_START = re.compile(r"[$€£¥\d]")  # where a digits-only match can begin


def _digit_matches(sentence: str) -> Iterator[re.Match[str]]:
    """``_NUMBER_DIGITS_ONLY.finditer(sentence)``, tried only where a currency sign or a digit
    stands (the same matches: every match begins with one, and the lookbehind still sees the
    text before the position tried)."""
    at = _NUMBER_START.search(sentence)
    while at is not None:
        match = _NUMBER_DIGITS_ONLY.match(sentence, at.start())
        if match:
            yield match
        at = _NUMBER_START.search(sentence, match.end() if match else at.start() + 1)


def find_numbers(sentence: str, offset: int, words: frozenset[str] | None = None) -> tuple[Quantity, ...]:
    """``words``: the sentence's lower-cased ASCII words when the caller has them already."""
    out: list[Quantity] = []
    lowered = sentence.lower()
    words = frozenset(LOWER_WORDS.findall(lowered)) if words is None else words
    spelled = not words.isdisjoint(_NUMBER_WORD_SET) or "a few" in lowered
    if not spelled and not _HAS_DIGIT.search(sentence) and words.isdisjoint(_DURATION_WORDS):
        return ()  # cheap exit: no digit, number word or duration
    for match in _NUMBER.finditer(sentence) if spelled else _digit_matches(sentence):
        raw = match.group("num").lower()
        window = sentence[max(0, match.start() - 12) : match.start()]
        if raw[0].isdigit() and (
            ((window.lower() != window or "#" in window) and _NOT_A_COUNT_BEFORE.search(window))
            or _CLOCK.match(sentence, match.end("num"))
            or sentence[max(0, match.start() - 1) : match.start()] == ":"
        ):
            continue  # a date, a rank or a time of day
        value = float(raw.replace(",", "")) if raw[0].isdigit() else float(_NUMBER_WORDS[raw])
        if match.group("scale"):
            value *= _SCALE[match.group("scale").lower()]
        unit, end = match.group("unit"), match.end("scale") if match.group("scale") else match.end("num")
        if unit:
            unit_words = unit.split()  # one or two words of [\w-], the group ends with the last
            chosen, chosen_end = unit_words[0], len(unit_words[0])  # the noun after the number: "18 civilians"
            if len(unit_words) == 2 and (chosen[0].isupper() or chosen.lower().endswith(_ADJECTIVE_ENDINGS)):
                chosen, chosen_end = unit_words[1], len(unit)  # "18 Ukrainian civilians"
            if chosen.lower() in _UNIT_STOP:
                unit = None
            else:
                unit, end = chosen.lower(), match.start("unit") + chosen_end
        if match.group("hunit"):  # "35-word oath", "43-year-old", "234-mile"
            unit, end = match.group("hunit").lower(), match.end("hunit")
        scale = (match.group("scale") or "").lower()
        if scale in ("percent", "%"):
            unit = "percent"
        elif match.group("cur"):
            unit = {"$": "dollars", "€": "euros", "£": "pounds", "¥": "yen"}[match.group("cur")]
            end = match.end("scale") if match.group("scale") else match.end("num")
        if raw.isdigit() and len(raw) == 4 and 1900 <= int(raw) <= 2100 and not unit:
            unit = "year"
        before = sentence[max(0, match.start() - 24) : match.start()]
        found = None
        if before[-1:].isspace() and _last_word(before) in _BOUND_LAST_WORDS:
            found = _BOUND_BEFORE.search(before)  # only when the word before could end a bound phrase
        bound = found.lastgroup if found else None
        out.append(Quantity(value, sentence[match.start() : end], unit, (offset + match.start(), offset + end), bound))
    for match in (
        _BARE_DURATION.finditer(sentence) if words & _DURATION_WORDS else ()
    ):  # "days away": an unstated number, counted as 2
        if not any(q.span[0] <= offset + match.start() < q.span[1] for q in out):
            span = (offset + match.start(), offset + match.end())
            out.append(Quantity(2.0, match.group(), match.group(1).lower(), span))
    return tuple(out)
