"""Precision rules of the divergence checks, one case per class of false report seen on real news
(issue 10). Every text here is invented; each case states the same fact (or not) in two outlets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storydiff.compare.checks import excerpt, quote_words
from storydiff.compare.claims import extract_claims
from storydiff.compare.render import highlight
from storydiff.compare.report import StoryArticle, build_report
from storydiff.compare.samefact import SAME_FACT, same_fact_score
from storydiff.compare.sources import Aliases, source_key

DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FILLER_A = (
    "The council met in the old town hall on Monday. Residents crowded the gallery to follow the debate. "
    "The session ran late into the evening."
)
FILLER_B = (
    "Councillors gathered at the town hall on Monday evening. The public gallery was full for the debate. "
    "The meeting ended close to midnight."
)
FILLER_C = "The harbour town council debated the budget on Monday. The vote is due next week. Local shops stayed open."


def report(*texts: str, outlets: tuple[str, ...] = ("Alpha Post", "Beta Daily", "Gamma News"), days=()) -> dict:
    articles = [
        StoryArticle(i, outlet, f"{outlet} on the council", text, DAY + timedelta(days=days[i] if days else 0))
        for i, (outlet, text) in enumerate(zip(outlets, texts, strict=False))
    ]
    return build_report(articles)


def of_type(rep: dict, kind: str) -> list[dict]:
    return [d for d in rep["divergences"] if d["type"] == kind]


def items(kind: str, first: str, second: str) -> list[dict]:
    """The items of one kind in a two-outlet story (each text followed by its outlet's filler)."""
    return of_type(report(f"{first} {FILLER_A}", f"{second} {FILLER_B}"), kind)


def framings(first: str, second: str) -> list[dict]:
    return items("framing", first, second)


# ---- the same-fact decision ------------------------------------------------------------------
def test_it_scores_the_same_fact_above_and_different_facts_below_the_threshold():
    same = same_fact_score(
        "The mayor signed the harbour budget on Monday.", "On Monday the mayor signed the budget for the harbour.", {}
    )
    other = same_fact_score("The mayor signed the harbour budget on Monday.", "Fishermen protested outside.", {})
    assert same >= SAME_FACT > other


# ---- numbers ---------------------------------------------------------------------------------
def test_it_reports_a_year_that_differs_for_the_same_fact():
    rep = report(
        f"Mayor Lena Ortiz has led the council since 2009. {FILLER_A}",
        f"Mayor Lena Ortiz has led the council since 2011. {FILLER_B}",
    )
    [numeric] = of_type(rep, "numeric")
    assert {c["value"] for c in numeric["claims"]} == {"2009", "2011"}


def test_it_does_not_pair_different_quantities_that_share_a_unit():
    rep = report(
        f"The company paid $40 million in taxes last year, the filing shows. {FILLER_A}",
        f"The company reported $130 million in income last year, the filing shows. {FILLER_B}",
    )
    assert of_type(rep, "numeric") == []


def test_running_counts_and_spans_far_apart_are_not_one_quantity():
    views = report(  # read at different times: a count that grows is no disagreement
        f"The video of the seal on the harbour steps had 10,000 views by Monday, the council said. {FILLER_A}",
        f"The video of the seal on the harbour steps had 27,000 views on Monday, the council said. {FILLER_B}",
    )
    assert of_type(views, "numeric") == []
    spans = report(  # "nine days ago" and "six years ago": two moments, not one span told twice
        f"The ferry captain, who bought the boat six years ago, was arrested at the harbour, police said. {FILLER_A}",
        f"The ferry captain was arrested at the harbour nine days ago, police said. {FILLER_B}",
    )
    assert of_type(spans, "numeric") == []
    floods = "Floods have killed {} people in the valley {}, the agency said."  # one year's dead, fifteen years'
    assert items("numeric", floods.format("some 2,000", "this year"), floods.format("13,000", "since 2009")) == []
    deal = "The harbour deal is worth {}, the council said."  # a scale word dropped: still one quantity
    assert len(items("numeric", deal.format("$800 million"), deal.format("$800"))) == 1
    close = report(  # spans of one thing a little apart still differ
        f"The harbour was closed for six days after the storm, the council said. {FILLER_A}",
        f"The harbour was closed for nine days after the storm, the council said. {FILLER_B}",
    )
    assert len(of_type(close, "numeric")) == 1


def test_a_span_of_years_written_with_a_hyphen_is_a_span_not_a_calendar_year():
    # "a 28-year career" is 28 years, which the same article also gives as "29 years": stated there
    rep = report(
        f"Harbour master Lena Kowal retired on Friday after a 28-year career at the port. "
        f"She spent 29 years at the port in all. {FILLER_A}",
        f"Harbour master Lena Kowal retired on Friday after a 29-year career at the port. {FILLER_B}",
    )
    assert of_type(rep, "numeric") == []


def test_it_does_not_report_a_value_the_other_article_also_states():
    rep = report(
        f"Turnout reached 48 percent in the north. Turnout reached 61 percent in the south. {FILLER_A}",
        f"Turnout in the south reached 61 percent, officials said. {FILLER_B}",
    )
    assert of_type(rep, "numeric") == []


def test_a_year_dates_what_its_clause_told_before_it():
    replaced = "Senior editors, including Ana Ruiz who Tomas Berg replaced as harbour editor in 2004, knew the story was false."
    left = "Ana Ruiz and the former director Paul Kent, who left the harbour paper in 2013, knew the story was false."
    assert of_type(report(f"{replaced} {FILLER_A}", f"{left} {FILLER_B}"), "numeric") == []  # two events
    founded = "The harbour paper, which Tomas Berg founded in {}, knew the ferry story was false."
    [year] = of_type(report(f"{founded.format(1998)} {FILLER_A}", f"{founded.format(1999)} {FILLER_B}"), "numeric")
    assert {c["value"] for c in year["claims"]} == {"1998", "1999"}


def test_it_reads_digits_grouped_in_lakhs_as_one_number():
    [claim] = extract_claims("The campus covers about 9,34,200 square feet, the filing says.")
    assert [(q.text, q.value) for q in claim.numbers] == [("9,34,200 square", 934200.0)]


def test_it_takes_dates_times_and_ranks_for_no_counts():
    [claim] = extract_claims("On Sept. 11 at 9:30 p.m. the No. 2 official met 14 delegates.")
    assert [q.text for q in claim.numbers] == ["14 delegates"]


def test_it_reports_a_death_toll_told_in_other_words():
    rep = report(
        f"Floods in the valley killed at least 14 people, the fire brigade said. {FILLER_A}",
        f"At least 22 people have died in the valley floods, the regional office said. {FILLER_B}",
    )
    [numeric] = of_type(rep, "numeric")
    assert numeric["severity"] == "high"


TOLL_FORMS = [
    "At least {n} people were killed when the bridge over the river collapsed on Monday, the fire brigade said.",
    "The bridge over the river collapsed on Monday and left {n} dead, the fire brigade said.",
    "The death toll from Monday's collapse of the bridge over the river rose to {n}, the fire brigade said.",
    "The fire brigade said {n} died when the bridge over the river collapsed on Monday.",
    "The collapse of the bridge over the river on Monday killed {n} people, the fire brigade said.",
]


@pytest.mark.parametrize("first,second", [(0, 3), (1, 4), (1, 2), (2, 4), (1, 3)])
def test_it_pairs_a_death_toll_whichever_way_each_outlet_words_it(first, second):
    # "9 people were killed", "left 16 dead", "the toll rose to 16", "16 died", "killed 16 people":
    # a count of people that the verb next to it says were killed, a count of the dead, a bare
    # number that died or that a toll reached are one death toll (they still pair only when the
    # words around both numbers tell one event)
    rep = report(f"{TOLL_FORMS[first].format(n=9)} {FILLER_A}", f"{TOLL_FORMS[second].format(n=16)} {FILLER_B}")
    [numeric] = of_type(rep, "numeric")
    assert {c["value"].split()[0] for c in numeric["claims"]} == {"9", "16"}


def test_it_keeps_apart_death_tolls_that_share_only_the_dying():
    # a war's toll and one ambush's toll are both deaths, nothing else in common: two quantities
    rep = report(
        f"Gunmen ambushed a border patrol near the pass on Tuesday, killing six guards, the army said. {FILLER_A}",
        f"The border patrol was ambushed on Tuesday. The ten-year conflict has killed more than 90,000 people, "
        f"a monitoring group said. {FILLER_B}",
    )
    assert of_type(rep, "numeric") == []
    two_events = report(  # both counts of people killed, in two different attacks
        f"An air strike on a convoy on Monday killed six people, officials said. {FILLER_A}",
        f"The convoy was hit on Monday. The siege of the mall last year killed 67 people. {FILLER_B}",
    )
    assert of_type(two_events, "numeric") == []
    scopes = report(  # one attack's dead and an insurgency's: counts several times apart
        f"Gunmen attacked the market in the border town on Sunday and killed five civilians, police said. {FILLER_A}",
        f"Gunmen attacked the market in the border town on Sunday, police said. The insurgency has killed "
        f"thousands of civilians in the border region, police said. {FILLER_B}",
    )
    assert of_type(scopes, "numeric") == []
    wounded = report(  # the injured are not the dead
        f"The bridge collapse on Monday killed 9 people and injured 30, the fire brigade said. {FILLER_A}",
        f"The bridge collapse on Monday left 9 dead and 30 wounded, the fire brigade said. {FILLER_B}",
    )
    assert of_type(wounded, "numeric") == []


# ---- quotes ----------------------------------------------------------------------------------
def test_it_normalises_typography_and_contractions_before_comparing_quotes():
    assert quote_words("We don’t back down — ever & always") == quote_words("We don't back down - ever and always")
    assert quote_words("He’s sure") == quote_words("He's sure")


def test_it_takes_an_excerpt_with_an_ellipsis_or_a_window_for_agreement():
    long = "We will rebuild the harbour wall before winter and we will pay for it ourselves"
    assert excerpt("We will rebuild the harbour wall … and we will pay for it ourselves", long)
    assert excerpt("rebuild the harbour wall before winter", long)
    assert not excerpt("We will never rebuild the harbour wall", long)


def test_it_reports_a_reworded_quote_but_not_a_respelled_name():
    reworded = report(
        f'Mayor Ortiz said "the budget will protect every school in the district." {FILLER_A}',
        f'Mayor Ortiz said "the budget may not protect every school in the district." {FILLER_B}',
    )
    [quote] = of_type(reworded, "quote")
    assert any("not" in (a + " " + b).split() for op, a, b in quote["diff"] if op != "equal")
    synonym = report(
        f'Mayor Ortiz said "the budget shields every school in the district." {FILLER_A}',
        f'Mayor Ortiz said "the budget protects every school in the district." {FILLER_B}',
    )
    assert of_type(synonym, "quote") == []  # same meaning in other words: not a divergence
    respelled = report(
        f'Ortiz said "we met Muammar al-Qaddafi\'s envoy in the capital last spring." {FILLER_A}',
        f'Ortiz said "we met Moammar Gadhafi\'s envoy in the capital last spring." {FILLER_B}',
    )
    assert of_type(respelled, "quote") == []


def test_cannot_can_not_and_cant_are_one_word():
    assert quote_words("We cannot stop now") == quote_words("We can not stop now") == quote_words("We can't stop now")
    assert quote_words("They won’t stop") == quote_words("They will not stop")
    rep = report(
        f'Mayor Ortiz said "we cannot let the harbour wall fall apart before winter." {FILLER_A}',
        f'Mayor Ortiz said "we can not let the harbour wall fall apart before winter." {FILLER_B}',
    )
    assert of_type(rep, "quote") == []


def test_a_false_start_in_a_transcript_is_no_negation():
    said = 'Mayor Ortiz said "and it\'s {}."'
    # "it's not, it's …": the speaker starts again, nothing is negated
    restart = said.format("not, it's a strong plan for the harbour wall")
    assert items("quote", restart, said.format("a strong plan for the harbour wall, one the whole town can back")) == []
    # a negation the speaker does not take back still changes the quote
    budget = "a budget that {} protect every school in the district"
    assert len(items("quote", said.format(budget.format("will")), said.format(budget.format("may not")))) == 1


def test_it_reads_an_abbreviation_with_or_without_dots_as_one_word():
    assert quote_words("the F.B.I. and the U.N.") == quote_words("the FBI and the UN")


def test_it_compares_the_sentences_of_a_quotation_that_runs_over_several_sentences():
    # the last sentence of a three-sentence quotation, marks mixed (curly open, straight close)
    rep = report(
        "“I spoke to the harbour board this morning,” Mayor Lena Ortiz said. “I told them the repairs are overdue. "
        f'If they agree, then the families will never stay in their homes all winter." {FILLER_A}',
        '"I spoke to the harbour board this morning," Mayor Lena Ortiz said. "I told them the repairs are overdue. '
        f'If they agree, then the families will always stay in their homes all winter." {FILLER_B}',
    )
    [quote] = of_type(rep, "quote")
    assert {c["value"] for c in quote["claims"]} == {
        "If they agree, then the families will never stay in their homes all winter.",
        "If they agree, then the families will always stay in their homes all winter.",
    }
    claims = extract_claims(
        '"I told them the repairs are overdue, according to the engineers. The board must act," Mayor Ortiz said.'
    )
    assert [c.speaker for c in claims] == [None, "Mayor Ortiz"]  # not "the engineers", who are inside the quote
    assert claims[0].quotes == ("I told them the repairs are overdue, according to the engineers.",)


def test_it_takes_no_cut_clause_or_the_speakers_own_words_for_a_source():
    for sentence in (
        "Brandt said she never doubted the mayor's plan and repeatedly said she backs it.",
        "Residents called it a waste of money and said the vote was rushed.",
        'I cannot say that for sure" he told the radio station.',  # a straight mark after a word closes
    ):
        [claim] = extract_claims(sentence)
        assert claim.speaker is None and claim.quotes == (), sentence


def test_it_does_not_take_two_sentences_of_one_speaker_for_two_wordings_of_one():
    rep = report(
        f'Mayor Ortiz said "I never said the harbour would close." She added "the ferry runs daily." {FILLER_A}',
        f'Mayor Ortiz said "I have always said the harbour stays open for good." She added "the ferry runs." {FILLER_B}',
    )
    assert of_type(rep, "quote") == []


# ---- attribution -----------------------------------------------------------------------------
def test_it_reports_the_same_quote_credited_to_two_people():
    rep = report(
        f'"This budget is a betrayal of the harbour families," Councillor Maya Brandt said. {FILLER_A}',
        f'"This budget is a betrayal of the harbour families," Councillor Omar Feld said. {FILLER_B}',
    )
    [attribution] = of_type(rep, "attribution")
    assert {c["value"] for c in attribution["claims"]} == {"brandt", "feld"}


def test_it_knows_one_person_under_two_names_and_ignores_unsourced_claims():
    rep = report(
        f"The mayor's lawyer, Alan Brink, said the contract was signed in March. {FILLER_A}",
        f"The contract was signed in March, the mayor's lawyer said. {FILLER_B}",
        f"The contract was signed in March. {FILLER_C}",
    )
    assert of_type(rep, "attribution") == []
    aliases = Aliases(["The mayor's lawyer, Alan Brink, said so."], ["lawyer", "brink"])
    assert aliases.same("lawyer", "brink")


@pytest.mark.parametrize(
    "first,second",
    [
        # a medium relaying the quote and the person who said it: not two credits
        ('"This budget is a betrayal of the harbour families," Councillor Maya Brandt said.',
         '"This budget is a betrayal of the harbour families," she said, according to the Valley Tribune.'),
        # two descriptions of a spokesperson: nobody credited instead
        ('"This budget is a betrayal of the harbour families," a council spokesman said.',
         '"This budget is a betrayal of the harbour families," an official said.'),
        # a spokeswoman named in one article, "a council spokesperson" in the other: maybe one person
        ('"This budget is a betrayal of the harbour families," council spokeswoman Maya Brandt said.',
         '"This budget is a betrayal of the harbour families," a council spokesperson said.'),
        # the relaying blogger credited, the speaker's name with another apostrophe in the sentence
        ("“Despite the criticism of the bishops, I will keep preaching in the harbour chapel,” Father Sean O’Neill said.",
         "“Despite the criticism of the bishops, I will keep preaching in the harbour chapel,” Father Sean O'Neill said, "
         "blogger Ann Kemp wrote."),
        # one surname with a letter slipped
        ('"This budget is a betrayal of the harbour families," Councillor Maya Kessler said.',
         '"This budget is a betrayal of the harbour families," Councillor Maya Kestler said.'),
        # a source described by no name at all: no one else credited
        ('"This budget is a betrayal of the harbour families," Councillor Maya Brandt said.',
         '"This budget is a betrayal of the harbour families," the statement said.'),
        # one name in two transliterations
        ('"This budget is a betrayal of the harbour families," Minister Farid Qassemi said.',
         '"This budget is a betrayal of the harbour families," Minister Farid Ghasemi said.'),
        # "a witness" where the other outlet introduces its speaker as "an eyewitness, Marek Ilves": maybe one person
        ('"Nobody in the square stepped in to stop the beating," a witness said.',
         'An eyewitness, Marek Ilves, stood by the fountain all afternoon. '
         '"Nobody in the square stepped in to stop the beating," Ilves said.'),
        # the other article names the first source too (a sentence earlier: the speaker misread)
        ('"This budget is a betrayal of the harbour families," Councillor Maya Brandt said.',
         'Maya Brandt spoke after Councillor Omar Feld. "This budget is a betrayal of the harbour families," '
         "Feld's aide said."),
    ],
)  # fmt: skip
def test_it_does_not_report_credits_that_are_not_contested(first, second):
    rep = report(f"{first} {FILLER_A}", f"{second} {FILLER_B}")
    assert of_type(rep, "attribution") == []


def test_a_described_source_against_a_named_one_the_story_never_describes_so_is_still_reported():
    rep = report(
        f'"Nobody in the square stepped in to stop the beating," a witness said. {FILLER_A}',
        f"A shopkeeper, Marek Ilves, stood by the fountain all afternoon. "
        f'"Nobody in the square stepped in to stop the beating," Ilves said. {FILLER_B}',
    )
    [attribution] = of_type(rep, "attribution")
    assert "a witness" in attribution["summary"] and "Ilves" in attribution["summary"]


def test_role_nouns_are_keyed_in_the_singular():
    assert source_key("a witness") == source_key("two witnesses") == "witness"  # not "witnes"
    assert source_key("senior officials") == "official"


def test_it_rejects_junk_sources():
    assert source_key("She went") is None and source_key("first") is None
    assert source_key("Kremlin spokesman Dmitry Peskov") == "peskov"
    assert source_key("a senior White House official") == "official"


def test_it_keeps_the_speaker_of_a_quote_that_runs_over_two_sentences_and_no_plural_pronoun():
    claims = extract_claims(
        "“We will not sell the harbour,” Mayor Lena Ortiz said. “It belongs to the town. "
        "Nobody will take it from us.” Some residents of the old quarter protested. He said it was unfair."
    )
    assert [c.speaker for c in claims][:3] == ["Mayor Lena Ortiz", "Mayor Lena Ortiz", "Mayor Lena Ortiz"]
    assert claims[-1].speaker is None  # "he" is not "some residents"


def test_a_wording_the_other_outlet_also_quotes_elsewhere_is_no_changed_quote():
    did = "“We did not sign any deal with the harbour board,” union leader Piet Arndt said in a video."
    will = "“We will not sign any deal with the harbour board,” union leader Piet Arndt said in a video on Friday."
    [quote] = of_type(report(f"{did} {FILLER_A}", f"{will} {FILLER_B}"), "quote")
    assert {c["outlet"] for c in quote["claims"]} == {"Alpha Post", "Beta Daily"}
    both = f"{did} The strike goes on. “We will not sign any deal with the harbour board,” Arndt added."
    assert of_type(report(f"{both} {FILLER_A}", f"{will} {FILLER_B}"), "quote") == []  # he said both
    other = f"{did} The strike goes on. “We will not sign any deal with the harbour board,” Mayor Dora Halvorsen said."
    assert of_type(report(f"{other} {FILLER_A}", f"{will} {FILLER_B}"), "quote")  # someone else's words excuse nothing


def test_the_same_words_dated_another_day_are_another_statement_but_another_number_is_a_changed_quote():
    hoax = "The hoax page read: “At about 9 a.m. on {}, our beloved harbour master was found dead at his home in the old town.”"
    thursday, sunday = hoax.format("Thursday (November 6, 2014)"), hoax.format("Sunday (April 20, 2014)")
    assert of_type(report(f"{thursday} {FILLER_A}", f"{sunday} {FILLER_B}"), "quote") == []
    hire = (
        "“We will hire {} dock workers at the northern terminal before the winter season,” Mayor Dora Halvorsen said."
    )
    [quote] = of_type(report(f"{hire.format(200)} {FILLER_A}", f"{hire.format(300)} {FILLER_B}"), "quote")
    assert "200" in quote["summary"] and "300" in quote["summary"]


def test_a_quotation_that_they_said_is_not_credited_to_the_one_person_named_before():
    claims = extract_claims(
        "The club's manager, Ines Moreau, confirmed the news. “They were close for years,” Moreau said. "
        "The two surviving members grieved too. “We lost a brother. Goodbye, friend,” they said."
    )
    assert claims[1].speaker == "Moreau"
    assert claims[-1].speaker is None  # "they": the members, not Moreau


# ---- contradiction ---------------------------------------------------------------------------
def test_a_denial_of_the_speakers_own_claim_that_the_other_outlet_quotes_is_told_by_both():
    stated = "“They caught them on the quay,” Ortiz said. “So we know smugglers were using the harbour at night to land cargo.”"
    denial = (
        "The port authority released a statement denying that smugglers were using the harbour at night to land cargo."
    )
    [_] = of_type(report(f"{denial} {FILLER_A}", f"{stated} {FILLER_B}"), "contradiction")
    # the denying outlet reports Ortiz's claim as hers, and its denial: the other only quotes her
    both = f"Councillor Dana Ortiz said smugglers had been seen on the quay. The port authority denied Ortiz's claim. {denial}"
    assert of_type(report(f"{both} {FILLER_A}", f"{stated} {FILLER_B}"), "contradiction") == []


def test_no_confirmation_yet_is_not_the_opposite_of_a_confirmation():
    confirmed = (
        "A harbour official, speaking on condition of anonymity, confirmed that the drowned sailor is Piet Arndt "
        "of the Dockers Union."
    )
    not_yet = (
        "While police have not confirmed the sailor's identity, sources told the Valley Tribune that the drowned "
        "sailor was Piet Arndt of the Dockers Union."
    )
    assert of_type(report(f"{confirmed} {FILLER_A}", f"{not_yet} {FILLER_B}"), "contradiction") == []


def test_a_denial_of_someones_claim_does_not_contradict_an_outlet_that_reports_that_claim_as_theirs():
    denial = (
        "The Dockers Union has denied claims by the Harbour Board that it has agreed a truce with the "
        "Harbour Board and will restart the cranes."
    )
    reported = "The Harbour Board says it has agreed a truce with the Dockers Union and the cranes will restart."
    assert of_type(report(f"{reported} {FILLER_A}", f"{denial} {FILLER_B}"), "contradiction") == []
    # stated as the outlet's own fact, the truce is contradicted by the denial
    stated = "The Harbour Board and the Dockers Union have agreed a truce and the cranes will restart."
    assert of_type(report(f"{stated} {FILLER_A}", f"{denial} {FILLER_B}"), "contradiction")


def test_a_denial_and_a_confirmation_of_different_clauses_are_no_opposite_accounts():
    tail = "of the militia leader Omar Kassem, state television reported on Tuesday."
    denied = f"An Iraqi official denied that a woman detained in Lebanon is a wife {tail}"
    # a confirmation of another fact about the same people: the child, not the woman
    other = f"DNA tests have confirmed that the child held by Lebanese authorities is the daughter {tail}"
    assert of_type(report(f"{denied} {FILLER_A}", f"{other} {FILLER_B}"), "contradiction") == []
    # a confirmation of the very clause denied is an opposite account
    same = f"Officials have confirmed that a woman detained in Lebanon is a wife {tail}"
    assert of_type(report(f"{denied} {FILLER_A}", f"{same} {FILLER_B}"), "contradiction")


def test_it_does_not_contradict_sentences_that_share_names_but_not_the_fact():
    rep = report(
        f"Councillor Brandt backed the mayor's plan for the harbour. {FILLER_A}",
        f"The council rejected appeals to delay the vote, Brandt said. {FILLER_B}",
    )
    assert of_type(rep, "contradiction") == []


def test_it_does_not_flip_a_sentence_that_holds_the_other_whole():
    rep = report(
        f"Mayor Ortiz said money is not the goal, safety of the harbour is the goal. {FILLER_A}",
        f"Mayor Ortiz said safety of the harbour is the goal. {FILLER_B}",
    )
    assert of_type(rep, "contradiction") == []


@pytest.mark.parametrize(
    "negated,plain",
    [
        # a negation that denies no predicate of the other sentence: a pause, an inaction
        ("Mayor Ortiz told the council: and it's not, it's a fair budget for the harbour.",
         "Mayor Ortiz told the council: and it's a fair budget for the harbour."),
        ("The harbour guards then did nothing and allowed the trawler to leave the port.",
         "The harbour guards then allowed the trawler to leave the port."),
        # "instead of" says what "not" says
        ("The three harbour inspectors call themselves wardens not officers.",
         "The three harbour inspectors call themselves wardens instead of officers."),
    ],
)  # fmt: skip
def test_it_does_not_flip_sentences_that_say_the_same(negated, plain):
    rep = report(f"{negated} {FILLER_A}", f"{plain} {FILLER_B}")
    assert of_type(rep, "contradiction") == []


def test_it_still_flips_a_sentence_whose_predicate_is_denied():
    rep = report(
        f"The harbour guards were not allowed to board the trawler in the port on Friday. {FILLER_A}",
        f"The harbour guards were allowed to board the trawler in the port on Friday. {FILLER_B}",
    )
    assert len(of_type(rep, "contradiction")) == 1


def test_it_reports_a_denial_against_the_claim_it_denies():
    rep = report(
        f"The port authority denied that the ferry crew ignored the storm warning on Friday night. {FILLER_A}",
        f"The ferry crew ignored the storm warning on Friday night, two passengers told reporters. {FILLER_B}",
    )
    [contradiction] = of_type(rep, "contradiction")
    assert {c["value"] for c in contradiction["claims"]} == {"denied", "stated"}


def test_a_denial_both_outlets_report_is_no_contradiction_between_them():
    # the stating outlet quotes the claim and reports the denial too (aligned with the other's denial)
    denial = "The port authority denied that the ferry crew ignored the storm warning on Friday night."
    told_both = (
        "The ferry crew ignored the storm warning on Friday night, two passengers told reporters. "
        "The port authority denied the passengers' account on Saturday."
    )
    alone = report(f"{denial} {FILLER_A}", f"{told_both.split('. ')[0]}. {FILLER_B}")
    assert len(of_type(alone, "contradiction")) == 1  # the control: one outlet states, the other denies
    both = report(
        f"{denial} The port authority denied the passengers' account on Saturday. {FILLER_A}",
        f"{told_both} {FILLER_B}",
    )
    assert of_type(both, "contradiction") == []


def test_a_denial_whose_statement_both_outlets_carry_is_no_contradiction_between_them():
    # the stating outlet quotes a lawmaker's claim and carries the agency's statement calling it false
    denial = "The coast agency released a statement denying that smugglers were landing boats at the north pier."
    statement = "The suggestion that smugglers have been landing boats at the north pier is entirely false."
    claim = '"So we know that smugglers are landing boats at the north pier every single week," Dale said.'
    alone = report(f"{denial} {statement} {FILLER_A}", f"{claim} {FILLER_B}")
    assert len(of_type(alone, "contradiction")) == 1  # the control: the stating outlet lacks the statement
    both = report(f"{denial} {statement} {FILLER_A}", f"{claim} {statement} {FILLER_B}")
    assert of_type(both, "contradiction") == []


def test_a_confirmed_negative_and_a_refused_action_do_not_oppose_what_they_resemble():
    # "confirmed that … do not have" states a negative fact, as "could not have been confirmed" does
    confirmed_negative = (
        "The health agency confirmed that the clinics in Valtera do not have the kits to test for the fever."
    )
    not_confirmed = "An agency spokesman said the fever could not have been confirmed in Valtera without the kits."
    assert items("contradiction", confirmed_negative, not_confirmed) == []
    # refusing to disclose a figure denies nothing that another outlet confirms
    refused = "In an interview, the striker refused to disclose his wage at the Valtera club, but called it very high."
    confirmed = "The Valtera club confirmed that the striker's wage is very high for the league."
    assert items("contradiction", refused, confirmed) == []


# ---- framing ---------------------------------------------------------------------------------
def test_it_ignores_loaded_words_inside_quotes_and_hedges_on_both_sides():
    quoted = report(
        f'Councillor Brandt called the vote "a farce" after the budget passed by two votes. {FILLER_A}',
        f"Councillor Brandt criticised the vote after the budget passed by two votes. {FILLER_B}",
    )
    assert of_type(quoted, "framing") == []
    hedged = report(
        f"Two clerks allegedly leaked the harbour contract to a developer in May. {FILLER_A}",
        f"Two clerks were accused of leaking the harbour contract to a developer in May. {FILLER_B}",
    )
    assert of_type(hedged, "framing") == []


TRUCE = "The army agreed a truce with {} in the northern hills on Friday."


def test_a_loaded_word_the_other_outlet_uses_in_another_form_is_the_same_wording():
    assert framings(TRUCE.format("Islamist terrorists"), TRUCE.format("the Islamist terrorist group")) == []
    [framing] = framings(TRUCE.format("Islamist terrorists"), TRUCE.format("the Islamist rebel group"))
    assert "terrorists" in framing["summary"]


def test_framing_needs_wording_the_other_article_never_uses_and_is_no_verdict_on_truth():
    elsewhere = report(  # the other outlet says "terrorists" a sentence later
        f"The army agreed a truce with Islamist terrorists in the northern hills on Friday. {FILLER_A}",
        f"The army agreed a truce with the Islamist rebel group in the northern hills on Friday. "
        f"The terrorists freed two hostages. {FILLER_B}",
    )
    assert of_type(elsewhere, "framing") == []
    verdict = report(  # "hoax" says the photo is false: a question of fact, not of wording
        f"The photo of a shark swimming on the flooded ring road is a hoax, the fire brigade said. {FILLER_A}",
        f"A photo of a shark swimming on the flooded ring road spread online, the fire brigade said. {FILLER_B}",
    )
    assert of_type(verdict, "framing") == []
    quoted = report(  # a quotation running over two sentences is the speaker's wording, not the outlet's
        f'"We will not talk to them," Mayor Ortiz said. "They are thugs who burned the harbour office." {FILLER_A}',
        f"Mayor Ortiz refused talks with the group who burned the harbour office. {FILLER_B}",
    )
    assert of_type(quoted, "framing") == []


def test_a_hedge_on_who_said_it_is_not_framing_but_a_hedge_on_the_fact_is():
    # "reportedly reads": passed on second-hand, the words are the same
    note = 'The note left at the harbour gate {}: "the wall will be rebuilt before winter."'
    assert framings(note.format("reportedly reads"), note.format("reads")) == []
    plan = "The council {} to sell the old harbour wall to a developer before winter."
    [framing] = framings(plan.format("reportedly plans"), plan.format("plans"))
    assert "reportedly" in framing["summary"]


def test_a_loaded_word_whose_root_the_other_outlet_uses_is_the_same_wording():
    video = "The {} behind the harbour bombing released a video on Monday."
    assert framings(video.format("terrorists"), video.format("group") + " The terror group is banned.") == []


def test_a_hedge_the_other_outlet_uses_in_another_form_is_the_same_wording():
    clip = "A video {} the harbour master at the quay spread online on Monday."
    also = " The clip, purporting to come from the port, was shared widely."
    assert framings(clip.format("purportedly showing"), clip.format("showing") + also) == []


def test_the_wire_services_neutral_word_for_fighters_is_not_framing():
    # "militants" is how the agencies describe armed fighters without a verdict; "terrorists" is a label
    assert framings(TRUCE.format("Islamist militants"), TRUCE.format("the Islamist rebel group")) == []


def test_it_was_reported_keeps_the_distance_that_reportedly_keeps():
    assert (
        framings(
            "The harbour master has reportedly been dismissed by the port board after the spill.",
            "A few days ago, it was reported that the harbour master had been dismissed by the port board after the spill.",
        )
        == []
    )


def test_what_the_writer_infers_from_what_was_seen_and_the_plain_word_for_rumour_are_not_framing():
    walk = "In the video the harbour master {}walked away from the mayor before the speech ended."
    assert framings(walk.format("apparently "), walk.format("")) == []
    talk = "There had been {} that the harbour master would resign before the winter."
    assert framings(talk.format("speculation"), talk.format("suggestions")) == []


# ---- entity ----------------------------------------------------------------------------------
def test_it_reports_a_different_person_in_the_same_role():
    rep = report(
        f"Rep. Dana Ortiz won the vice chair race, defeating Rep. Carl Mendes. {FILLER_A}",
        f"Rep. Maria Ortiz won the vice chair race after defeating Rep. Carl Mendes by two votes. {FILLER_B}",
    )
    [entity] = of_type(rep, "entity")
    assert {c["value"] for c in entity["claims"]} == {"Dana Ortiz", "Maria Ortiz"}


def test_it_reports_no_entity_when_an_article_names_both_people():
    rep = report(
        f"Rep. Dana Ortiz won the vice chair race, defeating Rep. Carl Mendes. Her sister Maria Ortiz cheered. {FILLER_A}",
        f"Rep. Maria Ortiz won the vice chair race after defeating Rep. Carl Mendes by two votes. {FILLER_B}",
    )
    assert of_type(rep, "entity") == []


def test_a_description_or_a_longer_form_of_the_name_is_not_another_person():
    described = report(  # "Texas-born" describes Ortiz: no given name to differ
        f"Rep. Dana Ortiz won the vice chair race, defeating Rep. Carl Mendes. {FILLER_A}",
        f"Texas-born Ortiz won the vice chair race after defeating Rep. Carl Mendes by two votes. {FILLER_B}",
    )
    assert of_type(described, "entity") == []
    longer = report(  # a word before the full name ("Veteran Dana Ortiz") is still Dana Ortiz
        f"Rep. Dana Ortiz won the vice chair race, defeating Rep. Carl Mendes. {FILLER_A}",
        f"Veteran Dana Ortiz won the vice chair race after defeating Rep. Carl Mendes by two votes. {FILLER_B}",
    )
    assert of_type(longer, "entity") == []


# ---- omission --------------------------------------------------------------------------------
def test_an_article_published_before_the_fact_broke_does_not_omit_it():
    fact = "The mayor resigned on Tuesday after the audit report was published in full."
    rep = report(
        f"{FILLER_C}",
        f"{fact} {FILLER_A}",
        f"{fact} {FILLER_B}",
        days=(0, 1, 1),
    )
    assert not [d for d in of_type(rep, "omission") if "resigned" in d["summary"]]


# ---- near-copies -----------------------------------------------------------------------------
def test_a_near_copy_that_changes_the_toll_is_compared_with_its_original():
    wire = (
        "Floods in the valley killed at least 14 people, the fire brigade said on Monday. "
        "Rescue teams searched the flooded villages through the night. "
        "The regional governor ordered the evacuation of 3,000 residents. "
        "Schools in the valley will stay closed until Friday. "
        "Forecasters expect more rain on Wednesday."
    )
    copy = wire.replace("at least 14 people", "at least 21 people")
    rep = report(wire, copy, FILLER_C, outlets=("Valley Wire", "Hill Gazette", "Coast Times"))
    assert {o["name"]: o["copy_of"] for o in rep["outlets"]}["Hill Gazette"] == "Valley Wire"
    [numeric] = of_type(rep, "numeric")
    assert "changes it" in numeric["summary"] and {c["value"] for c in numeric["claims"]} == {
        "14 people",
        "21 people",
    }
    identical = report(wire, wire, FILLER_C, outlets=("Valley Wire", "Hill Gazette", "Coast Times"))
    assert of_type(identical, "numeric") == []  # a faithful copy never diverges from its original
    # a story of one voice (the wire and its copy alone): what the copy changes, and nothing else
    alone = report(wire, copy, outlets=("Valley Wire", "Hill Gazette"))
    assert [(d["type"], "changes it" in d["summary"]) for d in alone["divergences"]] == [("numeric", True)]
    assert report(wire, wire, outlets=("Valley Wire", "Hill Gazette"))["divergences"] == []


# ---- the order of one outlet's folded omissions and exclusives ----------------------------------
def test_exclusives_with_names_and_numbers_the_others_never_mention_come_first():
    # Alpha's second sentence names only people every outlet names; its last one carries a name and
    # a number no other outlet mentions: that one leads Alpha's fold, though told later
    rep = report(
        "Mayor Lena Ortiz told the Harbour Council on Monday that the ferry pier would close. "
        "Ortiz thanked the Harbour Council for its patience during a long and bitter session. "
        f"{FILLER_A} Engineer Tomas Brandt found 14 cracked pilings under the pier, the survey says.",
        f"Mayor Lena Ortiz said the ferry pier will shut, the Harbour Council heard. {FILLER_B}",
        f"The Harbour Council was told by Mayor Lena Ortiz that the pier is closing. {FILLER_C}",
    )
    alpha = [d for d in of_type(rep, "exclusive") if d["outlets"] == ["Alpha Post"]]
    assert len(alpha) >= 2, [d["summary"] for d in alpha]
    assert "Tomas Brandt" in alpha[0]["claims"][0]["text"]
    assert "Tomas Brandt" not in alpha[-1]["claims"][0]["text"]
    # and the page marks what the others never mention: the engineer and the count, not the mayor
    marked = [text for text, marked in highlight(alpha[0]["claims"][0]) if marked]
    assert len(marked) == 2 and "Tomas Brandt" in marked[0] and "14" in marked[1], marked
    assert not any(marked for _, marked in highlight(alpha[-1]["claims"][0]))


def test_a_name_the_others_do_use_counts_less_than_one_they_never_use():
    # Alpha's first exclusive names "Senator Ada Quill of Westmark", whom Beta calls "Quill"; its
    # later one names a diver nobody else names: the diver leads Alpha's fold, and only she is marked
    rep = report(
        "Mayor Lena Ortiz told the Harbour Council on Monday that the ferry pier would close. "
        f"Senator Ada Quill of Westmark praised the crews working at the quay. {FILLER_A} "
        "Diver Anke Sommer checked the seawall below the pier.",
        f"Mayor Lena Ortiz said the ferry pier will shut, the Harbour Council heard. Quill visited the town. {FILLER_B}",
        f"The Harbour Council was told by Mayor Lena Ortiz that the pier is closing. {FILLER_C}",
    )
    alpha = [d for d in of_type(rep, "exclusive") if d["outlets"] == ["Alpha Post"]]
    texts = [d["claims"][0]["text"] for d in alpha]
    quill = next(i for i, t in enumerate(texts) if "Quill" in t)
    sommer = next(i for i, t in enumerate(texts) if "Sommer" in t)
    assert sommer < quill, texts
    assert [t for t, marked in highlight(alpha[sommer]["claims"][0]) if marked] == ["Anke Sommer"]
    assert not any(marked for _, marked in highlight(alpha[quill]["claims"][0]))


def test_a_states_abbreviation_is_named_where_the_state_is():
    rep = report(
        "Mayor Lena Ortiz told the Harbour Council on Monday that the ferry pier would close. "
        f"Diver Anke Sommer (Calif.) and diver Piet Vos (Ore.) checked the seawall. {FILLER_A}",
        f"Mayor Lena Ortiz said the ferry pier will shut, the Harbour Council heard, as in California. {FILLER_B}",
        f"The Harbour Council was told by Mayor Lena Ortiz that the pier is closing. {FILLER_C}",
    )
    [divers] = [d for d in of_type(rep, "exclusive") if "Sommer" in d["claims"][0]["text"]]
    marked = [t for t, m in highlight(divers["claims"][0]) if m]
    assert "Anke Sommer" in marked and "Ore" in marked and "Calif" not in marked, marked


def test_a_quotations_opening_word_is_not_a_name_but_a_quoted_title_is():
    # "Well" opens a quotation and "Yesterday" a clause after a colon: capitalised there only, not
    # names; "Harbourwatch", a programme's title quoted alone, and "Sommer" are names
    rep = report(
        "Mayor Lena Ortiz told the Harbour Council on Monday that the ferry pier would close. "
        "Diver Anke Sommer said: “Well, the seawall below the pier is cracked.” "
        "Ortiz repeated it on “Harbourwatch,” adding one thing: Yesterday the crane failed. "
        f"{FILLER_A}",
        f"Mayor Lena Ortiz said the ferry pier will shut, the Harbour Council heard. {FILLER_B}",
        f"The Harbour Council was told by Mayor Lena Ortiz that the pier is closing. {FILLER_C}",
    )
    alpha = [d for d in of_type(rep, "exclusive") if d["outlets"] == ["Alpha Post"]]
    marked = {t for d in alpha for t, m in highlight(d["claims"][0]) if m}
    assert {"Anke Sommer", "Harbourwatch"} <= marked, marked
    assert not marked & {"Well", "Yesterday"}, marked


def test_another_form_of_a_name_and_the_outlets_own_name_are_not_never_mentioned():
    # Alpha's exclusive names the "Democrats" (Beta says "Democratic"), the "GOP" (Gamma says
    # "Republicans"), "Gorska’s" crew (Beta names Gorska, possessive with a curly apostrophe) and
    # its own name ("told Alpha Post"): none is a name the others never mention; "Anke Sommer" is
    minor = report(
        "Mayor Lena Ortiz told the Harbour Council on Monday that the ferry pier would close. "
        "Diver Anke Sommer told Alpha Post that local Democrats and the GOP praised Gorska’s crew. "
        f"{FILLER_A}",
        f"Mayor Lena Ortiz said the ferry pier will shut, the Harbour Council heard. The Democratic group and "
        f"Captain Gorska agreed. {FILLER_B}",
        f"The Harbour Council was told by Mayor Lena Ortiz that the pier is closing, Republicans said. {FILLER_C}",
    )
    [crew] = [d for d in of_type(minor, "exclusive") if "Sommer" in d["claims"][0]["text"]]
    marked = [t for t, m in highlight(crew["claims"][0]) if m]
    assert marked == ["Anke Sommer"], marked


def test_an_exclusive_another_voice_comes_near_is_listed_after_one_nobody_comes_near():
    """Judged real exclusives that another outlet's sentence comes near (a fifth of the fact's
    weighted content words in one sentence, below what counts as telling it) were mostly the same
    fact in other words: in the outlet's fold they come after the ones nobody comes near, although
    the near one here has more names the others never mention. With an unrelated sentence in its
    place, the names decide again."""
    from storydiff.compare.schema import folds

    near = (
        "Union leader Marta Kowalski told Radio Baltica that dockworkers from Gdynia would return to the "
        "cranes of the terminal on Thursday."
    )
    far = "Inspectors found that trucks had blocked a fire lane near gate 4 for 40 minutes."
    common = (
        "The strike at the Westbay container terminal ended on Tuesday after talks lasting 19 hours. "
        "The port authority said 12 ships had waited outside the harbour during the stoppage. "
    )
    at = datetime(2025, 5, 6, 9, tzinfo=UTC)

    def fold(courier_line: str) -> list[str]:
        articles = [
            StoryArticle("a", "Daily Harbor", "Westbay strike ends", f"{common}{near} {far}", at),
            StoryArticle("b", "Coast Courier", "Terminal strike over", f"{common}{courier_line}", at),
            StoryArticle(
                "c", "Port Wire", "Westbay strike is over", f"{common}The deal raises wages by 6 percent.", at
            ),
        ]
        report = build_report(articles)
        return [d["claims"][0]["text"] for d in folds(report["divergences"])["Only Daily Harbor reports"]]

    assert fold("Dockworkers from Gdynia were idle for a week, a spokesman said.") == [far, near]
    assert fold("Harbour pilots were on duty through the night, a spokesman said.") == [near, far]


def test_an_exclusive_in_the_lead_of_its_article_is_listed_after_the_others():
    """Judged real exclusives among the first three sentences of their article were almost never
    true (the lead tells the event, which every outlet tells in its own words): in the outlet's
    fold they come after the rest, although the lead one here has more names the others never
    mention. When the same sentence comes later in the article, or the text is only a lead (a
    feed's summary), the names decide again."""
    from storydiff.compare.schema import folds

    named = "Union leader Marta Kowalski told Radio Baltica that the Gdynia crews would return on Thursday."
    plain = "Inspectors found that trucks had blocked a fire lane near gate 4 for 40 minutes."
    common = [
        "The strike at the Westbay container terminal ended on Tuesday after talks lasting 19 hours.",
        "The port authority said 12 ships had waited outside the harbour during the stoppage.",
        "Cargo handling resumed at the terminal on Wednesday morning.",
    ]
    more = [  # the rest of a full article (a text under LEAD_MIN_SENTENCES is all lead)
        "The mood on the quay was calm by the afternoon.",
        "Trucks queued on the access road for much of the day.",
        "Some drivers said they had waited since dawn.",
        "The cafe by the gate stayed open late for the crews.",
        "Local shops said trade had been slow all week.",
        "The next round of talks is due in the autumn.",
    ]
    pilots = "Harbour pilots were on duty through the night, a spokesman said."
    wages = "The deal raises wages by 6 percent."
    at = datetime(2025, 5, 6, 9, tzinfo=UTC)

    def fold(harbor: list[str]) -> list[str]:
        articles = [
            StoryArticle("a", "Daily Harbor", "Westbay strike ends", " ".join(harbor), at),
            StoryArticle("b", "Coast Courier", "Terminal strike over", " ".join([*common[:2], pilots]), at),
            StoryArticle("c", "Port Wire", "Westbay strike is over", " ".join([*common[:2], wages]), at),
        ]
        report = build_report(articles)
        listed = [d["claims"][0]["text"] for d in folds(report["divergences"])["Only Daily Harbor reports"]]
        return [text for text in listed if text in (named, plain)]

    assert fold([common[0], named, common[1], common[2], plain, *more]) == [plain, named]  # named: in the lead
    assert fold([*common, named, plain, *more]) == [named, plain]  # both beyond it: more new names first
    assert fold([common[0], named, common[1], common[2], plain]) == [named, plain]  # a short text is all lead


def test_an_outlet_telling_part_of_a_fact_in_one_sentence_does_not_omit_it(shared_data):
    """Real events (BASIL): an omission was reported where the "omitting" outlet tells the fact in a
    sentence of its own words, below what counts as telling it (a fresh reader, reader-v, found such
    items mostly wrong). One sentence holding 30 % of the fact's weighted content words, some of them
    beyond the story's topic, is enough now. (The demo's Moscow readout, whose only such sentence
    shares just the topic — Trump, Putin, a meeting — still omits Trump's "wasted meeting": see
    tests/test_compare.py.)"""
    from storydiff.evals.divergences import load_basil

    events = {e.id: e for e in load_basil(shared_data / "basil-dev")}
    for event_id, outlet, fact in [
        ("22b6e900-4826-4b09-a9f8-5d7afe46e78b", "New York Times", "Braley apologized"),
        ("c6a0e65c-4f8b-41de-8200-cd700f683c64", "HuffPost", "12 Russian intelligence officers"),
    ]:
        report = build_report(events[event_id].articles)
        omissions = [d["summary"] for d in report["divergences"] if d["type"] == "omission"]
        assert not [s for s in omissions if s.startswith(f"{outlet} omits") and fact in s], (event_id, omissions)
