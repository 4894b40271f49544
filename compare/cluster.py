"""Online, incremental story clustering (pure: data in, dataclasses out).

Each article joins the open story whose time-decayed TF-IDF centroid it is most similar to,
or starts a new story. Features: title tokens and bigrams weighted above the lead and the body,
names (learned online from capitalisation) boosted, numbers kept as tokens; similarity decays
with the time since the story's last article. Candidates come from an inverted index over open
stories, probed with the article's strongest features only, so the cost per article depends on
the open stories, not on everything ever stored. Every ``merge_every`` articles, stories touched
since the last pass are merged with open stories whose centroids converged. Stories close after
``quiet_hours`` without articles. Wire copies join their original's story.

The join/merge thresholds and the decay were chosen on half of the UCI stories and scored on
the other half (``storydiff eval cluster-cv``); rhythm_factor and single_hours are product
constraints for sparse multi-outlet coverage, not tuned. See the README.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from operator import itemgetter

from storydiff.compare.features import DocFrequencies, NameStats, tokens

DAY = 86400.0


def _dated_gap(later: float, earlier: float) -> float:
    """Seconds between two published times, where a time of exactly midnight UTC is taken for what
    it almost always is — a date without a time of day — and so may lie anywhere in that day:
    the gap shrinks by up to a day (never below zero)."""
    gap = later - earlier
    if later % DAY == 0 or earlier % DAY == 0:
        return math.copysign(max(0.0, abs(gap) - DAY), gap)
    return gap


@dataclass(frozen=True)
class ClusterConfig:
    join_threshold: float = 0.06  # decayed cosine to a story centroid needed to join it
    merge_threshold: float = 0.08  # decayed centroid–centroid cosine needed to merge stories
    decay_hours: float = 1.0  # time constant of the similarity decay
    rhythm_factor: float = 2.0  # a story's time constant is at least this × its mean gap between articles
    single_hours: float = 24.0  # time constant of a story with one article (no rhythm yet)
    quiet_hours: float = 72.0  # a story closes after this long without a new article
    name_boost: float = 1.5
    title_weight: float = 3.0
    lead_weight: float = 1.0
    body_weight: float = 0.3
    lead_chars: int = 300
    body_chars: int = 3000
    max_features: int = 30  # a document is represented by its strongest features only
    probe_features: int = 12  # strongest features used to look up candidate stories
    max_candidates: int = 200
    merge_every: int = 250


@dataclass(frozen=True)
class Doc:
    id: Hashable
    title: str
    text: str
    published: datetime
    original_id: Hashable | None = None  # wire copy of this doc


@dataclass(frozen=True)
class Assignment:
    doc_id: Hashable
    story_id: int
    score: float
    new_story: bool


@dataclass
class Story:
    id: int
    first_seen: float
    last_seen: float
    centroid: dict[str, float] = field(default_factory=dict)
    norm2: float = 0.0
    members: list[tuple[Hashable, float]] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)  # the first few member headlines

    def title(self) -> str:
        """A representative headline: the medoid of the member headlines by shared words."""
        if not self.samples:
            return ""
        words = [set(tokens(title)) for title in self.samples]

        def centrality(i: int) -> float:
            own = words[i]
            return sum(len(own & other) for j, other in enumerate(words) if j != i) / math.sqrt(len(own) or 1)

        return self.samples[max(range(len(words)), key=centrality)]


class OnlineClusterer:
    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        self.tau = self.config.decay_hours * 3600
        self.df = DocFrequencies()
        self.names = NameStats()
        self.stories: dict[int, Story] = {}
        self.index: dict[str, set[int]] = {}
        self.story_of: dict[Hashable, int] = {}
        self.next_id = 1
        self.ref: float | None = None  # time origin of the centroid weights
        self.dirty: set[int] = set()
        self.since_merge = 0
        self.merged_into: dict[int, int] = {}  # absorbed story id → the story it went into
        self.open: set[int] = set()  # ids of open stories: the only ones any step iterates over
        # raw feature weights by a digest of (title, text): wire copies repeat their original's text
        # word for word (the digest, not the texts: a batch's texts are not kept alive by the cache)
        self._weights: dict[bytes, dict[str, float]] = {}
        # and the vector of the first document with that digest: a copy stands for the same words as
        # its original, so it adds the original's vector, not one re-weighted by the frequencies of
        # the documents seen in between (the copies are most of a feed crawl: 4,802 of 5,915 items)
        self._vectors: dict[bytes, dict[str, float]] = {}

    # ---- features -------------------------------------------------------------------------
    def _digest(self, title_text: str, text: str) -> bytes:
        """What identifies a document's features: its title and all the text they read."""
        cfg = self.config
        lead, body = text[: cfg.lead_chars], text[cfg.lead_chars : cfg.body_chars]
        return hashlib.blake2b(f"{title_text}\0{lead}{body}".encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def _raw_weights(self, title_text: str, text: str, key: bytes) -> dict[str, float]:
        """Feature → summed weight of one document's title, lead and body (pure; cached, read-only)."""
        cfg = self.config
        cached = self._weights.get(key)
        if cached is not None:
            return cached
        lead, body = text[: cfg.lead_chars], text[cfg.lead_chars : cfg.body_chars]
        title = tokens(title_text)
        weights: dict[str, float] = defaultdict(float)
        for feature in [*title, *(f"{a}_{b}" for a, b in pairwise(title))]:
            weights[feature] += cfg.title_weight
        for token in tokens(lead):
            weights[token] += cfg.lead_weight
        for token in tokens(body):
            weights[token] += cfg.body_weight
        self._weights[key] = weights
        return weights

    def vector(self, doc: Doc) -> dict[str, float]:
        cfg = self.config
        self.names.observe(doc.title)
        key = self._digest(doc.title, doc.text)
        weights = self._raw_weights(doc.title, doc.text, key)
        self.df.add(set(weights))
        known = self._vectors.get(key)
        if known is not None:
            return known
        vec = {}
        # DocFrequencies.idf and NameStats.is_name inlined (the hot loop of clustering): the same
        # arithmetic, no call per feature (a token is a name when seen twice or more in sentence-case
        # text and capitalised there at least 0.8 of the times)
        df = self.df
        counts, prior, background, top = df.df, df._prior, df._background, df.docs + 1
        seen_as, capitalised = self.names.seen.get, self.names.capitalised.get
        boost, sqrt, log = cfg.name_boost, math.sqrt, math.log
        for feature, weight in weights.items():
            seen = prior.get(feature)
            value = sqrt(weight) * log(top / (counts[feature] + (background(feature) if seen is None else seen) + 0.5))
            for part in feature.split("_"):  # a bigram ("white_house") is a name when both parts are
                n = seen_as(part, 0)
                if n < 2 or capitalised(part, 0) < 0.8 * n:
                    break
            else:
                value *= boost
            vec[feature] = value
        if len(vec) > cfg.max_features:  # (nlargest: sorted(…, reverse=True)[:n], ties in order)
            vec = dict(heapq.nlargest(cfg.max_features, vec.items(), key=itemgetter(1)))
        norm = math.sqrt(sum(x * x for x in vec.values())) or 1.0
        vec = {f: x / norm for f, x in vec.items()}
        self._vectors[key] = vec
        return vec

    # ---- assignment -----------------------------------------------------------------------
    def _decay(self, gap: float, *stories: Story) -> float:
        """Similarity kept after `gap` seconds of quiet. Each story decays at its own rhythm:
        a story whose articles come hours apart stays joinable for hours."""
        tau = self.tau
        for story in stories:
            if len(story.members) == 1:
                tau = max(tau, self.config.single_hours * 3600)
            else:
                tau = max(
                    tau, self.config.rhythm_factor * (story.last_seen - story.first_seen) / (len(story.members) - 1)
                )
        return math.exp(-max(0.0, gap) / tau)

    def _weight(self, t: float) -> float:
        if self.ref is None:
            self.ref = t
        if (t - self.ref) / self.tau > 30:  # rebase before the weights overflow
            shift = math.exp(-(t - self.ref) / self.tau)
            for sid in self.open:
                story = self.stories[sid]
                story.centroid = {f: x * shift for f, x in story.centroid.items()}
                story.norm2 *= shift * shift
            self.ref = t
        return math.exp((t - self.ref) / self.tau)

    def _candidates(self, vec: dict[str, float]) -> list[int]:
        probe = sorted(vec, key=vec.__getitem__, reverse=True)[: self.config.probe_features]
        hits: Counter[int] = Counter()
        for feature in probe:
            hits.update(self.index.get(feature, ()))
        return [s for s, _ in hits.most_common(self.config.max_candidates)]

    def _add_to(self, story: Story, vec: dict[str, float], weight: float) -> None:
        c = story.centroid
        for f, x in vec.items():
            old = c.get(f, 0.0)
            new = old + x * weight
            c[f] = new
            story.norm2 += new * new - old * old
            self.index.setdefault(f, set()).add(story.id)

    def add(self, doc: Doc) -> Assignment:
        t = doc.published.timestamp()
        vec = self.vector(doc)
        best, score = None, 0.0
        original = self.story_of.get(doc.original_id) if doc.original_id is not None else None
        if original is not None and original in self.open:
            best, score = self.stories[original], 1.0
        else:
            for sid in self._candidates(vec):
                story = self.stories[sid]
                if story.norm2 <= 0:
                    continue
                sim = sum(x * story.centroid.get(f, 0.0) for f, x in vec.items()) / math.sqrt(story.norm2)
                sim *= self._decay(_dated_gap(t, story.last_seen), story)
                if sim > score:
                    best, score = story, sim
        created = best is None or (original is None and score < self.config.join_threshold)
        if created:
            best = Story(self.next_id, t, t)
            self.stories[best.id] = best
            self.open.add(best.id)
            self.next_id += 1
            score = 1.0
        assert best is not None
        self._add_to(best, vec, self._weight(t))
        best.members.append((doc.id, round(score, 4)))
        if len(best.samples) < 20:
            best.samples.append(doc.title)
        best.first_seen, best.last_seen = min(best.first_seen, t), max(best.last_seen, t)
        self.story_of[doc.id] = best.id
        self.dirty.add(best.id)
        self.since_merge += 1
        return Assignment(doc.id, best.id, score, created)

    def restore(self, story_id: int, docs: Sequence[tuple[Doc, float]]) -> None:
        """Rebuild a persisted open story from its members (oldest first), keeping its id."""
        story = Story(story_id, docs[0][0].published.timestamp(), docs[0][0].published.timestamp())
        self.stories[story_id] = story
        self.open.add(story_id)
        for doc, score in docs:
            t = doc.published.timestamp()
            vec = self.vector(doc)
            self._add_to(story, vec, self._weight(t))
            story.members.append((doc.id, score))
            if len(story.samples) < 20:
                story.samples.append(doc.title)
            story.first_seen, story.last_seen = min(story.first_seen, t), max(story.last_seen, t)
            self.story_of[doc.id] = story_id
        self.next_id = max(self.next_id, story_id + 1)

    def final_id(self, story_id: int) -> int:
        """Where a story ended up after merges."""
        while story_id in self.merged_into:
            story_id = self.merged_into[story_id]
        return story_id

    def add_all(self, docs: Iterable[Doc]) -> list[Assignment]:
        out = []
        for doc in docs:
            out.append(self.add(doc))
            if self.since_merge >= self.config.merge_every:
                self.consolidate()
                self.close_quiet(doc.published)
        self.consolidate()
        return out

    # ---- merging and closing --------------------------------------------------------------
    def _similarity(self, a: Story, b: Story) -> float:
        small, large = (a, b) if len(a.centroid) <= len(b.centroid) else (b, a)
        dot = sum(x * large.centroid.get(f, 0.0) for f, x in small.centroid.items())
        # decayed centroids of old stories can be tiny: never multiply the squared norms (underflow)
        norms = math.sqrt(max(a.norm2, 0.0)) * math.sqrt(max(b.norm2, 0.0))
        if norms <= 0.0:
            return 0.0
        return dot / norms * self._decay(abs(_dated_gap(a.last_seen, b.last_seen)), a, b)

    def consolidate(self) -> list[tuple[int, int]]:
        """Merge touched stories with converged open ones; returns (absorbed id, kept id) pairs."""
        merges: list[tuple[int, int]] = []
        queue = sorted((s for s in self.dirty if s in self.stories), key=lambda s: -len(self.stories[s].members))
        for sid in queue:
            story = self.stories.get(sid)
            if story is None or sid not in self.open or story.norm2 <= 0:
                continue
            top = sorted(story.centroid, key=story.centroid.__getitem__, reverse=True)[:30]
            candidates: set[int] = set().union(*(self.index.get(f, set()) for f in top)) - {sid}
            for other_id in sorted(candidates):
                other = self.stories.get(other_id)
                if other is None or other_id not in self.open or other.norm2 <= 0 or story.id not in self.stories:
                    continue
                if self._similarity(story, other) >= self.config.merge_threshold:
                    keep, gone = (story, other) if len(story.members) >= len(other.members) else (other, story)
                    self._merge(keep, gone)
                    merges.append((gone.id, keep.id))
                    story = keep
        self.dirty.clear()
        self.since_merge = 0
        return merges

    def _merge(self, keep: Story, gone: Story) -> None:
        for f, x in gone.centroid.items():
            old = keep.centroid.get(f, 0.0)
            keep.centroid[f] = old + x
            keep.norm2 += (old + x) ** 2 - old * old
            postings = self.index.get(f)
            if postings is not None:
                postings.discard(gone.id)
                postings.add(keep.id)
        keep.members.extend(gone.members)
        keep.samples = (keep.samples + gone.samples)[:20]
        keep.first_seen, keep.last_seen = min(keep.first_seen, gone.first_seen), max(keep.last_seen, gone.last_seen)
        for doc_id, _ in gone.members:
            self.story_of[doc_id] = keep.id
        self.merged_into[gone.id] = keep.id
        del self.stories[gone.id]
        self.open.discard(gone.id)

    def close_quiet(self, now: datetime) -> list[int]:
        """Close stories quiet for quiet_hours; they leave the index (and memory of centroids)."""
        limit = now.timestamp() - self.config.quiet_hours * 3600
        closed = []
        for sid in sorted(self.open):
            story = self.stories[sid]
            if story.last_seen < limit:
                self.open.discard(sid)
                for f in story.centroid:
                    postings = self.index.get(f)
                    if postings is not None:
                        postings.discard(story.id)
                        if not postings:
                            del self.index[f]
                story.centroid, story.samples = {}, story.samples[:1]
                closed.append(story.id)
        return closed
