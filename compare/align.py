"""Story-level claim alignment (pure): which sentences of different outlets tell the same fact.

``alignment_scores`` scores every claim pair of a story at once: a rarity- and story-IDF-weighted
Dice overlap of content-word stems (numbers masked, so "18 killed" still meets "21 killed") via
a matrix product (dense for a story's usual size, sparse for a large one), blended with rapidfuzz ``process.cdist`` over the sorted stems. No
Python loop over pairs. ``align_claims`` matches claims one-to-one for every pair of outlets with
an assignment solver (scipy's ``linear_sum_assignment``), keeps matches above
``ALIGN_THRESHOLD`` and merges them strongest-first into claim groups: one claim per outlet per
group, and two groups merge only when their average cross score also clears the threshold
(average linkage), so chains of loosely related sentences never snowball into one group.

The blend (0.7 overlap + 0.3 cdist ratio) and ``ALIGN_THRESHOLD`` were chosen on STS-B *train*:
the pair is "the same fact" when its gold similarity is ≥ 2.5 ("roughly equivalent, some
details differ"); ``storydiff eval align --decision alignment`` reproduces the figures. The
paraphrase decision (``compare.paraphrase``) answers a stricter question — same wording of the
same claim — and is what the MSRP gate measures.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from storydiff.compare.claims import Claim
from storydiff.compare.features import COMMON_WORDS, FUNCTION_WORDS, WORD_CACHE, ascii_letters
from storydiff.compare.zipf import zipf


def _assignment_solver() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """scipy's ``linear_sum_assignment`` (a compiled module of its own) without importing the whole
    of ``scipy.optimize``, which costs ~0.3 s and ~27 MB in every process that compares; the
    public import when scipy's layout is not the expected one."""
    import scipy

    name = "scipy.optimize._lsap"
    module = sys.modules.get(name)
    if module is None:
        found = sorted((Path(scipy.__file__).parent / "optimize").glob("_lsap.*.so"))
        spec = importlib.util.spec_from_file_location(name, found[0]) if found else None
        if spec is None or spec.loader is None:
            from scipy.optimize import linear_sum_assignment

            return linear_sum_assignment
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module  # scipy.optimize, if something imports it later, reuses it
    return module.linear_sum_assignment


linear_sum_assignment = _assignment_solver()

ALIGN_THRESHOLD = 0.37  # best F1 (0.831) on STS-B train for gold ≥ 2.5; see module docstring
OVERLAP_WEIGHT = 0.7
MIN_WORDS = 4  # shorter sentences ("Read more.", datelines) are not claims
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# function words, plus words that say nothing about which fact a claim tells (negation included:
# claims that contradict each other must still align)
_STOP = (
    FUNCTION_WORDS
    | COMMON_WORDS
    | frozenset(
        [
            "should",
            "tells",
            "them",
            "there",
            "told",
        ]
    )
)


@lru_cache(maxsize=WORD_CACHE)  # per word, bounded: a worker runs for months of new names
def _rarity(word: str) -> float:
    return max(0.5, 7.5 - zipf(word))


@lru_cache(maxsize=WORD_CACHE)  # per word, bounded: a worker runs for months of new names
def _stem(word: str) -> str:
    for suffix, keep in (("ies", 4), ("ing", 5), ("ed", 4), ("es", 4), ("s", 3)):
        if len(word) > keep and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


class _ContentStems(dict[str, str]):
    """Word → its stem, "" for a stop word or a single letter: a static table, filled on first sight
    (one dictionary lookup per word in the hot path) and bounded, so a flood of invented words
    cannot grow it without limit."""

    def __missing__(self, word: str) -> str:
        stem = "" if len(word) < 2 or word in _STOP else _stem(word)
        if len(self) < WORD_CACHE:
            self[word] = stem
        return stem


_CONTENT = _ContentStems()


_ASCII_WORD = re.compile(r"[a-z]+(?:['’][a-z]+)?")  # _WORD in a lower-cased text of ASCII letters


def _words(lowered: str) -> list[str]:
    """``_WORD.findall(lowered)`` for a lower-cased text."""
    return (_ASCII_WORD if ascii_letters(lowered) else _WORD).findall(lowered)


def content_stems(text: str) -> list[str]:
    """Lower-cased stems of the content words; numbers and stop words dropped."""
    table = _CONTENT
    return [s for w in _words(text.lower()) if (s := table[w])]


def stem_weights(stem_sets: Sequence[AbstractSet[str]]) -> dict[str, float]:
    """Weight of each stem: rarity in general English × IDF within this collection (a story)."""
    n = len(stem_sets)
    df = Counter(w for s in stem_sets for w in s)
    return {w: _rarity(w) * (math.log((1 + n) / (1 + d)) + 1) for w, d in df.items()}


def pair_score(a: set[str], b: set[str], weights: dict[str, float]) -> float:
    """One pair's alignment score (the same formula as ``alignment_scores``, for evaluation)."""
    total = sum(weights[w] for w in a) + sum(weights[w] for w in b)
    dice = 2 * sum(weights[w] for w in a & b) / max(total, 1e-9)
    ratio = fuzz.ratio(" ".join(sorted(a)), " ".join(sorted(b))) / 100.0
    return min(1.0, max(0.0, OVERLAP_WEIGHT * dice + (1 - OVERLAP_WEIGHT) * ratio))


def alignment_scores(texts: Sequence[str]) -> np.ndarray:
    """Symmetric N×N matrix of alignment scores in [0, 1] for all pairs of texts."""
    return _score_and_containment(texts)[0]


def _score_and_containment(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Alignment scores, containment ([i, j]: weighted share of text i's stems that text j also has)
    and the stem weights, for every pair of texts."""
    return _scores_of_stems([frozenset(content_stems(t)) for t in texts])


def _scores_of_stems(stems: Sequence[frozenset[str]]) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """``_score_and_containment`` from each text's content stems (rapidfuzz's cdist computes the
    symmetric ratio once per unordered pair when queries and choices are one list)."""
    n = len(stems)
    if n == 0:
        return np.zeros((0, 0)), np.zeros((0, 0)), {}
    weights = stem_weights(stems)
    # identical stem sets (a wire copy's sentences, a repeated line) get identical scores: each
    # distinct set is scored once and the n × n matrices are read back from the distinct ones
    keys = [" ".join(sorted(s)) for s in stems]
    distinct = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    take = np.fromiter((distinct[k] for k in keys), dtype=np.int64, count=n)
    firsts = [stems[i] for i in np.unique(take, return_index=True)[1]]
    # in sorted order, stems and each set's members: the sums below then add in one order whatever
    # the process's hash seed (set order), so a report is the same to the last bit in every process
    vocab = {w: i for i, w in enumerate(sorted(weights))}
    weight = np.fromiter((weights[w] for w in vocab), dtype=float, count=len(weights))
    cols = np.fromiter((vocab[w] for s in firsts for w in sorted(s)), dtype=np.int64)
    lengths = np.fromiter((len(s) for s in firsts), dtype=np.int64, count=len(firsts))
    rows = np.repeat(np.arange(len(firsts)), lengths)
    inter = _weighted_overlaps(rows, cols, weight, (len(firsts), len(vocab)))
    own = np.bincount(rows, weights=weight[cols], minlength=len(firsts))
    ratio = process.cdist(list(distinct), list(distinct), scorer=fuzz.ratio, dtype=np.float32, workers=1)
    contained = inter / np.maximum(own[:, None], 1e-9)  # share of claim i's content found in claim j
    total = np.add.outer(own, own)  # dice = 2 * inter / (own_i + own_j), in place: n² arrays are the cost here
    np.maximum(total, 1e-9, out=total)
    np.divide(inter, total, out=total)
    total *= 2 * OVERLAP_WEIGHT
    total += ratio * ((1 - OVERLAP_WEIGHT) / 100.0)
    np.clip(total, 0.0, 1.0, out=total)
    if len(firsts) < n:  # computed on the distinct sets, read back for every claim (np.take:
        # a row then a column gather, a third of the time of one np.ix_ gather)
        total = total.take(take, axis=0).take(take, axis=1)
        contained = contained.take(take, axis=0).take(take, axis=1)
    return total, contained, weights


# at most this many cells (distinct stem sets × the story's stems) the overlaps are a dense matrix
# product: a story's usual size (the peers feeds' largest: 76 × 578), where building sparse
# matrices cost more than the product and importing scipy.sparse ~0.15 s and ~22 MB a process
DENSE_CELLS = 200_000


def _weighted_overlaps(rows: np.ndarray, cols: np.ndarray, weight: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[i, j]: the summed weights of the stems sets i and j share (set i has stem ``cols[k]`` where
    ``rows[k] == i``)."""
    if shape[0] * shape[1] <= DENSE_CELLS:
        binary = np.zeros(shape)
        binary[rows, cols] = 1.0
        # einsum, not ``@``: a matrix product this size goes to BLAS, whose threads then spin on the
        # other core after the call (twice the CPU time of a report run, for a product of ~20 µs)
        return np.asarray(np.einsum("ik,jk->ij", binary * weight, binary))
    from scipy.sparse import csr_matrix

    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    binary = csr_matrix((np.ones(len(cols)), cols, indptr), shape=shape)  # built as CSR: no COO pass
    weighted = csr_matrix((weight[cols], cols, indptr), shape=shape)
    return np.asarray((weighted @ binary.T).toarray())


def is_aligned(a: str, b: str, threshold: float = ALIGN_THRESHOLD) -> bool:
    """Pair form of the alignment decision (IDF from the two texts alone)."""
    return bool(alignment_scores([a, b])[0, 1] >= threshold)


class ClaimRef(NamedTuple):  # a tuple: hashed in C, it is a dictionary key everywhere
    account: int  # which outlet's account in the story
    claim: int  # index into that account's claims

    def as_tuple(self) -> tuple[int, int]:
        return (self.account, self.claim)


@dataclass(frozen=True)
class ClaimGroup:
    members: tuple[ClaimRef, ...]  # at most one claim per account, ordered by account
    cohesion: float  # mean pairwise alignment score of the members (1.0 for one member)

    @property
    def accounts(self) -> frozenset[int]:
        return frozenset(m.account for m in self.members)


@dataclass(frozen=True)
class Alignment:
    refs: tuple[ClaimRef, ...]  # every substantive claim of the story, in score-matrix order
    scores: np.ndarray  # alignment_scores over refs
    contained: np.ndarray  # [i, j]: weighted share of claim i's content words that claim j also has
    groups: tuple[ClaimGroup, ...]  # multi-outlet groups first (largest, most cohesive), then singletons
    weights: dict[str, float] = field(default_factory=dict)  # the story's stem weights (rarity × IDF)
    stems: tuple[frozenset[str], ...] = ()  # each claim's content stems, in ``refs`` order

    def stems_of(self, ref: ClaimRef) -> frozenset[str]:
        """A substantive claim's content stems (computed once, for the scores)."""
        return self.stems[self.position[ref]]

    @cached_property
    def position(self) -> dict[ClaimRef, int]:
        """Where each claim sits in ``refs`` (and in the score matrices)."""
        return {r: i for i, r in enumerate(self.refs)}


def is_substantive(claim: Claim) -> bool:
    return not claim.boilerplate and len(claim.text.split()) >= MIN_WORDS


def align_claims(accounts: Sequence[Sequence[Claim]], threshold: float = ALIGN_THRESHOLD) -> Alignment:
    """Group the claims of several outlets' accounts of one story into aligned claim groups."""
    refs = [ClaimRef(a, c.index) for a, claims in enumerate(accounts) for c in claims if is_substantive(c)]
    by_ref = {(a, c.index): c for a, claims in enumerate(accounts) for c in claims}
    read: dict[str, frozenset[str]] = {}  # a wire copy's claims are its original's texts: read once
    for ref in refs:
        text = by_ref[ref.as_tuple()].text
        if text not in read:
            read[text] = frozenset(content_stems(text))
    stems = tuple(read[by_ref[r.as_tuple()].text] for r in refs)
    scores, contained, weights = _scores_of_stems(stems)
    positions: dict[int, list[int]] = {}
    for i, ref in enumerate(refs):
        positions.setdefault(ref.account, []).append(i)
    edges: list[tuple[float, int, int]] = []
    owners = sorted(positions)
    account_rows = {owner: np.array(positions[owner]) for owner in owners}
    for x, first in enumerate(owners):
        rows = account_rows[first]
        across = scores[rows]  # this account's rows, sliced once for all the accounts after it
        for second in owners[x + 1 :]:
            cols = account_rows[second]
            block = across[:, cols]
            r, c = linear_sum_assignment(block, maximize=True)
            best = block[r, c]
            kept = best >= threshold
            edges += zip(best[kept].tolist(), rows[r[kept]].tolist(), cols[c[kept]].tolist(), strict=True)
    edges.sort(reverse=True)
    group_of = list(range(len(refs)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(refs))}
    outlets: dict[int, set[int]] = {i: {ref.account} for i, ref in enumerate(refs)}
    # per group: the sum of its members' score rows, so the mean score between two groups is one
    # gather of the other group's columns (not a block of the matrix per edge)
    row_sums: dict[int, np.ndarray] = {}

    def row_sum(g: int) -> np.ndarray:
        return row_sums[g] if g in row_sums else scores[g]  # (a group of one is named by its member)

    for _, i, j in edges:
        gi, gj = group_of[i], group_of[j]
        if gi == gj or outlets[gi] & outlets[gj]:
            continue  # already together, or one claim per outlet per group
        if len(members[gi]) > 1 or len(members[gj]) > 1:
            between = row_sum(gi).take(members[gj]).sum() / (len(members[gi]) * len(members[gj]))
            if between < threshold:
                continue  # average linkage: no chaining through one shared neighbour
        keep, gone = (gi, gj) if len(members[gi]) >= len(members[gj]) else (gj, gi)
        for k in members[gone]:
            group_of[k] = keep
        row_sums[keep] = row_sum(keep) + row_sums.pop(gone, scores[gone])
        members[keep].extend(members.pop(gone))
        outlets[keep] |= outlets.pop(gone)
    groups = []
    for g, indices in members.items():
        indices.sort(key=lambda k: refs[k].as_tuple())
        size = len(indices)
        cohesion = 1.0
        if size > 1:
            inside = row_sums[g].take(indices).sum() - scores[indices, indices].sum()  # without the diagonal
            cohesion = float(inside / (size * (size - 1)))
        groups.append(ClaimGroup(tuple(refs[k] for k in indices), round(cohesion, 4)))
    groups.sort(key=lambda g: (-len(g.members), -g.cohesion, g.members[0].as_tuple()))
    return Alignment(tuple(refs), scores, contained, tuple(groups), weights, stems)
