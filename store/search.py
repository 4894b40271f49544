"""Story search: the terms a story is found by (pure) and the ranked query over ``story_terms``.

A story's terms come from its title, its members' titles and leads (the first ``LEAD_CHARS`` of the
newest version's summary), the names in those leads and its outlets' names. A term is a folded word
(lowercase, accents removed, possessive and plural stripped: "Lavrov's" → ``lavrov``,
"ministers'" → ``minister``) or a phrase of two adjacent words (``~sergei lavrov``) taken from
titles, outlet names and the capitalised names of leads. Each (story, term) row carries an integer
weight: a field-weighted presence count, saturated the BM25 way (see ``term_weight``). A query ranks
by Σ idf(word) × weight over its words — every word is required, the last one may be a prefix, and
two adjacent query words that form an indexed phrase add their phrase's score.

Everything is integer arithmetic in plain SQL on one B-tree (``term``, ``story_id``), so SQLite and
PostgreSQL give the same ranking and the keyset cursor compares exact values. The index is written
by ``compare/search_index.py`` (whenever the clusterer or a report changes a story) and backfilled by
migration 0005; this module only reads it."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Subquery, and_, bindparam, func, select
from sqlalchemy.orm import Session

from storydiff.errors import InvalidInput
from storydiff.store.models import Story, StoryTerm

# Words a search ignores: articles, prepositions, conjunctions, pronouns and forms of "be"/"have".
# Deliberately not compare/features.py's lists: people search for "may" (the month), "new", "two",
# "will", "said"; clustering and alignment drop those.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "did",
        "do",
        "does",
        "doing",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "nor",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "with",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)
STORY_TITLE, MEMBER_TITLE, LEAD, NAME, OUTLET = 3.0, 2.0, 1.0, 0.5, 1.0  # field weights (NAME: extra on LEAD)
K1 = 1.2  # BM25 saturation
SCALE = 1000  # weights are integers: round(SCALE × saturated field score)
IDF_SCALE = 100
LEAD_CHARS = 500
MAX_TERM = 48  # characters of a word term (longer words are cut); a phrase term fits in 100
MAX_QUERY_WORDS = 10
PHRASE = "~"  # phrase terms start with it: never inside a word's prefix range
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”«»„|/]|\s[-–—]+\s|\s['‘’]|['‘’]\s")  # a phrase never spans these
_SENTENCE_END = re.compile(r"[.!?…]")
_DOTTED = re.compile(r"\b((?:[^\W\d_]\.){2,})(?!\w)")  # U.S. → US, U.N. → UN


_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})


def fold(word: str) -> str:
    """Lowercase, accents removed (NFKD without combining marks; ø, æ, ł … by hand), apostrophes dropped."""
    if word.isascii():
        return word.lower().replace("'", "")
    decomposed = unicodedata.normalize("NFKD", word.casefold().translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c) and c not in "'’")


@lru_cache(maxsize=1 << 16)
def _forms(word: str) -> tuple[str, str]:
    """(term, bare) of a word as written: bare is folded with the possessive cut, term also unpluralised."""
    bare = fold(word[:-2] if word.endswith(("'s", "’s", "'S", "’S")) else word)[:MAX_TERM]
    if len(bare) > 4 and bare.endswith("ies") and bare[-4] not in "aeiou":
        return bare[:-3] + "y", bare
    if len(bare) > 3 and bare.endswith("s") and not bare.endswith(("ss", "us", "is")):
        return bare[:-1], bare
    return bare, bare


def normalise(word: str) -> str:
    """The term of one word: folded, possessive and plural stripped ("Lavrov's" → lavrov)."""
    return _forms(word)[0]


@dataclass(frozen=True)
class Token:
    term: str
    raw: str  # folded, possessive stripped, not stemmed: the prefix of an unfinished last query word
    capital: bool  # written with a capital first letter
    initial: bool  # first word of a sentence
    segment: int  # tokens of one segment may form phrases


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` in order, with case and position; stop words leave a gap (names break there,
    phrases bridge it), one-letter words are dropped."""
    text = _DOTTED.sub(lambda m: m.group().replace(".", ""), text)
    out: list[Token] = []
    segment = 0
    last_end = 0
    for match in _TOKEN.finditer(text):
        between = text[last_end : match.start()]
        if out and _BREAK.search(between):
            segment += 1
        initial = last_end == 0 or bool(_SENTENCE_END.search(between))
        last_end = match.end()
        raw = match.group()
        term, bare = _forms(raw)
        if term in STOP_WORDS or bare in STOP_WORDS:
            out.append(Token("", "", raw[0].isupper(), initial, segment))
        elif len(term) > 1 or term.isdigit():
            out.append(Token(term, bare, raw[0].isupper(), initial, segment))
    return out


def _words(tokens: Sequence[Token]) -> list[Token]:
    return [t for t in tokens if t.term]


def phrases(tokens: Sequence[Token]) -> list[str]:
    """Adjacent word pairs of one segment (stop words skipped): "Secretary of State" → ~secretary state."""
    words = _words(tokens)
    return [f"{PHRASE}{a.term} {b.term}" for a, b in pairwise(words) if a.segment == b.segment]


def _title_case(tokens: Sequence[Token]) -> bool:
    """Headline-style capitals (most words after the first of a sentence, stop words included)."""
    inner = [t for t in tokens if not t.initial and not (t.term or "x").isdigit()]
    return len(inner) >= 3 and sum(t.capital for t in inner) >= 0.75 * len(inner)


def names(tokens: Sequence[Token]) -> tuple[set[str], list[str]]:
    """Capitalised names of sentence-case text: their words and their word pairs ("Sergei Lavrov").
    A run of capitalised words is a name; a single capitalised word only inside a sentence."""
    if _title_case(tokens):
        return set(), []
    words: set[str] = set()
    pairs: list[str] = []
    run: list[Token] = []

    def flush() -> None:
        if len(run) >= 2 or (run and not run[0].initial):
            words.update(t.term for t in run)
            pairs.extend(f"{PHRASE}{a.term} {b.term}" for a, b in pairwise(run))
        run.clear()

    for t in tokens:
        if t.term and t.capital and (not run or run[-1].segment == t.segment):
            run.append(t)
        else:
            flush()
            if t.term and t.capital:
                run.append(t)
    flush()
    return words, pairs


@dataclass(frozen=True)
class Member:
    """What a story's member article contributes: its newest title and lead, and its outlet."""

    title: str
    lead: str
    outlet: str


def term_weight(score: float) -> int:
    """BM25 saturation of a field-weighted score, as an integer: 1.0 (one lead) → 1000, ∞ → 2200."""
    return round(SCALE * score * (K1 + 1) / (score + K1))


def story_terms(title: str, members: Sequence[Member]) -> dict[str, int]:
    """The weighted terms of a story. A term scores STORY_TITLE if it is in the story's title, plus, per
    member whose title / lead has it, MEMBER_TITLE / LEAD (NAME more when the lead names it), divided by
    √members (a story is about what most of its members say, not what one of forty mentions), plus
    OUTLET if an outlet's name has it; ``term_weight`` saturates the sum."""
    score: dict[str, float] = defaultdict(float)
    for term in set(_terms_and_phrases(tokenize(title))):
        score[term] += STORY_TITLE
    per_member: dict[str, float] = defaultdict(float)
    outlets: set[str] = set()
    for m in members:
        for term, value in _member_terms(m.title, m.lead):
            per_member[term] += value
        outlets.add(m.outlet)
    norm = math.sqrt(len(members)) or 1.0
    for term, value in per_member.items():
        score[term] += value / norm
    for name in outlets:
        for term in set(_terms_and_phrases(tokenize(name))):
            score[term] += OUTLET
    return {term: term_weight(value) for term, value in score.items()}


@lru_cache(maxsize=2048)
def _member_terms(title: str, lead: str) -> tuple[tuple[str, float], ...]:
    """One member's terms and their weight before the story's normalisation (pure; cached: a story is
    indexed when clustered and again with its report, and wire copies repeat their original)."""
    found: dict[str, float] = {}
    for term in _terms_and_phrases(tokenize(title)):
        found[term] = MEMBER_TITLE
    lead_tokens = tokenize(_lead(lead))
    name_words, name_pairs = names(lead_tokens)
    for t in _words(lead_tokens):
        found[t.term] = found.get(t.term, 0.0) + LEAD + (NAME if t.term in name_words else 0.0)
    for pair in set(name_pairs):
        found[pair] = found.get(pair, 0.0) + LEAD + NAME
    return tuple(found.items())


def _terms_and_phrases(tokens: Sequence[Token]) -> list[str]:
    return [t.term for t in _words(tokens)] + phrases(tokens)


def _lead(text: str) -> str:
    if len(text) <= LEAD_CHARS:
        return text
    cut = text[:LEAD_CHARS]
    return cut[: cut.rfind(" ")] if " " in cut else cut


@dataclass(frozen=True)
class Query:
    """A parsed search: the words (terms) every hit must have, the last word's prefix, the phrases."""

    words: tuple[str, ...]
    prefix: tuple[str, str] | None  # (word, prefix): the last word typed, and its folded unstemmed form
    phrases: tuple[str, ...]

    @property
    def key(self) -> str:
        """Short fingerprint, so a relevance cursor is refused by another search."""
        raw = "\n".join([*self.words, *(self.prefix or ()), *self.phrases])
        return hashlib.sha1(raw.encode()).hexdigest()[:10]


def parse_query(q: str) -> Query:
    """The search words of ``q``; InvalidInput when none is left or there are too many."""
    tokens = tokenize(q)
    words = list(dict.fromkeys(t.term for t in _words(tokens)))
    if not words:
        if _TOKEN.search(q):
            raise InvalidInput(
                f"q {q.strip()!r} has only common words (like 'the', 'of', 'and') that search ignores; "
                "add a name, a place or a topic"
            )
        raise InvalidInput(f"q {q.strip()!r} has no words to search for; use letters or digits")
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(f"q has {len(words)} search words; use at most {MAX_QUERY_WORDS}")
    last = tokens[-1]
    # the last word may be unfinished ("lavr"): it matches by prefix when it matches no term as typed
    prefix = (last.term, last.raw) if last.term and len(last.raw) >= 3 else None
    return Query(tuple(words), prefix, tuple(dict.fromkeys(phrases(tokens))))


def idf(stories: int, df: int) -> int:
    """BM25's idf, as an integer (×IDF_SCALE, at least 1)."""
    return max(1, round(IDF_SCALE * math.log(1 + (stories - df + 0.5) / (df + 0.5))))


def _next_string(prefix: str) -> str:
    """The smallest string after every string starting with ``prefix`` (code-point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _count(session: Session, stmt: Select[Any]) -> int:
    return int(session.scalar(stmt) or 0)


def matches(session: Session, query: Query) -> Subquery:
    """(story_id, score) of every story that has all the query's words, scored for ranking.

    A word's score is idf × weight. The last word, when it matches nothing as typed, matches by
    prefix ("lavr" → lavrov) at half weight, with the idf of everything the prefix matched. A phrase
    of two adjacent query words that is indexed adds its own idf × weight. The number of stories in
    idf is the highest story id (one index lookup; merged-away ids make it a slight overestimate).
    All integers: both databases compute the same exact score."""
    stories = _count(session, select(func.max(Story.id)))
    wanted = [*query.words, *query.phrases]
    df: dict[str, int] = {
        term: int(n)
        for term, n in session.execute(
            select(StoryTerm.term, func.count()).where(StoryTerm.term.in_(wanted)).group_by(StoryTerm.term)
        )
    }
    parts: list[tuple[Subquery, int]] = []
    for n, word in enumerate(query.words):
        found = df.get(word, 0)
        rows = select(StoryTerm.story_id, StoryTerm.weight.label("weight")).where(StoryTerm.term == word)
        if found == 0 and query.prefix and query.prefix[0] == word:
            start, end = query.prefix[1], _next_string(query.prefix[1])
            # binary collation on both databases: the range is exactly the terms starting with the prefix
            match = and_(StoryTerm.term >= start, StoryTerm.term < end)
            found = _count(session, select(func.count(func.distinct(StoryTerm.story_id))).where(match))
            rows = select(StoryTerm.story_id, func.max(StoryTerm.weight // 2).label("weight")).where(match)
            rows = rows.group_by(StoryTerm.story_id)
        parts.append((rows.subquery(f"w{n}"), idf(stories, found)))
    optional: list[tuple[Subquery, int]] = []
    for n, phrase in enumerate(query.phrases):
        if df.get(phrase):
            rows = select(StoryTerm.story_id, StoryTerm.weight.label("weight")).where(StoryTerm.term == phrase)
            optional.append((rows.subquery(f"p{n}"), idf(stories, df[phrase])))
    first = parts[0][0]
    score: ColumnElement[int] = first.c.weight * bindparam("idf_w0", parts[0][1], Integer)
    for n, (sub, factor) in enumerate(parts[1:], start=1):
        score = score + sub.c.weight * bindparam(f"idf_w{n}", factor, Integer)
    for n, (sub, factor) in enumerate(optional):
        score = score + func.coalesce(sub.c.weight * bindparam(f"idf_p{n}", factor, Integer), 0)
    stmt = select(first.c.story_id.label("story_id"), score.label("score")).select_from(first)
    for sub, _ in parts[1:]:
        stmt = stmt.join(sub, sub.c.story_id == first.c.story_id)
    for sub, _ in optional:
        stmt = stmt.outerjoin(sub, sub.c.story_id == first.c.story_id)
    return stmt.subquery("hits")
