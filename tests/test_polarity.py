"""Event polarity (pure): which way a claim says an event went, and when two claims oppose."""

import pytest

from storydiff.compare.polarity import event_stance, opposed


@pytest.mark.parametrize(
    ("text", "event", "proceeds"),
    [
        ("A planned meeting between Rubio and Lavrov has been tabled, an official said.", "meeting", False),
        ("Plans for Rubio to meet Lavrov have been put on hold.", "meeting", False),
        ("Ryabkov said nothing was postponed, because no date for a meeting with Rubio was set.", "meeting", True),
        ("Reports that the meeting of Lavrov and Rubio was cancelled were a fiasco of speculation.", "meeting", True),
        ("A readout said an in-person meeting between the two ministers is not needed at this time.", "meeting", False),
        ("Peskov said the summit could still take place within two weeks.", "summit", True),
        ("Rescue operations in Valtera were suspended overnight.", "rescue", False),
        ("Rescue operations in Valtera continued through the night.", "rescue", True),
        ("Officials confirmed the levee had breached.", "assent", True),
        ("Officials denied the levee had breached.", "assent", False),
        ("The talks did not stall, the spokesman said.", "meeting", True),
        # a clause an assent verb reports carries its own negation
        ("The ministry confirmed that the inspectors do not have the tools to test the samples.", "assent", False),
        ("The ministry confirmed that the inspectors have the tools, and no delay is expected.", "assent", True),
        # refusing an action: the action's own stance, negated
        ("The mayor refused to postpone the vote on the harbour budget.", "vote", True),
        ("The minister refused to accept the deal offered by the union.", "assent", False),
        # "continue to" + a verb: the stance of what came before it
        ("The truce continues to hold across the northern province.", "truce", True),
    ],
)
def test_event_stance(text, event, proceeds):
    stance = event_stance(text)
    assert stance is not None and (stance.event, stance.proceeds) == (event, proceeds)


@pytest.mark.parametrize(
    "text",
    [
        "Trump said he did not want a wasted meeting.",  # no status predicate
        "The scheduled talks drew protesters outside the venue.",  # attributive, not an assertion
        "Lavrov and Rubio spoke by phone on Monday.",
        "We will publish more details as they are confirmed.",  # a clause of time: nothing asserted
        "If the summit is postponed again, the ministers will meet in Vienna.",  # a condition
        "The striker refused to reveal his wage, but said it was high.",  # an action refused, no fact denied
        "A confirmed case of the fever was reported in the district.",  # attributive
        # what goes on is the shelling, not the truce named after it
        "The shelling continues to cast doubt over truce negotiations between the two armies.",
    ],
)
def test_no_stance(text):
    assert event_stance(text) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (
            "The meeting between Rubio and Lavrov was tabled.",
            "Nothing was postponed: no meeting of Lavrov and Rubio was set.",
            True,
        ),
        (
            "The meeting between Rubio and Lavrov was tabled.",
            "An in-person meeting of Rubio and Lavrov is not needed.",
            False,
        ),
        # different meetings: Rubio–Lavrov halted, Putin–Trump continuing
        (
            "The meeting between Rubio and Lavrov was tabled.",
            "Preparations for a meeting between Putin and Trump are continuing.",
            False,
        ),
        ("The summit in Budapest was called off.", "The meeting between Rubio and Lavrov is going ahead.", False),
    ],
)
def test_opposed(a, b, expected):
    assert opposed(event_stance(a), event_stance(b)) is expected
