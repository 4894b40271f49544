"""What a divergence is made of (pure): accounts, evidence spans, divergences, and a view of
one story's claims that the checks in ``compare.checks`` and ``compare.diverge`` share."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import numpy as np

from storydiff.compare.align import Alignment, ClaimRef
from storydiff.compare.claims import Claim
from storydiff.compare.features import ascii_letters
from storydiff.compare.samefact import LexicalScorer, cut, find_spans, semantic_to_scale, story_weights
from storydiff.compare.sources import Aliases, source_key

SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
WORDS = re.compile(r"[\w’'-]+")  # words of claims and quotes, for the divergence checks
_ASCII_WORDS = re.compile(r"[A-Za-z0-9_’'-]+")  # WORDS in a text of ASCII letters (features.ascii_letters)


def words(text: str) -> list[str]:
    """``WORDS.findall(text)``."""
    return (_ASCII_WORDS if ascii_letters(text) else WORDS).findall(text)


@dataclass(frozen=True)
class Account:
    """One outlet's account of the story: the claims of its article text."""

    outlet: str
    claims: tuple[Claim, ...]
    copy_of: int | None = None  # index of the account whose text this one reproduces
    published: datetime | None = None  # when the account's article was published


@dataclass(frozen=True)
class Evidence:
    account: int
    claim: int
    span: tuple[int, int]  # the claim in its article text
    marks: tuple[tuple[int, int], ...]  # the differing words (number, quote words, source, term)
    value: str  # what this account says: "18 civilians", the quote, the source, "halted", …


@dataclass(frozen=True)
class Divergence:
    type: str
    severity: str
    accounts: tuple[int, ...]
    evidence: tuple[Evidence, ...]
    summary: str
    group: int | None = None  # index into the alignment's groups
    diff: tuple[tuple[str, str, str], ...] = field(default=())  # quote: (op, words a, words b)
    # omission / exclusive: ranks the items of one outlet's fold, the larger first — (1 unless the
    # exclusive's fact is in the lead of its article (then 0), 1 unless a sentence of another voice
    # is loosely like it (then 0), how many of the fact's names and numbers the voices said to lack
    # it never mention anywhere, marked ones: not by their own words either, every one)
    salience: tuple[int, int, int, int] = field(default=(1, 1, 0, 0), compare=False)

    @cached_property  # (frozen: computed once; read by the report, the store and the judged eval)
    def fingerprint(self) -> str:
        parts = [self.type, *sorted(f"{e.account}:{norm(e.value)}" for e in self.evidence)]
        if self.type in ("omission", "exclusive"):  # their value is only "carried": the claim says which
            parts.append(norm(self.summary))
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    @cached_property
    def _values(self) -> dict[int, str]:
        return {e.account: norm(e.value) for e in self.evidence}

    def disagree(self, a: int, b: int) -> bool:
        """True when accounts a and b stand on different sides of this divergence."""
        values = self._values
        return a in values and b in values and values[a] != values[b]


def norm(text: str) -> str:
    text = text.replace("’", "'")
    if ascii_letters(text):  # lower-casing first: the same words
        return " ".join(_ASCII_WORDS.findall(text.lower()))
    return " ".join(w.lower() for w in WORDS.findall(text))


def voices(accounts: Sequence[Account]) -> list[int]:
    """The voice of each account: itself, or the original it copies (followed transitively)."""
    out = []
    for i in range(len(accounts)):
        seen, j = {i}, i
        while (nxt := accounts[j].copy_of) is not None and nxt not in seen:
            seen.add(nxt)
            j = nxt
        out.append(j)
    return out


def outlet_names(accounts: Sequence[Account], indices: Sequence[int]) -> str:
    return ", ".join(dict.fromkeys(accounts[i].outlet for i in indices))


def clip(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


QUOTE_MARKS = "\"'“”‘’«»„"


def needs_quotes(text: str) -> bool:
    """Whether text shown as a quotation should be wrapped in “…”: not when it already opens or
    closes with a quotation mark of its own (that would double it: `cost."”`)."""
    stripped = text.strip()
    return not stripped or (stripped[0] not in QUOTE_MARKS and stripped[-1] not in QUOTE_MARKS)


def quote(text: str) -> str:
    """Text as a quotation: “text”, or the text as it is when it carries its own quotation marks."""
    return f"“{text}”" if needs_quotes(text) else text


class StoryView:
    def __init__(self, accounts: Sequence[Account], alignment: Alignment, semantic: bool | str = False) -> None:
        """``semantic``: True, embeddings decide every same fact and the coverage; "coverage",
        only the coverage (is an omission's or exclusive's fact told elsewhere in other words)."""
        self.accounts, self.alignment = accounts, alignment
        self.semantic = semantic is True  # same-fact decisions
        self.paraphrase = bool(semantic)  # coverage decisions
        self._vectors: dict[str, np.ndarray] = {}
        self.voice = voices(accounts)
        self.claims = {ClaimRef(a, c.index): c for a, acc in enumerate(accounts) for c in acc.claims}

    def claim(self, ref: ClaimRef) -> Claim:
        return self.claims[ref]

    @cached_property
    def _group_index(self) -> dict[ClaimRef, int]:
        return {m: i for i, g in enumerate(self.alignment.groups) for m in g.members}

    def group_of(self, ref: ClaimRef) -> int | None:
        """The claim group a claim belongs to (None for a claim too short to align)."""
        return self._group_index.get(ref)

    @cached_property
    def aliases(self) -> Aliases:
        """The story's alias table of sources (see ``compare.sources``)."""
        keys = {k for c in self.claims.values() if (k := source_key(c.speaker))}
        return Aliases((c.text for c in self.claims.values()), keys)

    @cached_property
    def voice_words(self) -> dict[int, frozenset[str]]:
        """Every lower-cased word each voice's articles use (its wire copies' too)."""
        found: dict[int, set[str]] = {}
        for ref, claim in self.claims.items():
            found.setdefault(self.voice[ref.account], set()).update(words(claim.text.lower()))
        return {v: frozenset(w) for v, w in found.items()}

    @cached_property
    def lexical(self) -> LexicalScorer:
        return LexicalScorer(self.weights)

    @cached_property
    def weights(self) -> dict[str, float]:
        """Stem weights of the story (for the same-fact decision): the alignment's, over the
        substantive claims."""
        return self.alignment.weights or story_weights([c.text for c in self.claims.values()])

    def same_fact(
        self, a: ClaimRef, b: ClaimRef, mask_a: Sequence[str | None] = (), mask_b: Sequence[str | None] = ()
    ) -> float:
        """Same-fact score of two claims with the compared element (fragments of each text) masked."""
        ta, tb = self.claim(a).text, self.claim(b).text
        return self.text_same_fact(cut(ta, find_spans(ta, mask_a)), cut(tb, find_spans(tb, mask_b)))

    def text_same_fact(self, a: str, b: str) -> float:
        """Same-fact score of two texts (on the lexical scale, whichever backend decides)."""
        if self.semantic:
            va, vb = self.vectors([a, b])
            return semantic_to_scale(float(va @ vb))
        return self.lexical.score(a, b)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence vectors of texts (semantic backend only; each text embedded once per story)."""
        from storydiff.compare.embed import embed

        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, embed(missing), strict=True))
        return np.array([self._vectors[t] for t in texts]).reshape(len(texts), -1)

    def evidence(self, ref: ClaimRef, value: str, marks: Sequence[tuple[int, int]] = ()) -> Evidence:
        claim = self.claim(ref)
        return Evidence(ref.account, ref.claim, claim.span, tuple(marks) or (claim.span,), value)

    def mark_in(self, ref: ClaimRef, fragment: str | None) -> list[tuple[int, int]]:
        claim = self.claim(ref)
        at = claim.text.find(fragment) if fragment else -1
        return [(claim.span[0] + at, claim.span[0] + at + len(fragment or ""))] if at >= 0 else []

    def variants(self, found: dict[ClaimRef, str]) -> dict[str, list[ClaimRef]]:
        """Members grouped by normalised value; copies of one voice never make two variants."""
        by_value: dict[str, list[ClaimRef]] = {}
        for ref, value in found.items():
            by_value.setdefault(norm(value), []).append(ref)
        return by_value

    def spread(self, by_value: dict[str, list[ClaimRef]]) -> bool:
        voice_sets = [{self.voice[r.account] for r in refs} for refs in by_value.values()]
        return len(voice_sets) >= 2 and len(set().union(*voice_sets)) >= 2
