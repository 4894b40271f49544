"""Text features for story clustering (pure): tokens, online document frequencies, and an
online-learned notion of which tokens are names (capitalised inside sentence-case text)."""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

WORD_CACHE = 1 << 17  # entries of each per-word table (stems, rarity): bounded in a long-running worker
# entries of each per-text cache (a claim's masked stems, its quote's words, its negation profile):
# what one report reads again (a claim's text recurs in many pairs; at most ~800 distinct texts per
# cache for a story of 40 outlets × 60 sentences) and the stories recomputed lately — not months of
# texts: an entry holds its text and its result, 0.2–3.3 KB, so 65,536 of them cost 13–210 MB a cache
TEXT_CACHE = 4096

# common non-ASCII marks that are not letters (typographic quotes, dashes, currency signs)
_TYPOGRAPHY = str.maketrans("", "", "“”‘’–—…«»•·€£")


def ascii_letters(text: str) -> bool:
    """Every letter of the text is an ASCII one (the rest may be typography). Then lower-casing
    keeps every offset, and a case-insensitive or Unicode-class pattern finds what its plain ASCII
    form finds in the lower-cased text — the form the regex engine runs several times faster."""
    return text.isascii() or text.translate(_TYPOGRAPHY).isascii()


# function words: what every comparison ignores (the paraphrase model is fitted with exactly these)
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "said",
        "says",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "with",
    ]
)
# pronouns, auxiliaries and modals: no help in telling which story or which fact a text is about
COMMON_WORDS = frozenset(
    [
        "also",
        "being",
        "could",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "may",
        "might",
        "no",
        "not",
        "our",
        "say",
        "she",
        "than",
        "their",
        "then",
        "these",
        "they",
        "those",
        "we",
        "will",
        "would",
        "you",
        "your",
    ]
)
# clustering also drops words that say nothing about which story an article belongs to
STOPWORDS = (
    FUNCTION_WORDS
    | COMMON_WORDS
    | frozenset(
        [
            "about",
            "after",
            "all",
            "amid",
            "any",
            "before",
            "can",
            "da",
            "de",
            "down",
            "how",
            "if",
            "into",
            "just",
            "la",
            "le",
            "more",
            "most",
            "must",
            "new",
            "now",
            "off",
            "one",
            "out",
            "over",
            "per",
            "so",
            "two",
            "under",
            "up",
            "via",
            "vs",
            "what",
            "when",
            "where",
            "who",
            "why",
        ]
    )
)
_RAW = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


def stem(word: str) -> str:
    """Light English stemming: possessives and plurals only (keeps names readable)."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    return [s for w in _RAW.findall(text.lower()) if (s := stem(w)) not in STOPWORDS and len(s) > 1]


class NameStats:
    """Counts how often each token appears capitalised inside sentence-case text (title-case
    headlines say nothing about names and are ignored). Tokens nearly always capitalised there
    are names of people, places and organisations."""

    def __init__(self) -> None:
        self.capitalised: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()

    def observe(self, text: str) -> None:
        words = _RAW.findall(text)
        if len(words) < 3 or sum(w[0].isupper() for w in words) / len(words) > 0.6:
            return
        for word in words[1:]:
            token = stem(word.lower())
            self.seen[token] += 1
            self.capitalised[token] += word[0].isupper()

    def is_name(self, token: str) -> bool:
        seen = self.seen[token]
        return seen >= 2 and self.capitalised[token] >= 0.8 * seen


@lru_cache(maxsize=WORD_CACHE)
def _english_zipf(word: str) -> float:
    """A word's frequency in general English (Zipf scale), once per word: every bigram asks again
    for its two parts (``compare.zipf``: a mapped table, wordfreq itself only for words with digits)."""
    from storydiff.compare.zipf import zipf

    return zipf(word)


class DocFrequencies:
    """Online document frequencies blended with a prior of ``prior_docs`` background documents
    whose word frequencies are those of general English (wordfreq). On a short stream (a fresh
    install, a restart) generic words like "early" or "summer" are then already known to be
    common, while names stay rare; as the stream grows, observed counts dominate."""

    def __init__(self, prior_docs: int = 1000, words_per_doc: int = 30) -> None:
        self.df: Counter[str] = Counter()
        self.docs = prior_docs
        self.prior_docs = prior_docs
        self.words_per_doc = words_per_doc
        self._prior: dict[str, float] = {}

    def add(self, features: set[str]) -> None:
        self.docs += 1
        self.df.update(features)

    def _background(self, feature: str) -> float:
        cached = self._prior.get(feature)
        if cached is None:
            share = 1.0
            for part in feature.split("_"):  # a bigram is as rare as its parts together
                share *= min(1.0, self.words_per_doc * 10 ** (_english_zipf(part) - 9))
            cached = self._prior[feature] = self.prior_docs * share
        return cached

    def idf(self, feature: str) -> float:
        return math.log((self.docs + 1) / (self.df[feature] + self._background(feature) + 0.5))
