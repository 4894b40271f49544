"""Event polarity of a claim (pure): does it say an event goes ahead or is halted?

Contradictions between outlets are rarely a sentence and its negation; they are "the meeting
was tabled" against "nothing was postponed". ``event_stance`` finds the claim's first status
predicate (``HALT`` or ``PROCEED`` words, or assent/dissent verbs), flips it for a negation in
the four words before it ("nothing was postponed", "is not needed") or for a denial frame in the
claim ("reports that it was cancelled were speculation"), and ties it to the event noun nearest
to it ("meeting", "summit", "talks", …) and to the people named around that noun, so that a
halted Rubio–Lavrov meeting is not compared with a continuing Putin–Trump one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storydiff.compare.features import ascii_letters

HALT = (
    r"tabled|shel(?:ve|ves|ved)|postpon(?:e|es|ed)|put on hold|on hold|cancel(?:s|ed|led)?|call(?:s|ed)? off|"
    r"scrap(?:s|ped)?|suspend(?:s|ed)?|delay(?:s|ed)?|frozen|freezes?|paus(?:e|es|ed)|stall(?:s|ed)?|"
    r"halt(?:s|ed)?|abandon(?:s|ed)?|scuttled|collapsed|dropped|derailed|off the table"
)
PROCEED = (
    r"continu(?:e|es|ed|ing)|going ahead|go ahead|goes ahead|on track|scheduled|take place|takes place|"
    r"will happen|needed|necessary|resum(?:e|es|ed|ing)|proceed(?:s|ed|ing)?|under way|underway|confirmed for"
)
ASSENT = r"agreed|agrees|accepted|accepts|approved|approves|confirmed|confirms|signed|backed"
DISSENT = r"denied|denies|rejected|rejects|refused|refuses|dismissed|dismisses|vetoed|disputed"
_PREDICATE = re.compile(
    rf"\b(?P<halt>{HALT})\b|\b(?P<proceed>{PROCEED})\b|\b(?P<assent>{ASSENT})\b|\b(?P<dissent>{DISSENT})\b",
    re.IGNORECASE,
)
# words and phrases that can start a predicate above, for a cheap exit before the regex
_TRIGGER_PREFIXES = (
    "tabled", "shel", "postpon", "cancel", "scrap", "suspend", "delay", "frozen", "freez", "paus", "stall", "halt",
    "abandon", "scuttled", "collapsed", "dropped", "derailed", "continu", "scheduled", "needed", "necessary", "resum",
    "proceed", "underway", "confirm", "agree", "accept", "approv", "sign", "backed", "denie", "deny", "reject",
    "refuse", "dismiss", "veto", "disputed",
)  # fmt: skip
_TRIGGER_PHRASES = (
    "on hold", "call off", "calls off", "called off", "go ahead", "goes ahead", "going ahead", "on track",
    "take place", "takes place", "will happen", "under way", "off the table",
)  # fmt: skip
_NEGATION = re.compile(r"\b(?:not|never|no|nothing|none|neither|nor|cannot|hardly)\b|n[’']t\b", re.IGNORECASE)
DENIAL_FRAME = re.compile(
    r"\b(?:speculation|speculative|false|fake|untrue|baseless|unfounded|groundless|fabricated|"
    r"denied|denies|dismissed|rejected|refuted|lies|disinformation)\b",
    re.IGNORECASE,
)
_EVENT = re.compile(
    r"\b(meeting|meetings|meet|talks|summit|visit|trip|negotiations|deal|agreement|ceasefire|truce|vote|"
    r"election|hearing|trial|launch|evacuation|strike|sanctions|rescue|search|match|concert|flight|plan)\b",
    re.IGNORECASE,
)
# the same patterns for a lower-cased text of ASCII letters (features.ascii_letters), which the
# regex engine runs about three times faster than a case-insensitive one
_PREDICATE_LOWER = re.compile(_PREDICATE.pattern)
_EVENT_LOWER = re.compile(_EVENT.pattern)
_CANONICAL = {"meetings": "meeting", "meet": "meeting", "talks": "meeting", "negotiations": "meeting"}
_NAME = re.compile(r"[A-Z](?<![\w’'][A-Z])[\w’'-]+(?:\s+[A-Z][\w’'-]+)*")  # the capital first: see claims._NAME
_ATTRIBUTIVE = re.compile(r"\b(?:a|an|the)\s+$", re.IGNORECASE)
# "refused to disclose" refuses an action, it denies no fact: the stance, if any, is the action's,
# negated ("refused to postpone" = not postponed; "refused to disclose" = none)
_REFUSED_ACTION = re.compile(r"\s+to\s+(?!(?:accept|agree|approve|confirm|sign|back|endorse)\b)", re.IGNORECASE)
# "continues to cast doubt over the ceasefire": "continue to" + a verb says something goes on doing
# it — the thing before it (the violence), not an event named after it; "the truce continues to
# hold" still tells the truce goes ahead
_GOES_ON_DOING = re.compile(r"\s+to\s+[a-z]", re.IGNORECASE)
_REFUSAL = re.compile(r"\brefus(?:e|es|ed|ing)\s+to\s+(?:\w+\s+){0,1}$", re.IGNORECASE)
# a clause that an assent or dissent verb reports: "confirmed that the labs do not have …" states
# the clause, so its negation is the claim's ("… do not have": the claim is negative)
_REPORTED_CLAUSE = re.compile(
    r"\s+that\s+(?P<clause>(?:(?!(?:and|but|while|as|because|although|though|since)\b)[^\s,;:.!?—–]+\s*){1,15})",
    re.IGNORECASE,
)
# a predicate inside a clause of time or condition asserts nothing: "more details as they are
# confirmed", "once the deal is signed", "if the talks continue"
_NOT_ASSERTED = re.compile(
    r"\b(?:(?:when|once|if|unless|until|whether)\s+(?:[\w’'-]+\s+){1,3}|"
    r"as\s+(?:[\w’'-]+\s+){0,2}(?:is|are|was|were|be|been|will|would|can|could)\s+)$",
    re.IGNORECASE,
)
_TITLE_WORDS = frozenset(
    [
        "President",
        "Minister",
        "Secretary",
        "State",
        "Prime",
        "Foreign",
        "Deputy",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "The",
        "A",
        "An",
        "US",
        "UK",
        "EU",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ]
)


@dataclass(frozen=True)
class EventStance:
    event: str  # canonical event noun, or "assent" for agreed/denied without an event noun
    proceeds: bool  # True: goes ahead / agreed; False: halted / denied
    participants: frozenset[str]  # surnames named around the event noun
    cue: tuple[int, int]  # span of the predicate inside the claim text
    negated: bool  # the predicate was flipped by a negation or denial frame


# one pattern for the cheap exit: a trigger phrase or prefix at the start of a word (the lookbehind
# first: the search fails fast inside words; same answers as the predicates need, at half the cost)
_TRIGGER = re.compile(r"(?<!\S)(?:" + "|".join(re.escape(p) for p in _TRIGGER_PHRASES + _TRIGGER_PREFIXES) + ")")


def _participants(text: str, start: int, end: int) -> frozenset[str]:
    names = set()
    for match in _NAME.finditer(text):
        if start - 80 <= match.start() <= end + 110:
            if match.start() == 0 and " " not in match.group():
                continue  # a capitalised first word is not a name ("Plans for …", "Western reports …")
            words = [w for w in match.group().split() if w not in _TITLE_WORDS]
            if words:
                names.add(words[-1].lower())
    return frozenset(names)


def event_stance(text: str) -> EventStance | None:
    """The claim's first event-status predicate with its polarity, or None when it has none."""
    lowered = text.lower()
    if not _TRIGGER.search(lowered):
        return None  # cheap exit: nothing here can start a status predicate
    plain = ascii_letters(text)  # then the lower-cased text has the same offsets
    for match in _PREDICATE_LOWER.finditer(lowered) if plain else _PREDICATE.finditer(text):
        if not match.group("halt") and _ATTRIBUTIVE.search(text[: match.start()]):
            continue  # "the scheduled talks", "a confirmed case" describe, they do not assert
        if _NOT_ASSERTED.search(text[max(0, match.start() - 40) : match.start()]):
            continue  # "… as they are confirmed", "if the talks continue": a condition, not a claim
        kind = match.lastgroup or ""
        if kind == "dissent" and match.group().lower().startswith("refus") and _REFUSED_ACTION.match(text, match.end()):
            continue  # "refused to disclose …": the action refused, if it is a status predicate, comes next
        before = " ".join(text[: match.start()].split()[-4:])
        negated = bool(_NEGATION.search(before)) or bool(_REFUSAL.search(text[: match.start()]))
        if kind in ("assent", "dissent") and (reported := _REPORTED_CLAUSE.match(text, match.end())):
            negated ^= bool(_NEGATION.search(reported.group("clause")))
        framed = bool(DENIAL_FRAME.search(text[match.end() :])) and kind in ("halt", "proceed")
        proceeds = kind in ("proceed", "assent")
        if negated != framed:
            proceeds = not proceeds
        nouns = list(_EVENT_LOWER.finditer(lowered) if plain else _EVENT.finditer(text))
        prior = [n for n in nouns if n.end() <= match.start()]
        later = [n for n in nouns if n.start() >= match.end()]
        if (
            kind == "proceed"
            and match.group().lower().startswith("continu")
            and _GOES_ON_DOING.match(text, match.end())
        ):
            later = []  # "… continues to cast doubt over the ceasefire": not the ceasefire's stance
        noun = prior[-1] if prior else (later[0] if later else None)
        if noun is None and kind in ("halt", "proceed"):
            continue
        event = _CANONICAL.get(noun.group().lower(), noun.group().lower()) if noun else "assent"
        if kind in ("assent", "dissent"):
            event = "assent"
        anchor = noun.span() if noun else match.span()
        return EventStance(
            event, proceeds, _participants(text, *anchor), match.span(), negated != framed or kind == "dissent"
        )
    return None


def reported_clause(text: str, stance: EventStance) -> str | None:
    """What an assent or dissent verb reports: "denied that [a woman held in Lebanon is his wife]"."""
    if stance.event != "assent":
        return None
    found = _REPORTED_CLAUSE.match(text, stance.cue[1])
    return found.group("clause").strip() if found else None


def opposed(a: EventStance | None, b: EventStance | None) -> bool:
    """Two stances on the same event (shared participants) with opposite polarity."""
    if a is None or b is None or a.event != b.event or a.proceeds == b.proceeds:
        return False
    return bool(a.participants & b.participants) or not (a.participants or b.participants)
