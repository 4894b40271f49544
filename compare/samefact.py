"""Do two claims state the same fact? (pure)

A divergence is only worth showing when both sides tell *the same fact* and differ in the compared
element (a number, a quote's words, a source, a status). Claim groups are built for recall (any
two sentences about one thing, ``ALIGN_THRESHOLD``); this decision is stricter and is taken with
the compared element masked, so a differing number or speaker does not lower the score and a
shared one does not raise it.

Score: the mean of two views of the two texts with the masked spans cut out, weights from the
whole story — the alignment formula (rarity × story-IDF weighted Dice of content stems blended
with a fuzzy ratio, ``compare.align.pair_score``) and the weighted share of the lighter side's
content found in the other (news sentences often add a clause to the same fact). ``SAME_FACT``
was chosen on real sentence pairs, STS-B train (same fact = gold ≥ 3.5, "roughly equivalent, only
minor details differ"), at the best F0.5 — precision counts double: P 0.71, R 0.48 there.
``STRONG`` is the lowest threshold with precision ≥ 0.80 there: the level at which a divergence
may be high severity. Check: `storydiff eval align --decision samefact --format sts
../shared/data/sts-benchmark/sts-dev.csv` (held out; add ``--semantic`` for the embedding backend).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz import fuzz

from storydiff.compare.align import OVERLAP_WEIGHT, content_stems, pair_score
from storydiff.compare.features import TEXT_CACHE

SAME_FACT = 0.71  # STS-B train, gold ≥ 3.5, best F0.5
STRONG = 0.87  # STS-B train, gold ≥ 3.5: precision ≥ 0.80 from here
# the semantic backend (optional extra): cosine of MiniLM sentence vectors, thresholds chosen the
# same way on STS-B train (best F0.5: 0.82; precision ≥ 0.80 from 0.85), mapped monotonically onto
# the lexical scale so that every check keeps one pair of thresholds
SEMANTIC_SAME_FACT = 0.82
SEMANTIC_STRONG = 0.85


def semantic_to_scale(cosine: float) -> float:
    """A cosine on the lexical score's scale: 0.82 → SAME_FACT, 0.85 → STRONG, monotone."""
    if cosine < SEMANTIC_SAME_FACT:
        return max(0.0, cosine) * SAME_FACT / SEMANTIC_SAME_FACT
    if cosine < SEMANTIC_STRONG:
        return SAME_FACT + (cosine - SEMANTIC_SAME_FACT) * (STRONG - SAME_FACT) / (SEMANTIC_STRONG - SEMANTIC_SAME_FACT)
    return min(1.0, STRONG + (cosine - SEMANTIC_STRONG) * (1 - STRONG) / (1 - SEMANTIC_STRONG))


def cut(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text with the given (start, end) spans, relative to the text, replaced by a space."""
    out, at = [], 0
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if start >= at:
            out.append(text[at:start])
            at = end
        else:
            at = max(at, end)
    out.append(text[at:])
    return " ".join(out)


def find_spans(text: str, fragments: Iterable[str | None]) -> list[tuple[int, int]]:
    """Spans of every occurrence of each fragment in the text (for masking)."""
    spans = []
    for fragment in fragments:
        if not fragment:
            continue
        start = text.find(fragment)
        while start >= 0:
            spans.append((start, start + len(fragment)))
            start = text.find(fragment, start + 1)
    return spans


@lru_cache(maxsize=TEXT_CACHE)
def _stems(text: str) -> frozenset[str]:
    return frozenset(content_stems(text))  # a claim's masked text recurs in many pairs


def same_fact_score(a: str, b: str, weights: dict[str, float]) -> float:
    """Score of two (masked) claim texts with the story's stem weights; unseen stems weigh 1."""
    sa, sb = _stems(a), _stems(b)
    if not sa or not sb:
        return 0.0
    known = {w: weights.get(w, 1.0) for w in sa | sb}
    mass_a, mass_b = sum(known[w] for w in sa), sum(known[w] for w in sb)
    shared = sum(known[w] for w in sa & sb)
    return (pair_score(sa, sb, known) + shared / min(mass_a, mass_b)) / 2


def story_weights(texts: Sequence[str]) -> dict[str, float]:
    from storydiff.compare.align import stem_weights

    return stem_weights([set(content_stems(t)) for t in texts])


class LexicalScorer:
    """``same_fact_score`` with one story's weights, each text's stems, mass and sorted form kept
    (a claim's masked text recurs in many pairs)."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights
        self._seen: dict[str, tuple[frozenset[str], float, str]] = {}

    def _profile(self, text: str) -> tuple[frozenset[str], float, str]:
        found = self._seen.get(text)
        if found is None:
            stems = _stems(text)
            found = (stems, sum(self.weights.get(w, 1.0) for w in stems), " ".join(sorted(stems)))
            self._seen[text] = found
        return found

    def score(self, a: str, b: str) -> float:
        (sa, mass_a, joined_a), (sb, mass_b, joined_b) = self._profile(a), self._profile(b)
        if not sa or not sb:
            return 0.0
        shared = sum(self.weights.get(w, 1.0) for w in sa & sb)
        dice = 2 * shared / max(mass_a + mass_b, 1e-9)
        ratio = fuzz.ratio(joined_a, joined_b) / 100.0
        pair = min(1.0, max(0.0, OVERLAP_WEIGHT * dice + (1 - OVERLAP_WEIGHT) * ratio))
        return (pair + shared / min(mass_a, mass_b)) / 2
