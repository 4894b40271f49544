"""Entity divergences (pure): the same role in the same fact filled by different named people.

The check is deliberately narrow, for precision: two voices name a person with the same surname
but a different given name ("Loretta Sanchez" / "Linda Sánchez") in claims about the same fact
(they share another named entity, or the same-fact decision holds with the names masked), and
neither article names both people anywhere — an article that mentions the two sisters is telling
about two people, not disagreeing about one.
"""

from __future__ import annotations

import re
from itertools import combinations

from rapidfuzz import fuzz

from storydiff.compare.align import ClaimRef
from storydiff.compare.evidence import Divergence, StoryView, outlet_names
from storydiff.compare.samefact import SAME_FACT, STRONG
from storydiff.compare.sources import fold

_CAP = r"[A-ZÀ-Ý][\wÀ-ÿ’'-]+"
# (?<![\w.])(?:{_CAP}|[A-Z]\.)…, written capital first and the lookbehind after it (see claims._NAME)
_PERSON = re.compile(rf"[A-ZÀ-Ý](?<![\w.][A-ZÀ-Ý])(?:[\wÀ-ÿ’'-]+|(?<=[A-Z])\.)(?:\s+(?:{_CAP}|[A-Z]\.))+")
TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "rep",
        "representative",
        "sen",
        "senator",
        "gov",
        "governor",
        "president",
        "vice",
        "former",
        "sheriff",
        "judge",
        "justice",
        "gen",
        "general",
        "secretary",
        "speaker",
        "leader",
        "chairman",
        "chairwoman",
        "congressman",
        "congresswoman",
        "mayor",
        "attorney",
        "chief",
        "prime",
        "minister",
        "lt",
        "col",
        "sgt",
        "capt",
        "adm",
        "prof",
        "rev",
        "st",
        "the",
        "democrat",
        "democratic",
        "republican",
        "state",
        "senators",
        "sens",
        "reps",
        "representatives",
        "top",
        "leading",
        "house",
        "obama-era",
        "congressional",
        "federal",
        "national",
    ]
)
# one person, two forms of the given name
NICKNAMES = {
    frozenset(p)
    for p in (
        ("bill", "william"), ("will", "william"), ("dick", "richard"), ("rick", "richard"), ("jim", "james"),
        ("joe", "joseph"), ("bob", "robert"), ("rob", "robert"), ("mike", "michael"), ("tom", "thomas"),
        ("ted", "edward"), ("ed", "edward"), ("chuck", "charles"), ("charlie", "charles"), ("tony", "anthony"),
        ("andy", "andrew"), ("dan", "daniel"), ("dave", "david"), ("jerry", "gerald"), ("jerry", "jerrold"),
        ("larry", "lawrence"), ("liz", "elizabeth"), ("beth", "elizabeth"), ("kate", "katherine"),
        ("pat", "patrick"), ("pete", "peter"), ("steve", "stephen"), ("steve", "steven"), ("sam", "samuel"),
        ("ben", "benjamin"), ("nick", "nicholas"), ("jack", "john"), ("hank", "henry"), ("newt", "newton"),
        ("mitch", "mitchell"), ("chris", "christopher"), ("matt", "matthew"), ("greg", "gregory"),
    )
}  # fmt: skip
_DESCRIBED = re.compile(r"\w[-‐][a-z]")  # "Kuwaiti-born", "Texas-based": a word with a lowercase part after a hyphen
_PERSON_MARK = r"(?:Mr|Mrs|Ms|Dr|Rep|Sen|Gov|Representative|Senator|Governor|President|Judge|Justice)\.?\s+"


def people(text: str) -> list[tuple[str, str, str, str]]:
    """(name as written, name without titles and initials, given name, surname) of the people named."""
    out = []
    for match in _PERSON.finditer(text):
        words = [w for w in match.group().split() if not re.fullmatch(r"[A-Z]\.", w)]
        while words and (fold(words[0]) in TITLES or _DESCRIBED.search(words[0])):
            words.pop(0)  # a title, or a description ("Kuwaiti-born", "London-based"): not a given name
        if len(words) < 2 or len(words) > 3 or any(fold(w) in TITLES for w in words):
            continue
        out.append((match.group(), " ".join(words), fold(words[0]), fold(words[-1])))
    return out


def _other_people(full_a: str, full_b: str) -> bool:
    """Two names of one surname name two people: no given word of one is a form of a given word of
    the other ("Londoner Mohammed Emwazi" / "Mohammed Emwazi", "Mates Casey Dean" / "Casey Dean")."""
    given_a, given_b = [fold(w) for w in full_a.split()[:-1]], [fold(w) for w in full_b.split()[:-1]]
    return all(_other_given(x, y) for x in given_a for y in given_b)


def _other_given(a: str, b: str) -> bool:
    """Two different given names: not one a nickname or prefix of the other (Bill / William)."""
    if frozenset((a, b)) in NICKNAMES:
        return False
    return not (a.startswith(b[:3]) or b.startswith(a[:3])) and fuzz.ratio(a, b) < 60


def _is_person(surname: str, texts: list[str]) -> bool:
    """Somewhere in the story the surname stands after a personal title ("Ms. Sánchez", "Rep. Sanchez")."""
    pattern = re.compile(_PERSON_MARK + r"((?:[A-Z][\w’'-]*\.?\s+){0,2}[A-Z][\w’'-]+)")
    return any(fold(m.group(1).split()[-1]) == surname for text in texts for m in pattern.finditer(text))


def entity_divergences(story: StoryView) -> list[Divergence]:
    named: dict[ClaimRef, list[tuple[str, str, str, str]]] = {}
    everyone: dict[int, set[tuple[str, str]]] = {}
    for ref, claim in story.claims.items():
        if not any(" " in e for e in claim.entities):
            continue  # no name of two words or more: no person to read
        found = people(claim.text)
        if found:
            named[ref] = found
            everyone.setdefault(story.voice[ref.account], set()).update((g, s) for _, _, g, s in found)
    texts = [c.text for c in story.claims.values()]
    by_surname: dict[str, list[tuple[ClaimRef, tuple[str, str, str, str]]]] = {}
    for ref, found in named.items():
        for person in found:
            by_surname.setdefault(person[3], []).append((ref, person))
    out = []
    seen: set[tuple[str, str]] = set()
    for surname, mentions in by_surname.items():
        givens = {p[2] for _, p in mentions}
        if len(givens) < 2:
            continue  # one person (or one form of the name) only
        for (a, (written_a, full_a, given_a, _)), (b, (written_b, full_b, given_b, _)) in combinations(mentions, 2):
            va, vb = story.voice[a.account], story.voice[b.account]
            if va == vb or not _other_people(full_a, full_b):
                continue
            if (given_a, surname) in everyone.get(vb, set()) or (given_b, surname) in everyone.get(va, set()):
                continue  # an article names both people
            if not _is_person(surname, texts):
                continue  # "Top Democrats" / "Leading Democrats" name no person
            others_a = {s for *_, s in named[a]} - {surname}
            others_b = {s for *_, s in named[b]} - {surname}
            score = story.same_fact(a, b, [written_a], [written_b])
            if not (others_a & others_b) and score < SAME_FACT:
                continue
            key = tuple(sorted((full_a, full_b)))
            if key in seen:
                continue
            seen.add(key)  # type: ignore[arg-type]
            severity = "high" if score >= STRONG else "medium"
            summary = (
                f"Different person named: {full_a} ({outlet_names(story.accounts, [a.account])}) vs "
                f"{full_b} ({outlet_names(story.accounts, [b.account])})"
            )
            evidence = (
                story.evidence(a, full_a, story.mark_in(a, written_a)),
                story.evidence(b, full_b, story.mark_in(b, written_b)),
            )
            accounts = tuple(sorted({a.account, b.account}))
            out.append(Divergence("entity", severity, accounts, evidence, summary, story.group_of(a)))
    return out
