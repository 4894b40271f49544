"""Article text → claims (pure). One claim per sentence, with its character span in the
article, the speaker or source it is attributed to (including reported speech, with "he"/"she"
resolved to the previous named speaker), direct quotes (straight and curly marks), numbers with
what they count, names, hedges and negation.

Sentences come from blingfire's sentence breaker (a compiled model, ~1 ms per 50-sentence
article) followed by two repairs of its observed misses: a break right after a title or
abbreviation ("Mr.", "Sen.", "Jan.") and a "sentence" starting in lower case ("… he asked.").
On the 181 real article bodies of the extraction benchmark its sentence ends agree with pysbd's
at P 0.963 / R 0.976 (tests/test_claims.py), at a tenth of the time — what the 100 ms story budget needs."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import pairwise

import blingfire

from storydiff.compare.quantities import LOWER_WORDS, Quantity, find_numbers

REPORTING = (
    r"said|says|say|told|tells|added|adds|stated|states|noted|notes|claimed|claims|announced|announces|"
    r"reported|reports|warned|warns|insisted|insists|denied|denies|confirmed|confirms|argued|argues|"
    r"wrote|writes|declared|declares|acknowledged|acknowledges|maintained|maintains|commented|comments|"
    r"continued|explained|recalled|asserted|replied|responded|tweeted|stressed|emphasized|countered|"
    r"complained|conceded|admitted|vowed|promised|predicted|suggested|testified|remarked|quipped|joked"
)
_SOURCE = r"(?<!\w)(?:[A-Z][\w.'’-]*|a|an|the|two|three|several|senior|top|US|U\.S\.)(?:[ \-][\w.'’-]+){0,7}?"
# "X said", "X told reporters", "X said on Tuesday"
_SUBJECT_VERB = re.compile(rf"(?P<src>{_SOURCE})\s+(?:(?:has|have|had|also)\s+){{0,2}}(?P<verb>{REPORTING})\b")
# ", said X." / "said X," (inverted)
_VERB_SUBJECT = re.compile(
    rf"[,”\"]\s*(?P<verb>{REPORTING})\s+(?P<src>(?:the\s+|a\s+)?[A-Z][\w.'’-]*(?:[ \-][\w.'’-]+){{0,6}}?)\s*[.,;]"
)
_ACCORDING = re.compile(r"\b(?i:according to)\s+(?P<src>(?:the\s+|a\s+)?[\w.'’ -]{2,80}?)\s*(?:[,.;]|$)")
_QUOTE = re.compile(r"“([^”]{2,})”|\"([^\"]{2,})\"|‘([^’]{3,}?)’(?=[\s,.;:!?]|$)")
# a party and state tag between a lawmaker's name and the speech verb: "Sen. Tim Kaine (D-Va.) said",
# "Mitch McConnell, R-Ky., said", "David Long (R) said" — blanked before looking for the source
_PARTY = re.compile(r"\s?\((?:[RDI]|[RDI]-[A-Z][\w.]*(?: [A-Z][\w.]*)?)\)|,\s[RDI]-[A-Z][\w.]*(?: [A-Z][\w.]*)?,(?=\s)")
# "Pelosi called the proclamation a “gross abuse of power”": the words quoted are the source's
# (only with a quotation in the clause: "called for talks", "called him on Monday" say nothing)
_CALLED = re.compile(
    rf"(?P<src>{_SOURCE})\s+(?:also\s+)?called\s+(?!for\b|on\b|off\b|in\b|up\b)[^.;:“”\"]{{0,60}}[“\"]"
)
_PRONOUN_SPEECH = re.compile(
    rf"^(?:He|She)\s+(?:also\s+)?(?:{REPORTING})\b|[,”\"]\s*(?:he|she)\s+(?:{REPORTING})\s*[.,;]"
)
# “…,” they said: the sentence names its speakers as several people, so not one named person
_PLURAL_SPEECH = re.compile(rf"^They\s+(?:also\s+)?(?:{REPORTING})\b|[,”\"]\s*they\s+(?:{REPORTING})\s*[.,;]")
HEDGES = (
    "reportedly",
    "apparently",
    "allegedly",
    "purportedly",
    "so-called",
    "so called",
    "supposedly",
    "may",
    "might",
    "could",
    "possibly",
    "probably",
    "likely",
    "unconfirmed",
    "it is believed",
    "is said to",
    "rumoured",
    "rumored",
)
_HEDGE = re.compile(r"\b(" + "|".join(re.escape(h) for h in HEDGES) + r")\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(not|never|no|nothing|none|nobody|neither|nor|without|cannot|denied|denies|refused|rejected)\b|n[’']t\b",
    re.IGNORECASE,
)
# a capital not preceded by a word character: the capital first, then the lookbehind (two
# characters wide), so the search skips every other position without testing the lookbehind
_NAME = re.compile(r"[A-Z](?<![\w’'][A-Z])(?:[\w’'-]+|\.)(?:\s+(?:(?:of|de|van|von|al)\s+)?[A-Z][\w’'-]+){0,4}")
_NOT_NAMES = frozenset(
    [
        "The",
        "A",
        "An",
        "In",
        "On",
        "At",
        "But",
        "And",
        "Or",
        "If",
        "As",
        "It",
        "He",
        "She",
        "They",
        "We",
        "I",
        "This",
        "That",
        "These",
        "Those",
        "According",
    ]
)


@dataclass(frozen=True)
class Claim:
    index: int
    text: str
    span: tuple[int, int]  # character offsets in the article text
    speaker: str | None  # who the claim is attributed to ("Lavrov", "a senior White House official")
    quotes: tuple[str, ...]
    numbers: tuple[Quantity, ...]
    entities: tuple[str, ...]
    hedges: tuple[str, ...]
    negated: bool
    boilerplate: bool = False  # credit line, dateline, "Read more": not part of the account


_ABBREVIATION_END = re.compile(
    r"(?:^|[\s(])(?:Mr|Mrs|Ms|Dr|Prof|Sen|Rep|Gov|Gen|Col|Lt|Sgt|Capt|Cmdr|Adm|St|Rev|Hon|Pres|Det|Insp|No|Jr|Sr|"
    r"Mt|Ft|Jan|Feb|Mar|Apr|Aug|Sept?|Oct|Nov|Dec|vs|U\.S|U\.K|U\.N|a\.m|p\.m|Inc|Corp|Co|Ltd)\.$"
)
_MISSED_BREAK = re.compile(r"(?<=[a-z0-9][a-z0-9][.!?]) (?=(?:Mr|Mrs|Ms|Dr|Sen|Rep|Gov|Gen|Prof)\. [A-Z])")
_INNER_BREAK = re.compile(r"[.!?…][\"”’')\]]*\s")
_CONTINUATION = re.compile(r"[a-z,;:)\]]|[\"”’']\s*[a-z]")
_BOILERPLATE = re.compile(
    r"^\(?(?:\(?(?:Additional\s+)?(?:Reporting|Editing|Writing|Compiled|Translated)\s+by|"
    r"Copyright|All rights reserved|Read more|Click here|Sign up|Subscribe|Follow (?:us|\w+ \w+) on|"
    r"The following is (?:attributable|a statement)|This (?:story|article) (?:has been|was) (?:updated|corrected)|"
    r"Related:|Watch:|Listen:|Contact (?:the )?(?:writer|author|reporter))\b|^\d{1,2}\s+\w+\s+\d{4}$",
    re.IGNORECASE,
)


def _paragraph_sentences(paragraph: str) -> list[tuple[int, int]]:
    _, offsets = blingfire.text_to_sentences_and_offsets(paragraph)
    out: list[tuple[int, int]] = []
    for start, end in offsets:
        if out and (
            _ABBREVIATION_END.search(paragraph[out[-1][0] : out[-1][1]]) or _CONTINUATION.match(paragraph[start:end])
        ):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    split: list[tuple[int, int]] = []
    for start, end in out:  # blingfire keeps "… here. Dr. Smith …" together
        cuts = [start] + [start + m.end() for m in _MISSED_BREAK.finditer(paragraph[start:end])] + [end]
        split.extend((a, b) for a, b in pairwise(cuts) if a < b)
    return split


# a line that ends on one of these words stops mid-sentence: a hard-wrapped line ("… over the" /
# "Internet before …"), not a paragraph or a heading
_WRAP_ENDS = frozenset(["a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with", "over", "into",
                        "and", "or", "but", "that", "as", "about"])  # fmt: skip


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: its lines, joined where a line was wrapped mid-sentence."""
    out: list[tuple[int, int]] = []
    wrapped = False
    for line in re.finditer(r"[^\n]+", text):
        if wrapped and out and text[out[-1][1] : line.start()] == "\n" and line.group()[:1].isalpha():
            out[-1] = (out[-1][0], line.end())
        else:
            out.append(line.span())
        last = line.group().rsplit(None, 1)[-1:] or [""]
        wrapped = last[0] in _WRAP_ENDS
    return out


def split_sentences(text: str) -> list[tuple[str, int, int]]:
    """(sentence, start, end) with offsets into text; paragraphs are split first."""
    out = []
    for base, end in _paragraphs(text):
        paragraph = text[base:end].replace("\n", " ")  # (a wrapped line's break: a space, offsets kept)
        single = not _INNER_BREAK.search(paragraph.rstrip())  # one sentence: skip the breaker
        for start, end in [(0, len(paragraph))] if single else _paragraph_sentences(paragraph):
            piece = paragraph[start:end]
            sentence = piece.strip()
            if sentence:
                begin = base + start + (len(piece) - len(piece.lstrip()))
                out.append((sentence, begin, begin + len(sentence)))
    return out


_REPORTING_WORDS = frozenset(REPORTING.split("|"))
_HEDGE_WORDS = frozenset(h.split()[0].split("-")[0] for h in HEDGES)
_NEGATION_WORDS = frozenset(_NEGATION.pattern.split("(")[1].split(")")[0].split("|"))


_LEADING_JOINER = re.compile(r"^(?:and|but|while|as|that)\s+", re.IGNORECASE)
_TRAILING_TIME = re.compile(r"\s+(?:on|in|at|last|this|late|early)\s+(?:\w+day|\w+)$")
_ARTICLE = re.compile(r"^(?:The|A|An)\s+")


def _clean_source(source: str) -> str | None:
    source = _LEADING_JOINER.sub("", source.strip(' ,;:—-"“”'))
    source = _TRAILING_TIME.sub("", source)
    if not source or source.lower() in {"it", "this", "that", "which", "who", "they", "he", "she", "we", "i"}:
        return None
    if source.split()[-1].lower() in {"was", "were", "is", "are", "been", "be", "being"}:
        return None  # passive voice: "no injuries were reported" names no source
    if source.split()[0] in {"I", "We", "You"} or source.split()[0].startswith(("I'", "I’")):
        return None  # the speaker's own words ("I can't say …" he told): not who said them
    words = source.split()
    while len(words) > 1 and words[-1].endswith("ly") and words[-1].islower():
        words.pop()  # "… and repeatedly said": the adverb belongs to the verb
    if words[-1].lower() in _DANGLING:
        return None  # "the president's faith and [repeatedly] said": a clause cut, not a name
    return " ".join(words)


_DANGLING = frozenset(["and", "or", "but", "the", "a", "an", "of", "to", "in", "on", "for", "with", "that"])


def lower_words(sentence: str) -> frozenset[str]:
    """The sentence's lower-cased ASCII words: what the cheap exits of the finders below look at
    (read once per sentence by ``extract_claims`` and passed to each)."""
    return frozenset(LOWER_WORDS.findall(sentence.lower()))


def find_speaker(sentence: str, words: frozenset[str] | None = None) -> str | None:
    """The source the sentence is attributed to, or None for an unattributed claim."""
    lowered = sentence.lower()
    words = lower_words(sentence) if words is None else words
    if not _REPORTING_WORDS & words and "according to" not in lowered and "called" not in words:
        return None  # cheap exit: no reporting verb, no "according to"
    outside = sentence
    if "“" in sentence or '"' in sentence or "‘" in sentence:  # a verb inside a quote is not attribution
        outside = _QUOTE.sub(lambda m: " " * len(m.group()), sentence)
    if "(" in outside or "-" in outside:
        outside = _PARTY.sub(lambda m: " " * len(m.group()), outside)
    for pattern in (_ACCORDING, _VERB_SUBJECT) if "according to" in lowered else (_VERB_SUBJECT,):
        match = pattern.search(outside)
        if match and not (pattern is _VERB_SUBJECT and match.group("verb") in ("told", "tells")):
            return _clean_source(match.group("src"))  # (", told Reuters": Reuters listened, it did not speak)
    candidates = list(_SUBJECT_VERB.finditer(outside))
    if candidates:
        return _clean_source(candidates[-1].group("src") if len(candidates) > 1 else candidates[0].group("src"))
    if "called" in words:
        called = _CALLED.search(_PARTY.sub(lambda m: " " * len(m.group()), sentence))
        if called:
            return _clean_source(called.group("src"))
    return None


def find_hedges(sentence: str, words: frozenset[str] | None = None) -> tuple[str, ...]:
    if not _HEDGE_WORDS & (lower_words(sentence) if words is None else words):
        return ()  # cheap exit before the alternation
    return tuple(dict.fromkeys(h.lower() for h in _HEDGE.findall(sentence)))


def is_negated(sentence: str, words: frozenset[str] | None = None) -> bool:
    lowered = sentence.lower()
    words = lower_words(sentence) if words is None else words
    if not (_NEGATION_WORDS & words) and "n't" not in lowered and "n’t" not in lowered:
        return False
    return bool(_NEGATION.search(sentence))


def find_entities(sentence: str) -> tuple[str, ...]:
    names = []
    for match in _NAME.finditer(sentence):
        name = _ARTICLE.sub("", match.group().strip())
        if name not in _NOT_NAMES:
            names.append(name)
    return tuple(dict.fromkeys(names))


_PLURAL_START = re.compile(r"^(?:some|two|three|several|many|other|both|most|few)\b", re.IGNORECASE)


def _one_named_person(speaker: str) -> bool:
    """A pronoun ("he said") may stand for this source: one named person, not "some residents"."""
    words = speaker.split()
    return bool(words) and words[-1][:1].isupper() and not _PLURAL_START.match(speaker)


def claims_said_nothing(claims: list[Claim]) -> bool:
    """The previous sentence carries no quote (so a new quote is not a continuation of it)."""
    return not claims or not claims[-1].quotes


_MARK = re.compile(r"[“”\"]")
_FRAGMENT_WORDS = 3  # a piece of a quotation shorter than this is not compared as a quote


def _open_quotation(sentence: str, was_open: bool) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """Whether a quotation is still open after this sentence, the pieces of a quotation that
    runs over sentences that this sentence carries (the words before the closing mark when it
    starts inside one, the words after the opening mark when it does not close: "“A. B,” X said":
    "A." and "B,"), and the quotations that open and close inside it. Curly and straight marks
    both count (outlets mix them: “… own.")."""
    open_at: int | None = 0 if was_open else None
    pieces, closed = [], []
    for mark in _MARK.finditer(sentence):
        kind = mark.group()
        if kind == '"':  # a straight mark opens before a word and closes after one ("… he said" … ")
            before = sentence[mark.start() - 1] if mark.start() else " "
            after = sentence[mark.end()] if mark.end() < len(sentence) else " "
            if not before.isspace() and before not in "([—" and (after.isspace() or after in ".,;:!?)—"):
                kind = "”"
            elif (before.isspace() or before in "([—") and not after.isspace():
                kind = "“"
        if open_at is None:
            if kind != "”":  # a stray closing mark with nothing open opens nothing
                open_at = mark.end()
        elif kind == "“":
            open_at = mark.end()  # opened again: the earlier mark was never closed
        else:
            if open_at == 0 and was_open:
                pieces.append(sentence[: mark.start()])  # the end of a quotation opened earlier
            elif len(sentence[open_at : mark.start()].strip()) >= 2:
                closed.append(sentence[open_at : mark.start()].strip())
            open_at = None
    if open_at is not None:
        pieces.append(sentence[open_at:])  # a quotation that goes on past this sentence
    return (
        open_at is not None,
        tuple(p.strip(" ,;:—-") for p in pieces if len(p.split()) >= _FRAGMENT_WORDS and p.strip(" ,;:—-")),
        tuple(closed),
    )


# a transcript's turn: a paragraph that opens with its speaker's name and a colon ("Hunter: No.
# They caught them at the border. Therefore, …"); a name of one to three capitalised words
_TURN = re.compile(r"(?m)^[ \t]*([A-Z][\w’'.-]+(?:[ \t]+[A-Z][\w’'.-]+){0,2}):[ \t]+(?=\S)")
# labels that open a paragraph but name no one ("Update: …", "Photo: …")
_NOT_A_TURN = frozenset((
    "update", "updated", "note", "editor", "editors", "correction", "clarification", "photo", "photos", "video",
    "watch", "read", "related", "source", "sources", "credit", "caption", "warning", "disclaimer", "advertisement",
    "listen", "more", "also", "see", "breaking", "exclusive", "q", "a", "opinion", "analysis", "inside", "comment",
    "commentary", "review", "live", "timeline", "background", "context", "factbox", "explainer",
))  # fmt: skip


def transcript_turns(text: str) -> dict[int, str]:
    """Where each turn of a transcript starts (offset of its paragraph) → its speaker, when the text
    is one: at least two speakers and three turns, each a paragraph opening with a name and a colon.
    A label that opens one paragraph ("Update: …", a dateline "WASHINGTON: …") makes no transcript."""
    turns = {
        m.start(): m.group(1).title() if m.group(1).isupper() else m.group(1)  # "VAN SUSTEREN:" too
        for m in _TURN.finditer(text)
        if m.group(1).split()[0].lower().strip(".") not in _NOT_A_TURN
    }
    names = set(turns.values())
    if len(turns) < 3 or len(names) < 2 or len(names) == len(turns):
        return {}  # a speaker takes the floor again in a transcript; subheads ("Heroic: …") do not repeat
    body = _TURN.sub(" ", text)
    named = {name for name in names if _mentioned(name.split()[-1], body)}
    again = {name for name in names if list(turns.values()).count(name) >= 2}
    if not named or names - named - again:
        return {}  # speakers are people the text names ("Rep. Duncan Hunter") or who speak again, not "Fact:"
    return turns


def _mentioned(surname: str, text: str) -> bool:
    """The name inside a sentence, after a lower-case word, a title or a first name."""
    return bool(
        re.search(rf"(?:[a-z,;’'] |\b(?:Rep|Sen|Gov|Mr|Mrs|Ms|Dr)\.? |\b[A-Z][a-z]+ ){re.escape(surname)}\b", text)
    )


def extract_claims(text: str) -> list[Claim]:
    """Every sentence of the article as a claim with its evidence features. In a transcript every
    sentence of a turn is its speaker's (``transcript_turns``)."""
    claims: list[Claim] = []
    turns = transcript_turns(text) if ":" in text else {}
    turn_starts = sorted(turns)
    previous_speaker: str | None = None
    since = 0  # sentences since the previous speaker was named
    quote_open = False  # inside a quotation that runs over several sentences
    last_end = 0
    for index, (sentence, start, end) in enumerate(split_sentences(text)):
        if "\n" in text[last_end:start]:
            quote_open = False  # a new paragraph: a quotation that goes on opens again with a mark
        last_end = end
        was_open = quote_open
        quote_open, pieces, closed = (
            _open_quotation(sentence, was_open) if was_open or '"' in sentence or "“" in sentence else (False, (), ())
        )
        if was_open:  # starts inside a quotation: its marks pair from the sentence's start
            quotes = pieces
        elif '"' in sentence and ("“" in sentence or "”" in sentence):
            quotes = closed + pieces  # marks mixed (“… own," he said): paired by where they stand
        else:
            quotes = (
                tuple(next(g for g in m.groups() if g is not None).strip() for m in _QUOTE.finditer(sentence))
                if "“" in sentence or '"' in sentence or "‘" in sentence  # every _QUOTE match opens with one
                else ()
            ) + pieces
        words = lower_words(sentence)
        if pieces:  # who said it is told outside the quotation ("… according to ABC News …" is quoted)
            outside = sentence
            for piece in pieces:
                outside = outside.replace(piece, "…", 1)
            speaker = find_speaker(outside, lower_words(outside))
        else:
            speaker = find_speaker(sentence, words)
        # a quotation running over sentences keeps its speaker: “A,” X said. “B. C.”
        continues = was_open or (since == 0 and sentence.lstrip()[:1] in ("“", '"') and not claims_said_nothing(claims))
        if (
            speaker is None
            and previous_speaker
            and (
                (
                    continues
                    and since <= 2
                    and not (_PLURAL_SPEECH.search(sentence) and _one_named_person(previous_speaker))
                )
                # "he said" only right after the sentence that named its speaker: unambiguous
                or (since == 0 and _PRONOUN_SPEECH.search(sentence) and _one_named_person(previous_speaker))
            )
        ):
            speaker = previous_speaker  # "He said …" after "Ryabkov said …"; a quote's second sentence
        if turns:  # the turn this sentence is in, if its paragraph opened with a speaker's name
            at = bisect_right(turn_starts, start) - 1
            if at >= 0 and "\n" not in text[turn_starts[at] : start]:
                speaker = turns[turn_starts[at]]
        since = 0 if speaker else since + 1
        previous_speaker = speaker or previous_speaker
        claims.append(
            Claim(
                index=index,
                text=sentence,
                span=(start, end),
                speaker=speaker,
                quotes=quotes,
                numbers=find_numbers(sentence, start, words),
                entities=find_entities(sentence),
                hedges=find_hedges(sentence, words),
                negated=is_negated(sentence, words),
                boilerplate=bool(_BOILERPLATE.search(sentence)),
            )
        )
    return claims
