"""Story-level alignment (pure): scores over the whole story, one claim per outlet per group,
no chaining of loosely related sentences."""

import numpy as np
import pytest

from storydiff.compare.align import (
    ALIGN_THRESHOLD,
    align_claims,
    alignment_scores,
    content_stems,
    is_aligned,
    pair_score,
    stem_weights,
)
from storydiff.compare.claims import extract_claims


@pytest.mark.parametrize(
    ("a", "b", "aligned"),
    [
        (
            "Overnight, a Russian drone and missile attack on Kyiv killed 18 civilians, Ukrainian officials said.",
            "A Russian drone and missile attack on Kyiv overnight killed 21 civilians, according to the city's military administration.",
            True,
        ),
        (
            "A senior White House official said the summit could still take place within two weeks.",
            "Kremlin spokesman Dmitry Peskov said the summit could still take place within two weeks.",
            True,
        ),
        (
            'Lavrov said "we are prepared to keep working, though not at any cost."',
            "Lavrov said “we are ready to continue the work, but not at any price.”",
            True,
        ),
        (
            "Trump said he did not want a wasted meeting.",
            'Lavrov said "we are prepared to keep working, though not at any cost."',
            False,
        ),
        (
            "Hungarian Prime Minister Viktor Orban said Budapest remained ready to host the two leaders.",
            "A Russian drone and missile attack on Kyiv overnight killed 21 civilians.",
            False,
        ),
    ],
)
def test_pair_alignment(a, b, aligned):
    assert is_aligned(a, b) is aligned


def test_matrix_equals_the_pair_formula_and_is_symmetric():
    texts = [
        "Rubio and Lavrov spoke by phone on Monday.",
        "Lavrov and Rubio spoke by phone on Monday, the ministry said.",
        "The summit could take place within two weeks.",
        "Orban said Budapest was ready.",
    ]
    matrix = alignment_scores(texts)
    stems = [set(content_stems(t)) for t in texts]
    weights = stem_weights(stems)
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1.0)
    for i in range(4):
        for j in range(4):
            assert matrix[i, j] == pytest.approx(pair_score(stems[i], stems[j], weights), abs=1e-6)


def test_groups_hold_one_claim_per_outlet_and_do_not_chain():
    a = extract_claims(
        "Rubio and Lavrov spoke by phone on Monday. An attack on Kyiv killed 18 civilians overnight. "
        "Orban said Budapest remained ready to host the summit."
    )
    b = extract_claims(
        "Lavrov and Rubio spoke by phone on Monday, the ministry said. "
        "An overnight attack on Kyiv killed 21 civilians, officials said. The weather in Budapest was mild."
    )
    c = extract_claims("The phone call between Rubio and Lavrov took place on Monday. Kyiv was attacked overnight.")
    alignment = align_claims([a, b, c])
    for group in alignment.groups:
        assert len(group.accounts) == len(group.members)  # one claim per outlet
        if len(group.members) > 1:
            assert group.cohesion >= ALIGN_THRESHOLD  # average linkage keeps groups tight
    texts = [{(m.account, m.claim) for m in g.members} for g in alignment.groups]
    assert {(0, 1), (1, 1)} <= next(t for t in texts if (0, 1) in t)  # the two death tolls align
    assert not any({(0, 2), (1, 2)} <= t for t in texts)  # Orban ≠ the weather


def test_boilerplate_and_fragments_are_not_aligned():
    a = extract_claims("The attack killed 18 people in Kyiv. Reporting by Jane Roe. Read more.")
    b = extract_claims("The attack killed 21 people in Kyiv. Reporting by Jane Roe.")
    alignment = align_claims([a, b])
    kept = {a[r.claim].text if r.account == 0 else b[r.claim].text for r in alignment.refs}
    assert kept == {"The attack killed 18 people in Kyiv.", "The attack killed 21 people in Kyiv."}


def test_the_assignment_solver_is_scipys_without_importing_scipy_optimize():
    """The aligner loads scipy's compiled assignment solver alone (the optimize package costs
    ~0.3 s and ~27 MB per process); it is the very function scipy.optimize exports."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from storydiff.compare import align\n"
        "assert 'scipy.optimize' not in sys.modules, 'scipy.optimize imported'\n"
        "from scipy.optimize import linear_sum_assignment\n"
        "assert align.linear_sum_assignment is linear_sum_assignment\n"
        "rng = np.random.default_rng(3)\n"
        "for shape in [(4, 4), (3, 7), (9, 2)]:\n"
        "    m = rng.random(shape)\n"
        "    r, c = align.linear_sum_assignment(m, maximize=True)\n"
        "    assert len(r) == min(shape) and len(set(c.tolist())) == len(c)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
