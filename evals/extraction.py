"""Full-text extraction quality on the Zyte article-extraction benchmark (181 real pages).

Metric as implemented upstream: per document, precision/recall over 4-gram shingles of
``\\w+`` tokens of the extracted vs the gold ``articleBody``; both averaged over documents,
F1 from the averages. Also reports plain token-level (bag of tokens) F1."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from pathlib import Path

from storydiff.ingest.extract import extract_main_text

_WORD = re.compile(r"\w+")


def _shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = _WORD.findall(text)
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def _pr(pred: set | Counter, gold: set | Counter) -> tuple[float, float]:
    if isinstance(pred, Counter):
        overlap = sum((pred & gold).values())
        np, ng = sum(pred.values()), sum(gold.values())
    else:
        overlap, np, ng = len(pred & gold), len(pred), len(gold)
    precision = overlap / np if np else (0.0 if ng else 1.0)
    recall = overlap / ng if ng else 1.0
    return precision, recall


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(root: Path) -> dict[str, float]:
    gold = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    shingle_pr, token_pr = [], []
    started = time.perf_counter()
    for doc_id, entry in gold.items():
        html = gzip.decompress((root / "html" / f"{doc_id}.html.gz").read_bytes())
        predicted = extract_main_text(html, entry.get("url"))
        shingle_pr.append(_pr(_shingles(predicted), _shingles(entry["articleBody"])))
        token_pr.append(_pr(Counter(_WORD.findall(predicted)), Counter(_WORD.findall(entry["articleBody"]))))
    elapsed = time.perf_counter() - started
    p = sum(x for x, _ in shingle_pr) / len(shingle_pr)
    r = sum(y for _, y in shingle_pr) / len(shingle_pr)
    tp = sum(x for x, _ in token_pr) / len(token_pr)
    tr = sum(y for _, y in token_pr) / len(token_pr)
    return {
        "documents": len(gold),
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f1(p, r), 4),
        "token_f1": round(f1(tp, tr), 4),
        "pages_per_s": round(len(gold) / elapsed, 1),
    }
