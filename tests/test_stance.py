"""Stance from claim-level evidence: the rules, and FNC-1 figures on real data."""

import pytest

from storydiff.compare.claims import extract_claims
from storydiff.evals.stance import body_cues, evaluate, stance_of


@pytest.mark.parametrize(
    ("headline", "body", "stance"),
    [
        ("Meeting between Rubio and Lavrov tabled", "The meeting between Rubio and Lavrov was tabled.", "agree"),
        (
            "Meeting between Rubio and Lavrov tabled",
            "Nothing was postponed: the meeting between Rubio and Lavrov goes ahead, Ryabkov said.",
            "disagree",
        ),
        ("Meeting between Rubio and Lavrov tabled", "Reports of a tabled meeting are a hoax.", "disagree"),
        ("Meeting between Rubio and Lavrov tabled", "The meeting was reportedly tabled.", "discuss"),
        (
            "Meeting between Rubio and Lavrov may be tabled",
            "The meeting between Rubio and Lavrov was tabled.",
            "discuss",
        ),
    ],
)
def test_stance_rules(headline, body, stance):
    claims = extract_claims(body)
    assert stance_of(headline, claims[0], body_cues(body, claims), t_hedge=0.5, t_refute=0.5) == stance


@pytest.mark.slow
def test_fnc_related_vs_unrelated(shared_data):
    result = evaluate(shared_data / "fnc-1", sample=2000)
    print(f"\nFNC-1 sample: {result}")
    assert result["pairs"] == 2000
    assert result["related_accuracy"] >= 0.90  # all-"unrelated" would score 0.73
    assert set(result["confusion"]) == {"agree", "disagree", "discuss"}
    assert result["stance_macro_f1_on_related"] > 0.34  # always "discuss" scores 0.26
