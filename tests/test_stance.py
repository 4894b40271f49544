"""Stance from claim-level evidence: the rules, and FNC-1 figures on real data."""

import pytest

from compare.claims import extract_claims
from evals.stance import evaluate, stance_of


@pytest.mark.parametrize(
    ("headline", "evidence", "stance"),
    [
        ("Meeting between Rubio and Lavrov tabled", "The meeting between Rubio and Lavrov was tabled.", "agree"),
        ("Meeting between Rubio and Lavrov tabled", "Nothing was postponed, Ryabkov said.", "disagree"),
        ("Meeting between Rubio and Lavrov tabled", "The meeting was reportedly tabled.", "discuss"),
        ("Meeting between Rubio and Lavrov tabled", "A White House official said the meeting was tabled.", "discuss"),
    ],
)
def test_stance_rules(headline, evidence, stance):
    assert stance_of(headline, extract_claims(evidence)[0]) == stance


@pytest.mark.slow
def test_fnc_related_vs_unrelated(shared_data):
    result = evaluate(shared_data / "fnc-1", sample=2000)
    print(f"\nFNC-1 sample: {result}")
    assert result["pairs"] == 2000
    assert result["related_accuracy"] >= 0.90  # all-"unrelated" would score 0.73
    assert set(result["confusion"]) == {"agree", "disagree", "discuss"}
