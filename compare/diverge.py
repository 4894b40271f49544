"""Divergences between outlets' accounts of one story (pure).

Input: the accounts (one per outlet: its claims, and which account it copies, if any) and their
claim alignment. Output: typed ``Divergence`` records, each with a severity, the accounts
involved, evidence (claim spans and the exact differing sub-spans) and a one-line summary.

Copies of one text (a newspaper running a wire story) form one *voice*: they are never compared
with each other, and they count once when deciding what "most outlets" carry.

Types, in the order they are looked for:
- ``numeric``: one claim group, the same kind of quantity (same unit; durations compared in
  days), different values across voices.
- ``quote``: one claim group, direct quotes whose words differ (punctuation and case ignored, a
  quote that is a fragment of another is not a difference); carries a word-level diff.
- ``attribution``: one claim group, the fact credited to different sources, or sourced in one
  voice and unsourced in another.
- ``contradiction``: two claims about the same event and participants with opposite polarity
  (``compare.polarity``), or two near-identical claims of one group differing by a negation.
- ``framing``: one voice tells a fact the others also tell (same group, or the two sides of a
  contradiction) with loaded or hedging words the others do not use.
- ``omission``: a group carried by more than half of the voices (at least two) is missing from
  a voice; ``exclusive``: a claim with names, numbers or quotes that only one voice carries,
  in a story of at least three voices.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property, lru_cache
from itertools import combinations

import numpy as np

from storydiff.compare.align import Alignment, ClaimGroup, ClaimRef, align_claims, content_stems
from storydiff.compare.checks import (
    NEGATION_WORDS,
    QUOTE_FILLER,
    attribution_divergences,
    fold_accents,
    framing_divergences,
    numeric_divergences,
    quote_divergences,
    quote_words,
)
from storydiff.compare.claims import Claim
from storydiff.compare.entities import entity_divergences
from storydiff.compare.evidence import (
    SEVERITY_RANK,
    Account,
    Divergence,
    StoryView,
    clip,
    outlet_names,
    quote,
    words,
)
from storydiff.compare.features import TEXT_CACHE
from storydiff.compare.polarity import DENIAL_FRAME, EventStance, event_stance, opposed, reported_clause
from storydiff.compare.samefact import SAME_FACT, STRONG
from storydiff.compare.sources import is_named, source_key

__all__ = ["Account", "Divergence", "agreement_matrix", "divergence_score", "find_divergences"]
MIN_CLAIM_WORDS = 6  # a shorter sentence states too little to be denied
COVERED_SHARE = 0.5  # two sentences in a row of a voice holding this share of a group's content words carry it
# an outlet with one sentence holding this share of a fact's weighted content words, some of them
# words not every outlet of the story uses (not only the story's topic: "Trump", "meeting"), tells
# part of it: "omits" would mislead (dev split's judged omissions: none of the 8 at 0.3 or above true)
PARTLY_TOLD_SHARE = 0.3
# omissions and exclusives are always low: folded per outlet below the list a story page shows
# first, and below the default alert threshold. Whether a fact is missing from an article is decided
# on its words, and on real news most of those decisions were wrong: of the omissions and
# exclusives pages listed first, judged in seeded samples by fresh readers, 11 of 40 were true on the
# BASIL dev split and 6 of 49 on the held-out split (the rest the same fact in other words, or a
# detail that does not matter). No signal tried (numbers or quotes in the fact, where the article
# tells it, how much of it another outlet's sentence holds) separated the true ones on held-out data
COVERAGE_SEVERITY = "low"


@lru_cache(maxsize=TEXT_CACHE)
def _negation_profile(text: str) -> tuple[bool, frozenset[str]]:
    """(has a negation, the words without negation and do-support)."""
    lowered = text.lower()
    stripped = NEGATION_WORDS.sub(" ", lowered).replace(" did ", " ").replace(" does ", " ")
    return bool(NEGATION_WORDS.search(lowered)), frozenset(words(stripped))


def _negation_flip(story: StoryView, a: ClaimRef, b: ClaimRef) -> bool:
    """Near-identical claims, one negated: "the company confirmed the recall" / "… did not confirm …"."""
    if not (story.claim(a).negated or story.claim(b).negated):
        return False  # Claim.negated covers every cue of NEGATION_WORDS: nothing to flip
    ta, tb = story.claim(a).text, story.claim(b).text
    (na, wa), (nb, wb) = _negation_profile(ta), _negation_profile(tb)
    if na == nb or len(wa ^ wb) > 2 or len(wa & wb) < 6:
        return False
    plain, negated = (tb, ta) if na else (ta, tb)
    if _CONTRAST.search(plain):
        return False  # "judges instead of arbitrators" says what "judges, not arbitrators" says
    if not any(_NEGATES.match(negated, m.end()) for m in NEGATION_WORDS.finditer(negated)):
        return False  # "and it's not, it's …", "did nothing and allowed …": no predicate of the other claim denied
    # the negation must deny what the other claim says: "money is not the goal, safety is the goal"
    # does not negate "safety is the goal" (the negated clause's words are not the other claim's)
    clause = next(c for c in _CLAUSES.split(negated) if NEGATION_WORDS.search(c) or not _CLAUSES.split(negated))
    denied = _negation_profile(clause)[1] - _negation_profile(plain)[1]
    return not (denied - _FLIP_FILLER)


_CLAUSES = re.compile(r"[,;:]\s+|\s+(?:but|while|whereas)\s+")
_CONTRAST = re.compile(r"\b(?:instead of|rather than)\b", re.IGNORECASE)
# what follows a negation that denies something: a word, not a pause or a conjunction
_NEGATES = re.compile(r"(?!\s*(?:[,.;:!?—–)]|-\s|and\b|or\b|but\b))", re.IGNORECASE)
_FLIP_FILLER = frozenset(["did", "does", "do", "that", "this", "it", "is", "was", "has", "have", "a", "an", "the"])


_AUXILIARY = frozenset(
    [
        "was",
        "were",
        "is",
        "are",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "will",
        "would",
        "could",
        "not",
        "never",
        "no",
        "nothing",
        "n't",
    ]
)


def _cue_phrase(text: str, stance: EventStance) -> str:
    """The predicate with its auxiliaries and negation: "nothing was postponed", "has been tabled"."""
    before = text[: stance.cue[0]].split()
    taken: list[str] = []
    while before and len(taken) < 3 and before[-1].lower() in _AUXILIARY:
        taken.insert(0, before.pop())
    return " ".join([*taken, text[slice(*stance.cue)]])


def _lacks_confirmation(text: str, stance: EventStance) -> bool:
    """ "Police have not confirmed the man's identity", "could not confirm": no confirmation yet, from
    that source — not a denial, so not the opposite of another source's confirmation (a sentence
    that only adds "not" to the other's is still a flip: ``_negation_flip``)."""
    return stance.event == "assent" and not stance.proceeds and text[slice(*stance.cue)].lower().startswith("confirm")


def _contradictions(story: StoryView) -> list[Divergence]:
    stances: dict[ClaimRef, EventStance] = {}
    for ref in story.alignment.refs:
        stance = event_stance(story.claim(ref).text)
        if stance is not None and not _lacks_confirmation(story.claim(ref).text, stance):
            stances[ref] = stance
    parent: dict[ClaimRef, ClaimRef] = {}

    def root(r: ClaimRef) -> ClaimRef:
        while parent.setdefault(r, r) != r:
            r = parent[r]
        return r

    for a, b in combinations(stances, 2):
        if story.voice[a.account] == story.voice[b.account] or not opposed(stances[a], stances[b]):
            continue
        if _denies_a_reported_claim(story, a, b, stances) or _denies_a_reported_claim(story, b, a, stances):
            continue
        clauses = [reported_clause(story.claim(r).text, stances[r]) for r in (a, b)]
        if clauses[0] and clauses[1] and story.text_same_fact(clauses[0], clauses[1]) < SAME_FACT:
            continue  # "denied that a woman held is his wife" / "confirmed that the child is his daughter"
        # the same event is not enough: both sentences must tell the same fact, the predicate masked
        # (aligned into one claim group, or the same-fact decision with the predicates masked)
        cue_a, cue_b = story.claim(a).text[slice(*stances[a].cue)], story.claim(b).text[slice(*stances[b].cue)]
        # or, for a named event, the same event with at least two of its participants on both sides
        aligned = story.group_of(a) is not None and story.group_of(a) == story.group_of(b)
        named_event = stances[a].event != "assent" and len(stances[a].participants & stances[b].participants) >= 2
        if not (aligned or named_event) and story.same_fact(a, b, [cue_a], [cue_b]) < SAME_FACT:
            continue
        parent[root(a)] = root(b)
    for group in story.alignment.groups:
        if not any(story.claim(m).negated for m in group.members):
            continue  # a flip needs a negated claim (the test _negation_flip starts with)
        for a, b in combinations(group.members, 2):
            if story.voice[a.account] != story.voice[b.account] and _negation_flip(story, a, b):
                for r in (a, b):
                    if r not in stances:
                        text = story.claim(r).text
                        flipped = bool(NEGATION_WORDS.search(text))
                        stances[r] = EventStance("claim", not flipped, frozenset(), (0, len(text)), flipped)
                parent[root(a)] = root(b)
    components: dict[ClaimRef, list[ClaimRef]] = {}
    for ref in parent:
        components.setdefault(root(ref), []).append(ref)
    out = []
    for refs in components.values():
        refs = sorted(set(refs), key=lambda r: r.as_tuple())
        sides = {True: [r for r in refs if stances[r].proceeds], False: [r for r in refs if not stances[r].proceeds]}
        if not sides[True] or not sides[False]:
            continue
        event = stances[refs[0]].event
        label = {
            True: "goes ahead" if event != "assent" else "agreed",
            False: "halted" if event != "assent" else "denied",
        }
        if event == "claim":
            label = {True: "affirms", False: "negates"}
        parts = []
        for proceeds in (False, True):
            cues = [_cue_phrase(story.claim(r).text, stances[r]) for r in sides[proceeds]]
            cue = next((c for c in cues if NEGATION_WORDS.search(c)), cues[0])
            parts.append(
                f"{outlet_names(story.accounts, [r.account for r in sides[proceeds]])}: {label[proceeds]} (“{cue}”)"
            )
        subject = f"the {event}" if event not in ("claim", "assent") else quote(clip(story.claim(refs[0]).text, 80))
        evidence = []
        for r in refs:
            claim = story.claim(r)
            start, end = stances[r].cue
            negation = list(NEGATION_WORDS.finditer(claim.text[max(0, start - 25) : start]))
            if stances[r].negated and negation:
                start = max(0, start - 25) + negation[-1].start()  # mark "nothing was postponed"
            marked = (claim.span[0] + start, claim.span[0] + end)
            evidence.append(story.evidence(r, label[stances[r].proceeds], [marked]))
        accounts = tuple(sorted({r.account for r in refs}))
        summary = f"Opposite accounts of {subject}: " + " vs ".join(parts)
        out.append(Divergence("contradiction", "high", accounts, tuple(evidence), summary))
    return out


# "denied claims by Nigeria's government that …", "rejected the army's reports that …": the denial
# carries the claim it denies, credited to whoever made it
_DENIES_CLAIMS = re.compile(
    r"\b(?:denied|denies|deny|denying|disputed|disputes|rejected|rejects|dismissed|dismisses)\s+"
    r"(?:[\w’'.-]+\s+){0,4}?(?:claims?|reports?|allegations?|assertions?)\s+(?:by|from|that)\b",
    re.IGNORECASE,
)


def _denies_a_reported_claim(story: StoryView, denial: ClaimRef, other: ClaimRef, stances: dict) -> bool:
    """One voice reports a denial of someone's claim ("X denied claims by the government that P"), the
    other reports that claim as someone's (a source named, or hedged: "the military says P", "P,
    reportedly"): both tell the claim as a claim, one also its denial — not opposite accounts."""
    if stances[denial].proceeds or not stances[other].proceeds:
        return False
    said = story.claim(other)
    return bool(_DENIES_CLAIMS.search(story.claim(denial).text)) and bool(said.speaker or said.hedges)


_DENIES = re.compile(
    r"\b(?:denied|denies|deny|denying|disputed|disputes|refuted|refutes|rejected|rejects)\s+"
    r"(?:ever\s+|strongly\s+|flatly\s+)?(?:that\s+|reports?\s+that\s+|claims?\s+that\s+|allegations?\s+that\s+)"
    r"(?P<p>[^.;]{12,})",
    re.IGNORECASE,
)


_DENY_STEMS = ("enie", "enied", "eny", "ispute", "efute", "eject")  # in "denied", "Disputes", "rejected", …


def _denials(story: StoryView) -> list[Divergence]:
    """ "X denied that P" in one voice against a claim that states P in another: the same fact (the
    denied clause against the claim, same-fact decision) told as true by one and denied by the other."""
    denied = {
        r: m
        for r, c in story.claims.items()
        if any(stem in c.text for stem in _DENY_STEMS) and (m := _DENIES.search(c.text))  # cheap test first
    }
    out = []
    for ref, match in denied.items():
        clause = match.group("p")
        for other, claim in story.claims.items():
            if story.voice[other.account] == story.voice[ref.account] or other in denied or claim.negated:
                continue
            if DENIAL_FRAME.search(claim.text) or len(claim.text.split()) < MIN_CLAIM_WORDS:
                continue
            score = story.text_same_fact(clause, claim.text)
            if score < SAME_FACT:
                continue
            if _tells_both(story, denied, ref, other, clause):
                continue  # one of the two outlets carries the claim and its denial: they do not disagree
            start = story.claim(ref).span[0]
            evidence = (
                story.evidence(ref, "denied", [(start + match.start(), start + match.end())]),
                story.evidence(other, "stated", [claim.span]),
            )
            denier, stater = story.accounts[ref.account].outlet, story.accounts[other.account].outlet
            summary = f"{stater} states what {denier} reports as denied: {quote(clip(clause, 80))}"
            severity = "high" if score >= STRONG else "medium"
            accounts = tuple(sorted({ref.account, other.account}))
            out.append(Divergence("contradiction", severity, accounts, evidence, summary, story.group_of(ref)))
            break  # one stated counterpart per denial
    return out


def _denial(story: StoryView, denied: dict[ClaimRef, re.Match], ref: ClaimRef, framed: bool = False) -> bool:
    """The claim reports a denial: "X denied that …", or a denial without its clause ("DHS denied
    Hunter's claim", "… has unequivocally denied it"); ``framed``: or the denial's own words ("the
    suggestion that … is categorically false", "baseless")."""
    if ref in denied or (framed and DENIAL_FRAME.search(story.claim(ref).text)):
        return True
    stance = event_stance(story.claim(ref).text)
    return stance is not None and stance.event == "assent" and not stance.proceeds


def _tells_both(
    story: StoryView, denied: dict[ClaimRef, re.Match], ref: ClaimRef, other: ClaimRef, clause: str
) -> bool:
    """Either voice carries the denied clause and its denial both, so the two do not disagree:
    the denying voice also states the clause (not negated) in another claim, or the stating voice
    also reports the denial (a denial of the same clause, or one aligned with a denial of the
    denying voice)."""
    voice, stater = story.voice[ref.account], story.voice[other.account]
    groups = {
        story.group_of(r)
        for r in story.claims
        if story.voice[r.account] == voice and story.group_of(r) is not None and _denial(story, denied, r, framed=True)
    }
    speaker = source_key(story.claim(other).speaker)
    speaker = speaker if is_named(speaker) else None
    for own, claim in story.claims.items():
        if story.voice[own.account] == voice and own not in denied:
            plain = not (claim.negated or DENIAL_FRAME.search(claim.text))
            if plain and story.text_same_fact(clause, claim.text) >= SAME_FACT:
                return True  # the denying voice states the clause too (as someone's claim)
            if speaker and speaker in claim.text.lower() and _denial(story, denied, own, framed=True):
                return True  # it reports the denial of that very speaker's claim ("denied Hunter's claim")
        elif story.voice[own.account] == stater and _denial(story, denied, own, framed=True):
            same = own in denied and story.text_same_fact(denied[own].group("p"), clause) >= SAME_FACT
            if story.group_of(own) in groups or same:
                return True  # the stating voice reports the denial too
    return False


def _informative(claim: Claim) -> bool:
    return bool(claim.entities or claim.numbers or claim.quotes)


# a shared stretch of quoted words shows one statement when it is a sentence's worth: at least
# this many words, two of them content words (a quoted name or catchphrase — "Fox News Sunday",
# "stop lying" — is not one statement)
QUOTED_WORDS = 5
# a number of three significant digits or more ("234-193", "4,781 jobs") seldom stands in two
# facts of one story by chance: a voice stating all of a claim's such numbers in one sentence tells it
SPECIFIC_DIGITS = 3
# semantic backend: one sentence tells another's fact in other words from this cosine of their
# MiniLM vectors — on MSRP train (same-story sentences from different outlets), the lowest cosine
# where at least 0.85 of the pairs are paraphrases: 0.851 on one half, 0.848 on the other
PARAPHRASE_COSINE = 0.86
# ... and an exclusive whose fact has a sentence of another voice at this cosine or above is listed
# after those with none (in its outlet's fold): chosen on the judged BASIL exclusives of the dev
# split (the first 3 of the folds: 0.362 true → 0.514; 0.6: 0.442), checked on the held-out split
LOOSE_COSINE = 0.5
# the lexical path's counterpart: a sentence of another voice holding this share of the fact's
# weighted content words (dev split: 0.362 → 0.383; 0.3: 0.375; checked on the held-out split)
LOOSE_SHARE = 0.2
QUOTED_CONTENT = 2
# an exclusive among the first sentences of its article (the lead: the event itself, which every
# outlet tells) is listed after the others in its outlet's fold (before any other salience):
# on the judged BASIL exclusives of the dev split, 0 of 20 in an article's first three substantive
# sentences were true (18 false), 0.35 of the rest; the held-out split, checked after: 3 of 16
# (10 false) against 0.30; every item it moves into or out of the folds' first 3 judged after: ten
# fewer false there, two fewer true (README, "fold_first"). Only an article of LEAD_MIN_SENTENCES or more has a lead to set apart: a
# shorter text (a feed's summary, the first paragraphs: AllSides' leads have 2–8 sentences, BASIL's
# full articles 7–79, 26 in the median) is all lead, and moving its last sentences first brought more
# false items into the folds' first 3 on AllSides (a blind check: 6 of 10 false, 3 of 10 moved out)
LEAD_SENTENCES = 3
LEAD_MIN_SENTENCES = 10


def _quoted_stretches(claim: Claim) -> list[tuple[str, int]]:
    """A claim's quotes as padded word strings (" w1 w2 … "), each with its count of content words."""
    out = []
    for q in claim.quotes:
        words = quote_words(q)
        content = sum(w not in QUOTE_FILLER for w in words)
        if len(words) >= QUOTED_WORDS and content >= QUOTED_CONTENT:
            out.append((f" {' '.join(words)} ", content))
    return out


def _quotes_same_statement(group_quotes: list[tuple[str, int]], voice_quotes: list[tuple[str, int]]) -> bool:
    """The voice quotes some of the same words (one quote a stretch of the other, after
    normalisation): it carries the statement, in a shorter or longer excerpt ("legitimate rape"
    inside the whole sentence quoted), so it neither omits it nor leaves it to one outlet."""
    return any(a in b or b in a for a, _ in group_quotes for b, _ in voice_quotes)


def _covered_by_two(story: StoryView, claim: Claim, cols: list[int]) -> bool:
    """The voice tells the claim's fact across two sentences in a row (one for who and when, the
    next for what): their content words together hold COVERED_SHARE of the claim's, weighted as
    the alignment weighs them."""
    weights, refs = story.alignment.weights, story.alignment.refs
    stems = set(content_stems(claim.text))
    total = sum(weights.get(w, 0.0) for w in stems)
    if total <= 0:
        return False
    last_ref: ClaimRef | None = None
    last_found: set[str] = set()
    for c in cols:
        ref = refs[c]
        found = stems.intersection(story.alignment.stems[c])
        in_a_row = last_ref is not None and last_ref.account == ref.account and ref.claim == last_ref.claim + 1
        if in_a_row and sum(weights.get(w, 0.0) for w in found | last_found) >= COVERED_SHARE * total:
            return True
        last_ref, last_found = ref, found
    return False


def _specific_numbers(claim: Claim) -> frozenset[tuple[str | None, float]]:
    """The claim's numbers that few facts share by chance: three significant digits or more
    ("passed 234-193", "4,781 jobs"; not "$3.6 billion", "12 people", "1,500", a year)."""
    return frozenset(
        (q.unit, q.value)
        for q in claim.numbers
        if q.unit != "year"
        and not (q.value.is_integer() and 1800 <= q.value <= 2100)  # "the 2014 ban", "the 2016 campaign": a year
        and len("".join(ch for ch in q.text if ch.isdigit()).rstrip("0")) >= SPECIFIC_DIGITS
    )


def _tells_numbers(
    numbers: frozenset[tuple[str | None, float]], told: list[frozenset[tuple[str | None, float]]]
) -> bool:
    """One sentence of the voice states every specific number of the claim: it tells the fact
    ("The House approved the plan 234-193." / "The legislation, passed 234-193, …")."""
    return bool(numbers) and any(numbers <= t for t in told)


class _Unmentioned:
    """How many of a fact's names and numbers some voices never mention anywhere in their
    articles, and which of them to mark (not named by their own words either): the salience of an
    omission or exclusive within its outlet's fold. On judged BASIL
    items the earliest-told ones (leads: told by every outlet in its own words) were mostly wrong,
    while one with a name or number the other outlets lack can be checked at a glance."""

    def __init__(self, story: StoryView) -> None:
        self.story = story
        self.texts: dict[int, str] = {}
        self.vocabularies: dict[int, frozenset[str]] = {}
        # the story's outlets by name ("told HuffPost", "said on Fox News"): where an article got
        # a fact, not a fact the others lack
        names = {_words_of(account.outlet) for account in story.accounts}
        self.outlets = {n.removeprefix("the ").removesuffix(" news") for n in names} | names

    def text(self, voice: int) -> str:
        """The voice's words, lower case, one space apart and padded: " w1 w2 … "."""
        if voice not in self.texts:
            story = self.story
            claims = [c for a, account in enumerate(story.accounts) if story.voice[a] == voice for c in account.claims]
            self.texts[voice] = f" {_words_of(' '.join(c.text for c in claims))} "
        return self.texts[voice]

    def vocabulary(self, voice: int) -> frozenset[str]:
        """The voice's words, as a set."""
        if voice not in self.vocabularies:
            self.vocabularies[voice] = frozenset(self.text(voice).split())
        return self.vocabularies[voice]

    @cached_property
    def inner_capitals(self) -> frozenset[str]:
        """Words the story's sentences capitalise inside a clause: names, not the opening word of a
        sentence ("Residents gathered …") or of a quotation or a clause after a colon ("… said:
        “Well, we …")."""
        return frozenset(
            m.group()
            for account in self.story.accounts
            for c in account.claims
            for m in _CAPITALISED.finditer(c.text)
            if m.group()[0].isupper() and not _opens_clause(c.text, m.start())
        )

    def _markable(self, claim: Claim, raw: str, number: bool) -> str | None:
        """What of a name or number is worth marking for a reader: not the opening word of a sentence,
        a quotation or a clause after a colon that the story never capitalises inside a clause
        ("Residents gathered …", "… said: “Well, …"; "Engineer Tomas Brandt found …" marks the name),
        a title ("Sen."), a party tag ("D-Conn."), a day or month, or the "11" of "9/11"."""
        if number:
            at = claim.text.find(raw)
            fine = at >= 0 and claim.text[max(0, at - 1) : at] != "/" and any(ch.isdigit() for ch in raw)
            return raw if fine else None
        first, _, rest = raw.partition(" ")
        text, at = claim.text, claim.text.find(raw)
        if at >= 0 and _opens_clause(text, at) and first not in self.inner_capitals:
            if not text[:at].strip(_OPENERS):
                raw = rest  # the sentence's opening word, capitalised only there
            elif " " not in raw and not _QUOTED_NAME.match(text, at + len(raw)):
                return None  # a quotation's or clause's opening word ("“Well, …"; not the title “Glee”)
        return raw if raw and (" " in raw or not _UNMARKED.match(raw)) else None

    def __call__(self, claims: Sequence[Claim], voices: Sequence[int]) -> tuple[int, list[str]]:
        """How many of the claims' names and numbers none of the voices mentions (the salience;
        as checked by a fresh reader, counting every capitalised word the claim extraction found),
        and those to mark (as written; not a sentence's opening word)."""
        texts = [self.text(v) for v in voices]
        found: dict[str, str] = {}
        shown: list[str] = []
        details = [(x, c, False) for c in claims for x in c.entities] + [
            (q.text, c, True) for c in claims for q in c.numbers
        ]
        for raw, claim, number in details:
            words = _words_of(raw)
            if words in self.outlets:
                continue
            if words and words not in found and not any(f" {words} " in t for t in texts):
                found[words] = raw
                mark = self._markable(claim, raw, number)
                if mark and (number or not _named_elsewhere(words, texts, [self.vocabulary(v) for v in voices])):
                    shown.append(mark)
        return len(found), shown


# words of a name that do not name anyone by themselves: "Representative Nancy Pelosi of California"
# is mentioned where "Pelosi" is
_TITLE_WORDS = frozenset((
    "representative", "senator", "rep", "sen", "gov", "governor", "president", "elect", "mr", "mrs", "ms", "dr",
    "former", "vice", "secretary", "speaker", "leader", "chairman", "chairwoman", "judge", "justice", "attorney",
    "general", "minister", "prime", "mayor", "the",
))  # fmt: skip


# AP style's abbreviations of US states ("Rep. Adam Schiff (Calif.)"): "Calif." is named where
# "California" is
_STATES = {
    "ala": "alabama", "ariz": "arizona", "ark": "arkansas", "calif": "california", "colo": "colorado",
    "conn": "connecticut", "del": "delaware", "fla": "florida", "ga": "georgia", "ill": "illinois",
    "ind": "indiana", "kan": "kansas", "ky": "kentucky", "la": "louisiana", "md": "maryland",
    "mass": "massachusetts", "mich": "michigan", "minn": "minnesota", "miss": "mississippi", "mo": "missouri",
    "mont": "montana", "neb": "nebraska", "nev": "nevada", "okla": "oklahoma", "ore": "oregon",
    "pa": "pennsylvania", "tenn": "tennessee", "vt": "vermont", "va": "virginia", "wash": "washington",
    "wis": "wisconsin", "wyo": "wyoming",
}  # fmt: skip


def _named_elsewhere(words: str, texts: Sequence[str], vocabularies: Sequence[frozenset[str]]) -> bool:
    """A name whose own words the other side does use: not marked as never mentioned (its count in
    the salience stays). Titles and an "of Place" tail are not the name's own words; a possessive
    ("Ryan's") is its name, a state's abbreviation ("Calif.") its name, and so are the name's other
    forms ("Democrats" / "Democratic", "Texas" / "Texan") and common abbreviations ("GOP",
    "U.S.")."""
    head = words.split(" of ", 1)[0].removesuffix(" s")
    if head != words and any(f" {head} " in t for t in texts):
        return True  # "Ryan's" where "Ryan" is told
    if head in _STATES and any(f" {_STATES[head]} " in t for t in texts):
        return True  # "Calif." where "California" is told
    forms = _other_forms(head)
    if any(v & forms for v in vocabularies) or any(f" {f} " in t for t in texts for f in forms if " " in f):
        return True  # "Democrats" where "Democratic" is told, "GOP" where "Republicans" is
    own = [w for w in head.split() if w not in _TITLE_WORDS and len(w) >= 3]
    return " " in words and any(f" {w} " in t for t in texts for w in own)


@lru_cache(maxsize=TEXT_CACHE)
def _other_forms(name: str) -> frozenset[str]:
    """A one-word name's other forms, lower case: its plural, adjective or demonym ("democrat",
    "democrats", "democratic"; "texas", "texan"; "iraq", "iraqi") and, for a few names news writes
    both ways, the other way ("gop" / "republican", "u s" / "united states")."""
    forms: set[str] = set()
    for group in _SAME_NAME:
        if name in group:
            forms |= group
    if " " in name:
        return frozenset(forms - {name})
    bases = {name} | {name[: -len(end)] for end in _NAME_ENDINGS if name.endswith(end)}
    forms |= {base + end for base in bases if len(base) >= 4 for end in ("", *_NAME_ENDINGS)}
    for group in _SAME_NAME:  # "Republicans" where "GOP" is told
        if forms & group:
            forms |= group
    return frozenset(forms - {name})


_NAME_ENDINGS = ("s", "es", "n", "ns", "an", "ans", "ian", "ians", "i", "is", "ic", "ics", "ish")
_SAME_NAME = (
    frozenset(("gop", "republican", "republicans")),
    frozenset(("u s", "united states", "america", "american", "americans")),  # not "us": a pronoun
    frozenset(("u k", "uk", "united kingdom", "britain", "british")),
    frozenset(("u n", "united nations")),
)


def _opens_clause(text: str, at: int) -> bool:
    """The word at ``at`` opens the sentence, a quotation or a clause after a colon: it is
    capitalised there whether or not it is a name."""
    start = at
    while start > 0 and text[start - 1] in _OPENERS:
        start -= 1
    if start == 0 or text[start - 1] == ":":
        return True
    gap = text[start:at]  # between the last word and this one: spaces, marks, a parenthesis
    return "“" in gap or "‘" in gap or (gap[:1].isspace() and ('"' in gap or "'" in gap))


_OPENERS = " \t\n\"“‘'("
_QUOTED_NAME = re.compile(r"[.,!?;:]?[\"”’']")  # after the word: the quotation holds it alone (“Hannity,”)


def _marks(story: StoryView, ref: ClaimRef, fragments: Sequence[str]) -> list[tuple[int, int]]:
    """Where the claim states the names and numbers the other side never mentions (shown marked)."""
    return [m for fragment in fragments for m in story.mark_in(ref, fragment)]


def _words_of(text: str) -> str:
    return " ".join(_WORDS.findall(fold_accents(text).lower()))


_WORDS = re.compile(r"\w+")
_CAPITALISED = re.compile(r"(?<![\w’'-])[A-ZÀ-ÖØ-ÞĀ-ž][\w’'-]*")  # a word that may start upper case
_UNMARKED = re.compile(
    r"(?:[A-Z]|(?:I|He|She|It|We|They|You|That|There|What|Who)['’]\w+|Mrs?|Ms|Dr|Sens?|Reps?|Gov|Gen|Prof|Lt"
    r"|Col|Sgt|Capt|St|Rev|Jr|Sr|[DRI]-[A-Z][\w.-]*|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|January|February"
    r"|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?"
    r"|Oct|Nov|Dec)(?:['’]s)?\.?$"
)


def _coverage(story: StoryView, titles: Sequence[str], disputed: dict[ClaimRef, set[int]]) -> list[Divergence]:
    """Exclusives and omissions; ``disputed`` maps claims in a contradiction to the voices opposing them."""
    position = story.alignment.position
    unmentioned = _Unmentioned(story)
    specific: dict[ClaimRef, frozenset[tuple[str | None, float]]] = {}
    voice_numbers: dict[int, list[frozenset[tuple[str | None, float]]]] = {}
    for ref, claim in story.claims.items():
        if claim.numbers and (numbers := _specific_numbers(claim)):
            specific[ref] = numbers
            voice_numbers.setdefault(story.voice[ref.account], []).append(numbers)
    voice_quotes: dict[int, list[tuple[str, int]]] = {}
    for ref, claim in story.claims.items():
        if claim.quotes:
            voice_quotes.setdefault(story.voice[ref.account], []).extend(_quoted_stretches(claim))
    columns: dict[int, list[int]] = {}
    told: Counter[int] = Counter()  # substantive claims per account (refs are in text order)
    for i, ref in enumerate(story.alignment.refs):
        columns.setdefault(story.voice[ref.account], []).append(i)
        told[ref.account] += 1
    seen: Counter[int] = Counter()
    lead: set[ClaimRef] = set()
    for ref in story.alignment.refs:
        if told[ref.account] >= LEAD_MIN_SENTENCES and seen[ref.account] < LEAD_SENTENCES:
            lead.add(ref)
        seen[ref.account] += 1
    all_voices = sorted(set(story.voice))
    out = []
    contained = story.alignment.contained
    # semantic backend: a voice also tells a fact in other words when one of its sentences is a
    # paraphrase of one of the group's (cosine of the sentence vectors, threshold chosen on MSRP)
    similar = cosines = None
    if story.paraphrase and story.alignment.refs:
        vectors = story.vectors([story.claim(r).text for r in story.alignment.refs])
        cosines = vectors @ vectors.T
        similar = cosines >= PARAPHRASE_COSINE
    topic: set[str] | None = None

    def topic_stems() -> set[str]:
        """The content words every voice of the story uses somewhere (computed once, when needed)."""
        nonlocal topic
        if topic is None:
            used: dict[int, set[str]] = {}
            for ref in story.alignment.refs:
                used.setdefault(story.voice[ref.account], set()).update(story.alignment.stems_of(ref))
            topic = set.intersection(*used.values()) if used else set()
        return topic

    for index, group in enumerate(story.alignment.groups):
        carried = {story.voice[a] for a in group.accounts}
        shares: np.ndarray | None = None  # read only for the groups that may be covered elsewhere

        group_quotes: list[tuple[str, int]] | None = None

        def group_shares(group: ClaimGroup = group) -> np.ndarray:
            """Per sentence of the story: the mean share of the group's content it holds."""
            nonlocal shares
            if shares is None:
                shares = contained[[position[m] for m in group.members]].mean(axis=0)
            return shares

        def told_share(voice: int) -> float:
            """The largest share of the group's content that one sentence of the voice holds."""
            cols = columns.get(voice, [])
            return float(group_shares()[cols].max()) if cols else 0.0

        def partly_told(voice: int, group: ClaimGroup = group) -> bool:
            """One sentence of the voice holds PARTLY_TOLD_SHARE of the group's content, sharing a
            word with it beyond the story's topic (the words every voice uses)."""
            cols = columns.get(voice, [])
            if not cols or told_share(voice) < PARTLY_TOLD_SHARE:
                return False
            held = group_shares()[cols]
            best = story.alignment.refs[cols[int(np.argmax(held))]]
            own = set().union(*(story.alignment.stems_of(m) for m in group.members))
            return bool((own & story.alignment.stems_of(best)) - topic_stems())

        def covered(voice: int, group: ClaimGroup = group) -> bool:
            nonlocal group_quotes
            if told_share(voice) >= COVERED_SHARE:
                return True
            if voice in voice_numbers and any(
                _tells_numbers(specific[m], voice_numbers[voice]) for m in group.members if m in specific
            ):
                return True  # the voice states the fact's specific numbers in a sentence of its own
            cols = columns.get(voice, [])
            if similar is not None and cols and similar[np.ix_([position[m] for m in group.members], cols)].any():
                return True  # the voice tells it in other words (semantic backend, coverage)
            if group_quotes is None:
                group_quotes = [q for m in group.members for q in _quoted_stretches(story.claim(m))]
            return bool(group_quotes) and _quotes_same_statement(group_quotes, voice_quotes.get(voice, []))

        first = group.members[0]
        claim = story.claim(first)
        if claim.text.strip() == titles[first.account].strip():
            continue
        if len(carried) == 1 and len(all_voices) >= 3 and _informative(claim) and first not in disputed:
            if any(covered(v) for v in all_voices if v not in carried):
                continue  # another voice tells it too, inside a longer sentence
            if any(_covered_by_two(story, claim, columns.get(v, [])) for v in all_voices if v not in carried):
                continue  # or across two sentences in a row
            accounts = tuple(a for a in range(len(story.accounts)) if story.voice[a] in carried)
            outlet = outlet_names(story.accounts, accounts)
            others = [v for v in all_voices if v not in carried]
            count, new = unmentioned([story.claim(m) for m in group.members], others)
            evidence = tuple(story.evidence(r, "carried", _marks(story, r, new)) for r in group.members)
            summary = f"Only {outlet} reports: {quote(clip(claim.text, 110))}"
            other_cols = [c for v in others for c in columns.get(v, [])]
            if not other_cols:
                far = 1
            elif cosines is not None:  # semantic backend: no sentence of another voice even loosely like it
                far = int(cosines[np.ix_([position[m] for m in group.members], other_cols)].max() < LOOSE_COSINE)
            else:  # lexical: no sentence of another voice holds a fifth of its weighted content words
                far = int(max(told_share(v) for v in others) < LOOSE_SHARE)
            out.append(
                Divergence(
                    "exclusive",
                    COVERAGE_SEVERITY,
                    accounts,
                    evidence,
                    summary,
                    index,
                    salience=(int(first not in lead), far, len(new), count),
                )
            )
        elif len(carried) >= 2 and len(carried) * 2 > len(all_voices):
            opposing = set().union(*(disputed.get(m, set()) for m in group.members))
            first_told = min(
                (story.accounts[a].published for a in group.accounts if story.accounts[a].published), default=None
            )
            for voice in all_voices:
                published = story.accounts[voice].published
                if (
                    voice in carried
                    or voice in opposing
                    or (published and first_told and published < first_told)  # written before the fact was out
                    or partly_told(voice)  # "omits" would mislead
                    or covered(voice)
                ):
                    continue
                missing = tuple(a for a in range(len(story.accounts)) if story.voice[a] == voice)
                count, new = unmentioned([story.claim(m) for m in group.members], [voice])
                evidence = tuple(story.evidence(r, "carried", _marks(story, r, new)) for r in group.members)
                carriers = outlet_names(story.accounts, sorted(group.accounts))
                summary = f"{outlet_names(story.accounts, missing)} {'omits' if len(missing) == 1 else 'omit'} what {carriers} report: {quote(clip(claim.text, 100))}"
                out.append(
                    Divergence(
                        "omission",
                        COVERAGE_SEVERITY,
                        tuple(sorted(group.accounts) + list(missing)),
                        evidence,
                        summary,
                        index,
                        salience=(1, 1, len(new), count),
                    )
                )
    return out


def find_divergences(
    accounts: Sequence[Account], alignment: Alignment, titles: Sequence[str] = (), semantic: bool | str = False
) -> list[Divergence]:
    """Every divergence of the story, most severe first (``semantic``: the embedding backend decides
    what is the same fact; see ``compare.samefact``)."""
    story = StoryView(accounts, alignment, semantic)
    if len(set(story.voice)) < 2:  # one voice (an original and its copies): nothing to compare but
        return _ranked(_copy_changes(accounts, semantic))  # what a copy changes
    titles = list(titles) or [""] * len(accounts)
    out: list[Divergence] = []
    contradictions = _contradictions(story) + _denials(story)
    numeric = numeric_divergences(story)
    sides = frozenset(
        frozenset((ClaimRef(x.account, x.claim), ClaimRef(y.account, y.claim)))
        for d in numeric
        for x, y in combinations(d.evidence, 2)
    )
    out += numeric + attribution_divergences(story, sides) + entity_divergences(story)
    disputed: dict[ClaimRef, set[int]] = {}
    for d in contradictions:
        for e in d.evidence:
            others = {story.voice[o.account] for o in d.evidence if o.value != e.value}
            disputed.setdefault(ClaimRef(e.account, e.claim), set()).update(others)
    for index, group in enumerate(alignment.groups):
        if len({story.voice[a] for a in group.accounts}) < 2:
            continue
        out += quote_divergences(story, index, group)
        out += framing_divergences(story, group.members, index)
    known = {d.fingerprint for d in out}
    for divergence in contradictions:
        refs = [ClaimRef(e.account, e.claim) for e in divergence.evidence]
        framed = [f for f in framing_divergences(story, refs, None, same_fact_known=True) if f.fingerprint not in known]
        known.update(f.fingerprint for f in framed)
        out += framed
    out += contradictions + _coverage(story, titles, disputed) + _copy_changes(accounts, semantic)
    return _ranked(out)


_ORDER = ["contradiction", "numeric", "entity", "quote", "attribution", "framing", "omission", "exclusive"]


def _ranked(out: list[Divergence]) -> list[Divergence]:
    """Most severe first; within a severity and type, the more salient first: an exclusive outside
    its article's lead (LEAD_SENTENCES), then one no other voice tells even loosely (LOOSE_COSINE,
    or LOOSE_SHARE on the lexical path), then an omission or
    exclusive with more names and numbers the other side never mentions (see _Unmentioned), then
    the one told earlier."""
    return sorted(
        out,
        key=lambda d: (
            -SEVERITY_RANK[d.severity],
            _ORDER.index(d.type),
            -d.salience[0],
            -d.salience[1],
            -d.salience[2],
            -d.salience[3],
            min(e.claim for e in d.evidence),
            d.accounts,
        ),
    )


def _copy_changes(accounts: Sequence[Account], semantic: bool | str) -> list[Divergence]:
    """A near-copy (a wire story run by another outlet) is one voice with its original, but when it
    changes a number, a quote, a name or a status that change is what matters most: each copy is
    compared with its original alone, for those elements only."""
    out = []
    for copy, account in enumerate(accounts):
        original = account.copy_of
        if original is None or [c.text for c in account.claims] == [c.text for c in accounts[original].claims]:
            continue  # not a copy, or a verbatim one: it changes nothing (two of its own sentences that
            # differ, e.g. an updated toll further down, are not a change of the original)
        pair = [replace(accounts[original], copy_of=None), replace(account, copy_of=None)]
        view = StoryView(pair, align_claims([pair[0].claims, pair[1].claims]), semantic)
        found = numeric_divergences(view) + entity_divergences(view) + _contradictions(view) + _denials(view)
        for index, group in enumerate(view.alignment.groups):
            if len(group.accounts) == 2:
                found += quote_divergences(view, index, group)
        back = (original, copy)
        for d in found:
            evidence = tuple(replace(e, account=back[e.account]) for e in d.evidence)
            summary = f"{account.outlet} runs {accounts[original].outlet}'s story but changes it — {d.summary}"
            out.append(replace(d, accounts=tuple(sorted(back)), evidence=evidence, summary=summary, group=None))
    return out


def agreement_matrix(
    accounts: Sequence[Account], alignment: Alignment, divergences: Sequence[Divergence]
) -> list[list[float | None]]:
    """Share of the claim groups two outlets both carry on which they agree (None: nothing shared)."""
    n = len(accounts)
    shared = [[0] * n for _ in range(n)]
    differ = [[0] * n for _ in range(n)]
    by_group: dict[int | None, list[Divergence]] = {}
    for d in divergences:
        if d.type not in ("omission", "exclusive"):
            by_group.setdefault(d.group, []).append(d)
    for index, group in enumerate(alignment.groups):
        for a, b in combinations(sorted(group.accounts), 2):
            shared[a][b] += 1
            if any(d.disagree(a, b) for d in by_group.get(index, [])):
                differ[a][b] += 1
    for d in by_group.get(None, []):  # contradictions across groups
        for a, b in combinations(sorted(d.accounts), 2):
            if d.disagree(a, b):
                shared[a][b] += 1
                differ[a][b] += 1
    matrix: list[list[float | None]] = [[1.0 if i == j else None for j in range(n)] for i in range(n)]
    for a, b in combinations(range(n), 2):
        if shared[a][b]:
            matrix[a][b] = matrix[b][a] = round(1 - differ[a][b] / shared[a][b], 3)
    return matrix


def divergence_score(matrix: Sequence[Sequence[float | None]]) -> float:
    """1 − mean agreement over outlet pairs that share any claim: 0 = same facts, 1 = no fact agreed."""
    values = [v for i, row in enumerate(matrix) for j, v in enumerate(row) if i < j and v is not None]
    return round(1 - sum(values) / len(values), 3) if values else 0.0
