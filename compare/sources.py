"""Who is speaking (pure): a source's identity across one story's articles.

A source is named ("Kremlin spokesman Dmitry Peskov" → "peskov") or described by its role ("a
senior White House official" → "official"). Junk that the speaker patterns catch ("She went",
"The New York Times has not independently", "first") is no source. Two keys are one person when
they are equal after folding accents, or when some sentence of the story sets them side by side
("his lawyer, Aitan Goelman"; "White House spokesman Josh Earnest"): the story's alias table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from itertools import pairwise

from rapidfuzz.distance import Levenshtein

from storydiff.compare.features import COMMON_WORDS, FUNCTION_WORDS, TEXT_CACHE

ROLE_NOUNS = frozenset(
    [
        "service",
        "authorities",
        "authority",
        "council",
        "commission",
        "board",
        "union",
        "party",
        "group",
        "organization",
        "company",
        "firm",
        "newspaper",
        "station",
        "network",
        "channel",
        "institute",
        "foundation",
        "spokesmen",
        "official",
        "officials",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "spokespeople",
        "lawyer",
        "lawyers",
        "attorney",
        "attorneys",
        "aide",
        "aides",
        "adviser",
        "advisers",
        "advisor",
        "source",
        "sources",
        "statement",
        "ministry",
        "department",
        "agency",
        "police",
        "prosecutor",
        "prosecutors",
        "investigators",
        "officer",
        "officers",
        "representative",
        "representatives",
        "analyst",
        "analysts",
        "expert",
        "experts",
        "witness",
        "witnesses",
        "campaign",
        "government",
        "administration",
        "office",
        "committee",
        "embassy",
        "military",
        "army",
        "court",
        "judge",
        "family",
    ]
)
# capitalised words that begin a sentence or name a time, never a source
NOT_SOURCES = (
    FUNCTION_WORDS
    | COMMON_WORDS
    | frozenset(
        [
            "after",
            "all",
            "another",
            "april",
            "august",
            "before",
            "both",
            "december",
            "even",
            "false",
            "february",
            "first",
            "friday",
            "here",
            "if",
            "january",
            "july",
            "june",
            "just",
            "let's",
            "lets",
            "many",
            "march",
            "monday",
            "most",
            "my",
            "never",
            "november",
            "october",
            "only",
            "other",
            "out",
            "saturday",
            "september",
            "so",
            "some",
            "still",
            "sunday",
            "there",
            "thursday",
            "time",
            "today",
            "tonight",
            "true",
            "tuesday",
            "up",
            "wednesday",
            "what",
            "when",
            "which",
            "while",
            "who",
            "yesterday",
        ]
    )
)
_WORD = re.compile(r"[\w’'.-]+")
_POSSESSIVE = re.compile(r"['’]s\b")
NEAR = 6  # words apart for two source names to be set side by side in one sentence


def fold(text: str) -> str:
    """Lower-case without accents or possessives: "Sánchez’s" → "sanchez"."""
    plain = text if text.isascii() else unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"['’]s$", "", plain.lower()).strip(".,;:")


def _skeleton(name: str) -> str:
    """A name's consonants as transliterations share them: "Mashnuq" / "Machnouk" → "msnk",
    "Qaddafi" / "Gadhafi" → "kdf" ("Kerris" / "Harris", "Johnson" / "Johnston" stay apart)."""
    word = re.sub(r"[csz]h", "s", fold(name)).replace("kh", "k").replace("ph", "f")
    word = re.sub(r"[aeiouyhw]", "", re.sub("[qcg]", "k", word).replace("z", "s"))
    return re.sub(r"(.)\1+", r"\1", word)


def transliterated(a: str, b: str) -> bool:
    """Two spellings of one name from another script ("Mashnuq" / "Machnouk"): same consonants, in order."""
    if a == b or min(len(a), len(b)) < 5 or not (a.isalpha() and b.isalpha()):
        return a == b
    skeleton = _skeleton(a)
    return len(skeleton) >= 3 and skeleton == _skeleton(b)


def misspelt(a: str, b: str) -> bool:
    """One surname with a letter slipped, dropped or added ("Oberholtzer" / "Olberholtzer", "Gohel" /
    "Cohel"): given as the source of one statement, one person, not two. Names of five letters or
    more only ("Ross" / "Rose" may be two people)."""
    return (
        a != b
        and min(len(a), len(b)) >= 5
        and a.isalpha()
        and b.isalpha()
        and Levenshtein.distance(fold(a), fold(b), score_cutoff=1) <= 1
    )


@lru_cache(maxsize=TEXT_CACHE)
def source_key(speaker: str | None) -> str | None:
    """The identity of a source string, or None when it names nobody (junk or absent)."""
    if not speaker:
        return None
    speaker = re.split(r"\s+(?:in|at|for|from|with|on|during)\s+", speaker)[0]  # "officials in New York City"
    words = [w for w in _WORD.findall(speaker) if w.strip(".-")]
    if not words or len(words) > 8:
        return None
    last = words[-1]
    key = fold(last)
    if not key or key in NOT_SOURCES or not key[0].isalpha():
        return None
    if last[0].isupper():
        return key
    return _singular(key) if key in ROLE_NOUNS else None


def _singular(noun: str) -> str:
    """A role noun in the singular: "officials" → "official", "witnesses" → "witness" ("witness",
    "news" and "press" are not plurals)."""
    if noun.endswith("sses"):
        return noun[:-2]
    if noun.endswith(("ss", "news")) or not noun.endswith("s"):
        return noun
    return noun[:-1]


# the last word of a news medium's name: a medium relays what someone said ("…, he said,
# according to CNN"), it is not the speaker
MEDIA = frozenset(
    ["abc", "afp", "ap", "axios", "bbc", "beacon", "bloomberg", "buzzfeed", "cbs", "chronicle", "cnn", "examiner",
     "express", "fox", "gazette", "guardian", "herald", "huffpost", "independent", "insider", "journal", "magazine",
     "mail", "mailonline", "metro", "mirror", "msnbc", "nbc", "news", "newspaper", "newsweek", "observer", "politico",
     "post", "record", "reuters", "scotsman", "standard", "star", "sun", "tabloid", "telegraph", "times", "tmz",
     "tribune"]
)  # fmt: skip


# described people who speak for a body ("a police spokesman", "an officer", "an official"): two such
# descriptions may be one person, or two voices of one body; unlike two bodies ("the fire service",
# "the civil protection office") they credit no one else
SPOKESPEOPLE = frozenset(
    ["spokesman", "spokeswoman", "spokesperson", "spokespeople", "spokesmen", "official", "officer", "source",
     "aide", "representative", "statement"]
)  # fmt: skip


def is_medium(key: str | None) -> bool:
    """A source key that names a news medium ("the Daily Mirror" → "mirror")."""
    return key in MEDIA


def _key_in(word: str, wanted: AbstractSet[str], roles: Sequence[str]) -> str | None:
    """The source key a word of a sentence stands for: itself, or the role noun a compound ends
    with ("eyewitness" → "witness")."""
    if word in wanted:
        return word
    bare = _singular(word)  # (a role's key is singular: "eyewitnesses" holds "witness")
    return next((r for r in roles if len(bare) > len(r) + 2 and bare.endswith(r)), None)


def is_named(key: str | None) -> bool:
    """A named source (a person or a body by name), not a described one ("an official")."""
    return key is not None and key not in ROLE_NOUNS and key.removesuffix("s") + "s" not in ROLE_NOUNS


class Aliases:
    """One story's alias table: source keys that some sentence sets side by side are one source.
    A described source's role noun stands in the compound words that hold it as well: "an
    eyewitness, Aamir Dhawan," makes "a witness" elsewhere in the story possibly Dhawan."""

    def __init__(self, texts: Iterable[str], keys: Iterable[str]) -> None:
        wanted = set(keys)
        self.parent = {k: k for k in wanted}
        roles = sorted(k for k in wanted if not is_named(k) and len(k) >= 4)  # (compounds: "eyewitness")
        for text in texts:
            lowered = text.lower()
            if not lowered.isascii():
                lowered = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode()
            if sum(k in lowered for k in wanted) < 2:
                continue  # fewer than two names: nothing to join (cheap, before tokenising)
            plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
            folded = [w.strip(".,;:") for w in _WORD.findall(_POSSESSIVE.sub("", plain))]
            spots = [(i, key) for i, w in enumerate(folded) if (key := _key_in(w, wanted, roles))]
            for (i, a), (j, b) in pairwise(spots):
                if a != b and j - i <= NEAR and self._apposed(folded[i : j + 1]):
                    self.parent[self.root(a)] = self.root(b)

    @staticmethod
    def _apposed(words: list[str]) -> bool:
        """No clause between the two names: no verb of speech or conjunction separating two people."""
        return not any(w in ("and", "or", "said", "says", "told", "but", "while", "with", "against") for w in words)

    def root(self, key: str) -> str:
        while self.parent.setdefault(key, key) != key:
            key = self.parent[key]
        return key

    def same(self, a: str, b: str) -> bool:
        return a == b or self.root(a) == self.root(b)
