"""Extraction quality on 181 real pages (gate: F1 ≥ 0.90; trafilatura alone ≈ 0.958 upstream)."""

import pytest

from storydiff.evals.extraction import evaluate

F1_FLOOR = 0.90


@pytest.mark.slow
def test_extraction_f1_on_real_pages(shared_data):
    result = evaluate(shared_data / "article-extraction-benchmark")
    print(f"\nextraction: {result}")
    assert result["documents"] == 181
    assert result["f1"] >= F1_FLOOR
    assert result["token_f1"] >= F1_FLOOR
