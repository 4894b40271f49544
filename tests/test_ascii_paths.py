"""The ASCII forms of the compare patterns find exactly what their Unicode or case-insensitive
forms find, on real text in many languages: they are only a faster way to the same answers."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from storydiff.compare import align, claims, entities, evidence, polarity
from storydiff.compare.claims import split_sentences
from storydiff.compare.features import ascii_letters

# the patterns as they were written before their fast forms (the reference)
NAME = re.compile(r"(?<![\w’'])(?:[A-Z][\w’'-]+|[A-Z]\.)(?:\s+(?:(?:of|de|van|von|al)\s+)?[A-Z][\w’'-]+){0,4}")
POLARITY_NAME = re.compile(r"(?<![\w’'])[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*")
PERSON = re.compile(rf"(?<![\w.])(?:{entities._CAP}|[A-Z]\.)(?:\s+(?:{entities._CAP}|[A-Z]\.))+")

TRICKY = [
    "İstanbul talks were cancelled, Erdoğan said",  # lower-casing İ adds a character
    "Der Kelvin-Wert \u212a stieg; ſo sagte er",  # letters a case-insensitive "k" and "s" also match
    "The accordıng to line",  # dotless ı
    "McDonald’s X",
    "l'Oréal A",
    "O'Neil Bob",
    "aB C",
    "A. Smith",
    "A.B. C",
    "É. Zola Émile",
    "Ángel Di María met Ivo",
    ".A B",
    "x.Éa B",
    "ÀB C. D",
    "“The summit is off,” Lavrov said — “no meeting.”",
    "٣ jours, ² and ﬁne e\u0301x",
    "",
]


@pytest.fixture(scope="module")
def sentences(shared_data: Path) -> list[str]:
    out = list(TRICKY)
    for path in sorted((shared_data / "basil-dev" / "articles").glob("*/*.json"))[:90]:
        paragraphs = json.loads(path.read_text(encoding="utf-8"))["body-paragraphs"]
        text = "\n".join(" ".join(p) if isinstance(p, list) else str(p) for p in paragraphs)
        out += [s for s, _, _ in split_sentences(text)]
    for path in sorted((shared_data / "rss-feeds-real").rglob("*.*")):  # Japanese, Italian, Portuguese, …
        text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8", errors="replace"))
        out += [s for s, _, _ in split_sentences(text)]
    csv.field_size_limit(1 << 26)
    with (shared_data / "fnc-1" / "train_bodies.csv").open(encoding="utf-8") as handle:
        for n, row in enumerate(csv.reader(handle)):
            if n > 400:
                break
            out += [s for s, _, _ in split_sentences(row[1])]
    assert sum(not ascii_letters(s) for s in out) > 500  # the slow path is exercised too
    assert sum(ascii_letters(s) and not s.isascii() for s in out) > 200  # typographic quotes, dashes
    return out


def spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


def test_name_patterns_find_the_same_spans(sentences: list[str]) -> None:
    for text in sentences:
        assert spans(claims._NAME, text) == spans(NAME, text), text
        assert spans(polarity._NAME, text) == spans(POLARITY_NAME, text), text
        assert spans(entities._PERSON, text) == spans(PERSON, text), text


def test_word_lists_are_the_unicode_ones(sentences: list[str]) -> None:
    for text in sentences:
        lowered = text.lower()
        assert align._words(lowered) == align._WORD.findall(lowered), text
        assert evidence.words(text) == evidence.WORDS.findall(text), text
        assert evidence.norm(text) == " ".join(w.lower() for w in evidence.WORDS.findall(text.replace("’", "'")))


def test_event_predicates_read_from_the_lower_cased_text(sentences: list[str]) -> None:
    found = 0
    for text in sentences:
        if ascii_letters(text):
            lowered = text.lower()
            assert len(lowered) == len(text)
            assert spans(polarity._PREDICATE_LOWER, lowered) == spans(polarity._PREDICATE, text), text
            assert spans(polarity._EVENT_LOWER, lowered) == spans(polarity._EVENT, text), text
            found += bool(polarity._PREDICATE.search(text))
    assert found > 100
    assert not ascii_letters("İstanbul") and not ascii_letters("ſo") and not ascii_letters("\u212a")
