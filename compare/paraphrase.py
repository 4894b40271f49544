"""Claim pair decisions (pure): are two sentences from different outlets the same claim?

``pair_features`` measures overlap in ways that survive rewording: rapidfuzz ratios, overlap of
content words weighted by how rare they are in general English (wordfreq), word bigrams,
character trigrams, agreement of numbers and names, length balance. ``PairModel`` is a logistic
model over those features and their pairwise products, with coefficients and decision threshold
fitted on the MSRP training split only (``storydiff eval align-train``, saved next to this file
as ``paraphrase_model.json``) and never on a file being scored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from storydiff.compare.features import FUNCTION_WORDS, WORD_CACHE
from storydiff.compare.zipf import zipf

MODEL_FILE = Path(__file__).resolve().parent / "paraphrase_model.json"
_WORD = re.compile(r"\w+(?:['’]\w+)?")
_NUM = re.compile(r"\d+(?:[.,]\d+)*")
# Deliberately smaller than the clustering stop words: negations and words like "new" or "no"
# decide whether two claims agree (using the clustering list costs ~0.3 points of MSRP F1).
STOP_WORDS = FUNCTION_WORDS
N_BASE = 22


@lru_cache(maxsize=WORD_CACHE)  # per word, bounded: a worker runs for months of new names
def _rarity(word: str) -> float:
    return max(0.5, 7.5 - zipf(word))


def _stem(word: str) -> str:
    if len(word) > 3 and word.endswith("s"):
        return word[:-1]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    return word


def _weight(words: AbstractSet[str]) -> float:
    return sum(_rarity(w) for w in words)


def _trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


def _names(text: str) -> set[str]:
    return {w for w in _WORD.findall(text)[1:] if w[0].isupper()}


@dataclass(frozen=True)
class TextFeatures:
    """Everything ``pair_features`` needs from one text, computed once per claim."""

    text: str
    n_tokens: int
    tokens: tuple[str, ...]
    content: frozenset[str]
    content_weight: float
    stems: frozenset[str]
    stem_weight: float
    bigrams: frozenset[tuple[str, str]]
    numbers: frozenset[str]
    trigrams: frozenset[str]
    names: frozenset[str]


def text_features(text: str) -> TextFeatures:
    tokens = tuple(w.lower() for w in _WORD.findall(text))
    content = frozenset(tokens) - STOP_WORDS
    stems = frozenset(_stem(w) for w in content)
    return TextFeatures(
        text=text,
        n_tokens=len(tokens),
        tokens=tokens,
        content=content,
        content_weight=_weight(content),
        stems=stems,
        stem_weight=_weight(stems),
        bigrams=frozenset(pairwise(tokens)),
        numbers=frozenset(_NUM.findall(text)),
        trigrams=frozenset(_trigrams(text.lower())),
        names=frozenset(_names(text)),
    )


def features_of(fa: TextFeatures, fb: TextFeatures) -> list[float]:
    a, b = fa.text, fb.text
    ca, cb = fa.content, fb.content
    wa, wb, wi = fa.content_weight or 1.0, fb.content_weight or 1.0, _weight(ca & cb)
    na, nb = fa.numbers, fb.numbers
    longest = max(fa.n_tokens, fb.n_tokens, 1)
    ws = _weight(fa.stems & fb.stems)
    common_bigrams = len(fa.bigrams & fb.bigrams)
    pa, pb = fa.names, fb.names
    return [
        fuzz.token_set_ratio(a, b) / 100,
        fuzz.token_sort_ratio(a, b) / 100,
        fuzz.ratio(a, b) / 100,
        fuzz.partial_ratio(a, b) / 100,
        wi / wa,
        wi / wb,
        2 * wi / (wa + wb),
        min(wi / wa, wi / wb),
        common_bigrams / max(1, len(fa.bigrams)),
        common_bigrams / max(1, len(fb.bigrams)),
        len(ca & cb) / max(1, len(ca | cb)),
        float(na == nb),
        float(bool(na and nb and not na & nb)),
        len(na ^ nb) / max(1, len(na | nb)),
        min(fa.n_tokens, fb.n_tokens) / longest,
        abs(fa.n_tokens - fb.n_tokens) / longest,
        Indel.normalized_similarity(fa.tokens, fb.tokens),
        ws / max(1e-9, fa.stem_weight),
        ws / max(1e-9, fb.stem_weight),
        len(fa.trigrams & fb.trigrams) / math.sqrt(max(1, len(fa.trigrams) * len(fb.trigrams))),
        len(pa & pb) / max(1, len(pa | pb)),
        float(bool(pa ^ pb)),
    ]


def pair_features(a: str, b: str) -> list[float]:
    return features_of(text_features(a), text_features(b))


def expand(base: np.ndarray, mu0: np.ndarray, sd0: np.ndarray) -> np.ndarray:
    """Standardised features and all their pairwise products."""
    z = (base - mu0) / sd0
    rows, cols = np.triu_indices(z.shape[1])
    return np.hstack([z, (z[:, :, None] * z[:, None, :])[:, rows, cols]])


@dataclass(frozen=True)
class PairModel:
    mu0: np.ndarray
    sd0: np.ndarray
    mu: np.ndarray
    sd: np.ndarray
    weights: np.ndarray  # last entry: intercept
    threshold: float

    def probability(self, base: np.ndarray) -> np.ndarray:
        x = (expand(base, self.mu0, self.sd0) - self.mu) / self.sd
        return 1 / (1 + np.exp(-(x @ self.weights[:-1] + self.weights[-1])))

    def to_json(self) -> str:
        return json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()})

    @classmethod
    def from_json(cls, text: str) -> PairModel:
        data = json.loads(text)
        arrays = {k: np.array(data[k], dtype=float) for k in ("mu0", "sd0", "mu", "sd", "weights")}
        return cls(**arrays, threshold=float(data["threshold"]))


@cache
def shipped_model() -> PairModel:
    return PairModel.from_json(MODEL_FILE.read_text(encoding="utf-8"))


def same_claim_probability(pairs: Sequence[tuple[str, str]], model: PairModel | None = None) -> np.ndarray:
    base = np.array([pair_features(a, b) for a, b in pairs], dtype=float).reshape(len(pairs), N_BASE)
    return (model or shipped_model()).probability(base)


def is_same_claim(a: str, b: str, model: PairModel | None = None) -> bool:
    """The pair decision function: same claim (paraphrase) or not."""
    model = model or shipped_model()
    return bool(same_claim_probability([(a, b)], model)[0] >= model.threshold)
