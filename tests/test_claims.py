"""Pure claim extraction: speakers, quotes, numbers, hedges, negation, spans."""

import re

import pytest

from storydiff.compare.claims import extract_claims, split_sentences


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("Lavrov said “we are ready to continue the work, but not at any price.”", "Lavrov"),
        (
            "A senior White House official said the summit could still take place within two weeks.",
            "A senior White House official",
        ),
        (
            "Kremlin spokesman Dmitry Peskov said the summit could still take place within two weeks.",
            "Kremlin spokesman Dmitry Peskov",
        ),
        ("Overnight, an attack on Kyiv killed 18 civilians, Ukrainian officials said.", "Ukrainian officials"),
        (
            "An attack on Kyiv killed 21 civilians, according to the city's military administration.",
            "the city's military administration",
        ),
        ("According to CNN, the meeting was tabled.", "CNN"),
        ("White House insiders told reporters the talks were stalled.", "White House insiders"),
        ("A State Department readout said an in-person meeting is not needed.", "A State Department readout"),
        ("The plan, said Peskov, was never agreed.", "Peskov"),
        (
            "Deputy Foreign Minister Sergei Ryabkov said on Wednesday that nothing was postponed.",
            "Deputy Foreign Minister Sergei Ryabkov",
        ),
        # a source starts at a word: not "an Maya Brandt" cut from "spokeswoman"
        ("The harbour will reopen, council spokeswoman Maya Brandt said.", "Maya Brandt"),
        # a lawmaker's party and state between the name and the verb
        ("“The port stays open,” Sen. Dana Whitfield (D-Ore.) said on Monday.", "Sen. Dana Whitfield"),
        ("“The port stays open,” Rep. Tom Arlen, R-Ky., said in a statement.", "Rep. Tom Arlen"),
        ("“The port stays open,” council leader Jo Marsh (R) told reporters.", "Jo Marsh"),
        # "have" / "also have" before the verb belongs to the verb, not to the source
        ("More than a dozen mayors also have said they will stay away.", "More than a dozen mayors"),
        # "called X “…”": the quoted words are the source's; "called for" / "called on" quote nobody
        ("Mayor Lena Ortiz (D) called the plan “a gift to developers” on Monday.", "Mayor Lena Ortiz"),
        ("The mayor called for talks on Monday.", None),
        ('She called him on Monday to say "no".', None),
        ("Rubio and Lavrov spoke by phone on Monday.", None),
        ("He said “they said no”.", None),
    ],
)
def test_speaker(sentence, speaker):
    assert extract_claims(sentence)[0].speaker == speaker


@pytest.mark.parametrize(
    ("sentence", "quotes"),
    [
        (
            'Lavrov said "we are prepared to keep working, though not at any cost."',
            ("we are prepared to keep working, though not at any cost.",),
        ),
        ("Trump said he did not want “a wasted meeting.”", ("a wasted meeting.",)),
        ("He called it ‘a fiasco’ and left.", ("a fiasco",)),
        ("The minister's aide didn't comment.", ()),
        # outlets mix curly and straight marks: each pair is found by where its marks stand
        ('“We will rebuild the wall," Ortiz said.', ("We will rebuild the wall,",)),
        ('He called it "a fiasco” and said “we lost a year."', ("a fiasco", "we lost a year.")),
    ],
)
def test_quotes(sentence, quotes):
    assert extract_claims(sentence)[0].quotes == quotes


@pytest.mark.parametrize(
    ("sentence", "numbers"),
    [
        ("An attack killed 18 civilians overnight.", [(18.0, "civilians", "18 civilians")]),
        ("An attack killed 21 Ukrainian civilians.", [(21.0, "civilians", "21 Ukrainian civilians")]),
        ("The summit is two weeks away.", [(2.0, "weeks", "two weeks")]),
        ("Rates rose 0.25 percent to 5.25%.", [(0.25, "percent", "0.25 percent"), (5.25, "percent", "5.25%")]),
        ("It costs $2.5 billion.", [(2.5e9, "dollars", "$2.5 billion")]),
        ("Over 3,400 people fled in 2024.", [(3400.0, "people", "3,400 people"), (2024.0, "year", "2024")]),
        ("The drone hit a phone mast; nobody was hurt.", []),
    ],
)
def test_numbers(sentence, numbers):
    assert [(q.value, q.unit, q.text) for q in extract_claims(sentence)[0].numbers] == numbers


@pytest.mark.parametrize(
    ("sentence", "hedges", "negated"),
    [
        ("The so-called peace push has left allies uneasy.", ("so-called",), False),
        ("The talks were reportedly stalled and may resume.", ("reportedly", "may"), False),
        ("Nothing was postponed.", (), True),
        ("The meeting was tabled.", (), False),
        ("Moscow never confirmed the date.", (), True),
        ("They didn't agree.", (), True),
    ],
)
def test_hedges_and_negation(sentence, hedges, negated):
    claim = extract_claims(sentence)[0]
    assert (claim.hedges, claim.negated) == (hedges, negated)


def test_spans_point_into_the_article():
    text = "First sentence here. Dr. Smith arrived at 3 p.m. with 12 aides on Oct. 21.\n\nA new paragraph said nothing."
    claims = extract_claims(text)
    assert [c.text for c in claims] == [
        "First sentence here.",
        "Dr. Smith arrived at 3 p.m. with 12 aides on Oct. 21.",
        "A new paragraph said nothing.",
    ]
    assert [q.text for q in claims[1].numbers] == ["12 aides"]  # a time of day and a date are no counts
    for claim in claims:
        assert text[claim.span[0] : claim.span[1]] == claim.text
    number = claims[1].numbers[0]
    assert text[number.span[0] : number.span[1]] == number.text


def test_entities():
    claim = extract_claims("Deputy Foreign Minister Sergei Ryabkov met the Bank of England governor in Budapest.")[0]
    assert claim.entities == ("Deputy Foreign Minister Sergei Ryabkov", "Bank of England", "Budapest")


def test_split_sentences_handles_empty_text():
    assert split_sentences("") == [] and extract_claims("   \n ") == []


@pytest.mark.slow
def test_sentence_breaks_agree_with_pysbd_on_real_articles(shared_data):
    """blingfire + repairs vs pysbd (the slower reference) on the 181 real article bodies."""
    import json

    import pysbd

    gold = json.loads((shared_data / "article-extraction-benchmark" / "ground-truth.json").read_text("utf-8"))
    reference = pysbd.Segmenter(language="en", clean=False, char_span=True)
    ours_ends, ref_ends = set(), set()
    for doc_id, entry in gold.items():
        text = entry.get("articleBody") or ""
        ours_ends |= {(doc_id, end) for _, _, end in split_sentences(text)}
        for para in re.finditer(r"[^\n]+", text):
            for span in reference.segment(para.group()):
                ref_ends.add((doc_id, para.start() + span.start + len(span.sent.rstrip())))
    agree = len(ours_ends & ref_ends)
    precision, recall = agree / len(ours_ends), agree / len(ref_ends)
    print(f"\nsentence ends vs pysbd: P {precision:.3f} R {recall:.3f} ({len(ref_ends)} reference ends)")
    assert precision >= 0.95 and recall >= 0.95


def test_a_line_wrapped_mid_sentence_is_one_sentence_and_a_heading_stays_apart():
    text = (
        "The pilot joined the brigade this month. She had contacted its fighters over the\n"
        "Internet before travelling to the camp.\n'We will not leave'\nIn a video she spoke."
    )
    sentences = split_sentences(text)
    assert [s for s, _, _ in sentences] == [
        "The pilot joined the brigade this month.",
        "She had contacted its fighters over the Internet before travelling to the camp.",
        "'We will not leave'",
        "In a video she spoke.",
    ]
    assert all(end - start == len(s) for s, start, end in sentences)  # offsets into the text as it is


def test_a_transcript_turn_is_its_speakers_to_the_end_of_the_paragraph():
    """In an interview transcript every sentence of a turn is the speaker's, not only the one that
    carries the label: "Therefore, we know …" is the mayor's, as the judged FNC-1 transcript shows."""
    text = (
        "Mayor Lena Ortiz of Valtera spoke to the Harbour Gazette about the levee.\n\n"
        "GAZETTE: Did the levee hold overnight?\n\n"
        "ORTIZ: Yes. The engineers checked it at dawn. Therefore, we know the east wall is safe.\n\n"
        "GAZETTE: And the west wall?\n\n"
        "ORTIZ: The crews are still there.\n\n"
        "The county's engineer did not answer questions on Wednesday."
    )
    speakers = {c.text: c.speaker for c in extract_claims(text)}
    assert speakers["Therefore, we know the east wall is safe."] == "Ortiz"
    assert speakers["The engineers checked it at dawn."] == "Ortiz"
    assert speakers["GAZETTE: And the west wall?"] == "Gazette"
    assert speakers["The county's engineer did not answer questions on Wednesday."] != "Ortiz"


@pytest.mark.parametrize(
    "text",
    [
        # subheads that open paragraphs are no speakers, even when they name a thing the text names
        "Heroic: The guard stopped the gunman.\n\nTribute: Crowds gathered at the Heroic memorial.\n\n"
        "Arrest: Police held two men.",
        # a fact-check's labels repeat but name no one the text mentions
        "Claim: The moon is hollow.\n\nFact: It is not.\n\nClaim: It rings like a bell.\n\nFact: It does not.",
        # a dateline and an update line
        "WASHINGTON: The Senate voted on Tuesday.\n\nUpdate: The House voted too.\n\nUpdate: The bill was signed.",
    ],
)
def test_labelled_paragraphs_that_are_no_transcript(text):
    assert all(c.speaker is None for c in extract_claims(text))
