"""The optional embedding backend: hash-checked loading, and what happens without the extra."""

from __future__ import annotations

import numpy as np
import pytest

from storydiff.compare import embed


def test_it_refuses_a_file_whose_hash_differs(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not the pinned model")
    with pytest.raises(embed.EmbeddingUnavailable, match="refusing to load"):
        embed._checked(model, embed.MODEL_SHA256)


def test_the_setting_is_off_coverage_on_or_auto():
    assert embed.enabled("off") is False
    assert embed.enabled("auto") == ("coverage" if embed.available() else False)
    if embed.available():
        assert embed.enabled("on") is True and embed.enabled("COVERAGE") == "coverage"
    with pytest.raises(embed.EmbeddingUnavailable, match="use off, coverage, on or auto"):
        embed.enabled("sometimes")


def test_it_embeds_when_installed_and_says_how_to_install_when_not():
    if not embed.available():
        with pytest.raises(embed.EmbeddingUnavailable, match=r"storydiff\[semantic\]|missing"):
            embed.enabled("on")
        return
    vectors = embed.embed(
        ["The mayor signed the harbour budget.", "The harbour budget was signed by the mayor.", "Rain fell on Tuesday."]
    )
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_coverage_mode_finds_a_fact_told_in_other_words_on_real_news(shared_data):
    """AllSides roundup 5913 (a court dismissing the FTC's case against Facebook): the lexical
    path reports one outlet's lead as an exclusive and the same outlet as omitting the others'
    lead; the leads say the same in other words. The coverage mode drops both and changes no
    typed decision; every pair it treats as told is above the MSRP-chosen cosine."""
    from storydiff.compare.diverge import PARAPHRASE_COSINE
    from storydiff.compare.report import build_report
    from storydiff.evals.divergences import load_allsides

    if not embed.available():
        pytest.fail("the semantic extra is missing: scripts/test.sh installs it")
    event = next(e for e in load_allsides(shared_data / "allsides-roundups") if e.id == "allsides-5913")
    lexical = build_report(event.articles)
    covered = build_report(event.articles, semantic="coverage")
    coverage = ("omission", "exclusive")
    kept = {(x["type"], x["summary"]) for x in covered["divergences"]}
    gone = [d for d in lexical["divergences"] if (d["type"], d["summary"]) not in kept]
    assert sorted(d["type"] for d in gone) == ["exclusive", "omission"]
    typed = [d["summary"] for d in lexical["divergences"] if d["type"] not in coverage]
    assert typed == [d["summary"] for d in covered["divergences"] if d["type"] not in coverage]
    exclusive = next(d for d in gone if d["type"] == "exclusive")
    omission = next(d for d in gone if d["type"] == "omission")
    vectors = embed.embed([exclusive["claims"][0]["text"], *(c["text"] for c in omission["claims"])])
    assert max(float(vectors[0] @ v) for v in vectors[1:]) >= PARAPHRASE_COSINE


def test_coverage_mode_lists_first_the_exclusives_no_other_outlet_tells_even_loosely():
    """In one outlet's fold of exclusives, the fact no other voice comes near in any sentence goes
    before one that another voice tells loosely (cosine between LOOSE_COSINE and the paraphrase
    threshold: not covered, still listed), although the loose one has more names never mentioned.
    The lexical path, which has no such signal, keeps ordering by those names."""
    from datetime import UTC, datetime

    from storydiff.compare.diverge import LOOSE_COSINE, PARAPHRASE_COSINE
    from storydiff.compare.report import StoryArticle, build_report
    from storydiff.compare.schema import folds

    if not embed.available():
        pytest.fail("the semantic extra is missing: scripts/test.sh installs it")
    near = (
        "Union leader Marta Kowalski told Radio Baltica that dockworkers from Gdynia and Szczecin would be "
        "back at the cranes on Thursday."
    )
    loose = "Dockworkers are expected to be back at work later this week, a union official said."
    far = "Inspectors found that trucks had blocked a fire lane near gate 4 for 40 minutes."
    common = (
        "The strike at the Westbay container terminal ended on Tuesday after talks lasting 19 hours. "
        "The port authority said 12 ships had waited outside the harbour during the stoppage. "
    )
    at = datetime(2025, 5, 6, 9, tzinfo=UTC)
    articles = [
        StoryArticle("a", "Daily Harbor", "Westbay strike ends", f"{common}{near} {far}", at),
        StoryArticle(
            "b", "Coast Courier", "Terminal strike over", f"{common}{loose} Shipping lines were relieved.", at
        ),
        StoryArticle("c", "Port Wire", "Westbay strike is over", f"{common}The deal raises wages by 6 percent.", at),
    ]
    vectors = embed.embed([near, loose, far])
    assert LOOSE_COSINE <= float(vectors[0] @ vectors[1]) < PARAPHRASE_COSINE
    assert float(vectors[2] @ vectors[1]) < LOOSE_COSINE

    def daily_harbor_fold(semantic):
        fold = folds(build_report(articles, semantic=semantic)["divergences"])["Only Daily Harbor reports"]
        return [d["claims"][0]["text"] for d in fold]

    assert daily_harbor_fold("coverage") == [far, near]
    assert daily_harbor_fold(False) == [near, far]
