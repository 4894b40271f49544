"""Claim pair decisions: tables of pairs, and the MSRP cross-validated gate on real data."""

import pytest

from storydiff.compare.paraphrase import is_same_claim, pair_features, same_claim_probability
from storydiff.evals.align import evaluate

ACCURACY_FLOOR, F1_FLOOR = 0.75, 0.83


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (
            "The meeting between Rubio and Lavrov has been tabled, a White House official said.",
            "A White House official said the meeting between Rubio and Lavrov was tabled.",
            True,
        ),
        (
            "Plans for Rubio to meet Lavrov have been put on hold, two US officials said on Tuesday.",
            "Two US officials said on Tuesday that plans for Rubio to meet Lavrov were put on hold.",
            True,
        ),
        (
            "A Russian drone attack on Kyiv killed 18 civilians overnight.",
            "Hungary's prime minister said Budapest remained ready to host the two leaders.",
            False,
        ),
        (
            "The central bank raised its key rate to 5.25 percent on Thursday.",
            "The football club sacked its manager after a run of defeats.",
            False,
        ),
    ],
)
def test_pair_decisions(a, b, same):
    assert is_same_claim(a, b) is same


def test_a_different_number_lowers_the_probability():
    base = "A Russian drone and missile attack on Kyiv overnight killed 18 civilians, officials said."
    same_number, other_number = same_claim_probability(
        [
            (base, base.replace("officials said", "according to officials")),
            (base, base.replace("18", "21").replace("officials said", "according to officials")),
        ]
    )
    assert same_number > other_number


def test_features_are_symmetric_where_they_should_be():
    a, b = "Lavrov met Rubio in Budapest.", "Rubio and Lavrov met on Monday in Budapest."
    fa, fb = pair_features(a, b), pair_features(b, a)
    assert len(fa) == 22 and fa[0] == fb[0] and fa[6] == pytest.approx(fb[6])


@pytest.mark.slow
def test_msrp_cross_validated_gate(shared_data):
    result = evaluate("msrp", shared_data / "msrp", cv=10)
    print(f"\nMSRP 10-fold: {result}")
    assert result["accuracy"] >= ACCURACY_FLOOR and result["f1"] >= F1_FLOOR


@pytest.mark.slow
def test_sts_dev_correlation_is_reported(shared_data):
    result = evaluate("sts", shared_data / "sts-benchmark" / "sts-dev.csv")
    print(f"\nSTS-B dev: {result}")
    assert result["pairs"] == 1500 and result["pearson"] > 0.4
