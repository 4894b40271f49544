"""Clustering quality on real labelled data (gates pinned in .ci/run; never lowered)."""

import pytest

from storydiff.evals.cluster import evaluate, load_jsonl, load_uci, load_wikiref

UCI_F1_FLOOR, UCI_PRECISION_FLOOR = 0.80, 0.85
WIKIREF_F1_FLOOR = 0.80


@pytest.mark.slow
def test_uci_headlines(shared_data):
    result = evaluate(load_uci(shared_data / "uci-news-aggregator"))
    print(f"\nUCI: {result}")
    assert result["articles"] == 6366 and result["gold_clusters"] == 87
    assert result["bcubed_f1"] >= UCI_F1_FLOOR and result["bcubed_precision"] >= UCI_PRECISION_FLOOR


@pytest.mark.slow
def test_wikiref_full_texts(shared_data):
    result = evaluate(load_wikiref(shared_data / "wikiref220"))
    print(f"\nWikiRef220: {result}")
    assert result["articles"] == 220
    assert result["bcubed_f1"] >= WIKIREF_F1_FLOOR


def test_jsonl_format(tmp_path):
    rows = [
        '{"id": "a", "title": "Volcano erupts near Grindavik in Iceland", "text": "", "published": "2025-10-21T08:00:00Z", "outlet": "A", "label": "volcano"}',
        '{"id": "b", "title": "Iceland volcano: Grindavik evacuated as lava flows", "text": "", "published": "2025-10-21T09:00:00Z", "outlet": "B", "label": "volcano"}',
        '{"id": "c", "title": "Central bank holds interest rates at 4 percent", "text": "", "published": "2025-10-21T09:30:00", "outlet": "C", "label": "rates"}',
    ]
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(rows) + "\n")
    result = evaluate(load_jsonl(path))
    assert (result["clusters"], result["gold_clusters"], result["bcubed_f1"]) == (2, 2, 1.0)
