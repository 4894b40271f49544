"""Pair-decision quality: MSRP (accuracy/F1), STS-B (Pearson/Spearman), jsonl {"a","b","label"}.

``train`` fits the PairModel on labelled pairs (L-BFGS logistic regression with L2 over the
expanded features; threshold chosen on the same training pairs to maximise accuracy + F1).
``cross_validate`` refits on k-1 folds and scores the held-out fold: the CI gate's figure."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.stats import pearsonr, spearmanr

from storydiff.compare.align import ALIGN_THRESHOLD, content_stems, pair_score, stem_weights
from storydiff.compare.paraphrase import N_BASE, PairModel, expand, pair_features, shipped_model

L2 = 0.003  # chosen by 10-fold CV on MSRP train among 0.0003, 0.001, 0.003, 0.03, 0.1


def load_msrp(path: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    file = path / "msr_paraphrase_train.txt" if path.is_dir() else path
    csv.field_size_limit(10**7)
    with file.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        rows = [(r[3], r[4], int(r[0])) for r in reader if len(r) >= 5]
    return [(a, b) for a, b, _ in rows], np.array([q for *_, q in rows], dtype=float)


def load_sts(path: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    file = path / "sts-train.csv" if path.is_dir() else path
    csv.field_size_limit(10**7)
    pairs, scores = [], []
    with file.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 7:
                pairs.append((row[5], row[6]))
                scores.append(float(row[4]))
    return pairs, np.array(scores)


def load_jsonl(path: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["a"], r["b"]) for r in rows], np.array([float(r["label"]) for r in rows])


def features(pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    return np.array([pair_features(a, b) for a, b in pairs], dtype=float).reshape(len(pairs), N_BASE)


def _scores(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    tp = float(np.sum(pred & (gold == 1)))
    precision, recall = tp / max(1, pred.sum()), tp / max(1, (gold == 1).sum())
    return float(np.mean(pred == gold)), (2 * precision * recall / (precision + recall) if tp else 0.0)


def train(base: np.ndarray, labels: np.ndarray, l2: float = L2) -> PairModel:
    mu0, sd0 = base.mean(0), base.std(0) + 1e-9
    x = expand(base, mu0, sd0)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = z @ w
        grad = z.T @ (1 / (1 + np.exp(-logits)) - labels) / len(labels)
        grad[:-1] += l2 * w[:-1]
        return float(np.mean(np.logaddexp(0, logits) - labels * logits) + l2 * np.sum(w[:-1] ** 2) / 2), grad

    weights = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    model = PairModel(mu0, sd0, mu, sd, weights, 0.5)
    prob = model.probability(base)
    best = max(np.linspace(0.2, 0.8, 61), key=lambda t: sum(_scores(prob >= t, labels)))
    return PairModel(mu0, sd0, mu, sd, weights, float(best))


def cross_validate(base: np.ndarray, labels: np.ndarray, folds: int = 10) -> dict[str, float]:
    fold_of = np.arange(len(labels)) % folds
    accuracy, f1 = [], []
    for k in range(folds):
        model = train(base[fold_of != k], labels[fold_of != k])
        held_out = fold_of == k
        acc, f = _scores(model.probability(base[held_out]) >= model.threshold, labels[held_out])
        accuracy.append(acc)
        f1.append(f)
    return {"accuracy": round(float(np.mean(accuracy)), 4), "f1": round(float(np.mean(f1)), 4)}


def evaluate(fmt: str, path: Path, cv: int | None = None) -> dict[str, float]:
    pairs, gold = {"msrp": load_msrp, "sts": load_sts, "jsonl": load_jsonl}[fmt](path)
    started = time.perf_counter()
    base = features(pairs)
    model = shipped_model()
    prob = model.probability(base)
    elapsed = time.perf_counter() - started
    result: dict[str, float] = {"pairs": len(pairs), "pairs_per_s": round(len(pairs) / elapsed, 1)}
    if fmt == "sts":
        result["pearson"] = round(float(pearsonr(prob, gold)[0]), 4)
        result["spearman"] = round(float(spearmanr(prob, gold)[0]), 4)
    elif cv:
        result.update(cross_validate(base, gold, cv))
        result["cv_folds"] = cv
    else:
        accuracy, f1 = _scores(prob >= model.threshold, gold)
        result.update(accuracy=round(accuracy, 4), f1=round(f1, 4))
    return result


STS_SAME_FACT = 2.5  # STS gold at or above this: "the same fact, some details may differ"


def alignment_probabilities(pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """The story aligner's pair score, with stem weights (IDF) taken from the whole file."""
    stems = [(set(content_stems(a)), set(content_stems(b))) for a, b in pairs]
    weights = stem_weights([s for pair in stems for s in pair])
    return np.array([pair_score(a, b, weights) for a, b in stems])


def evaluate_alignment(fmt: str, path: Path) -> dict[str, float]:
    """The alignment decision (score ≥ ALIGN_THRESHOLD) on labelled pairs; on STS the label is gold ≥ 2.5."""
    pairs, gold = {"msrp": load_msrp, "sts": load_sts, "jsonl": load_jsonl}[fmt](path)
    started = time.perf_counter()
    score = alignment_probabilities(pairs)
    elapsed = time.perf_counter() - started
    result: dict[str, float] = {"pairs": len(pairs), "pairs_per_s": round(len(pairs) / elapsed, 1)}
    labels = (gold >= STS_SAME_FACT).astype(float) if fmt == "sts" else gold
    if fmt == "sts":
        result["pearson"] = round(float(pearsonr(score, gold)[0]), 4)
        result["spearman"] = round(float(spearmanr(score, gold)[0]), 4)
    accuracy, f1 = _scores(score >= ALIGN_THRESHOLD, labels)
    result.update(accuracy=round(accuracy, 4), f1=round(f1, 4), threshold=ALIGN_THRESHOLD)
    return result


STS_SAME_FACT_STRICT = 3.5  # the same-fact decision: "roughly equivalent, only minor details differ"


def evaluate_same_fact(path: Path, semantic: bool = False) -> dict[str, float]:
    """The same-fact decision (compare.samefact) on STS pairs, label gold ≥ 3.5: precision, recall
    and F0.5 at the shipped thresholds (lexical, or the embedding backend)."""
    from storydiff.compare.samefact import SAME_FACT, STRONG, same_fact_score, semantic_to_scale

    pairs, gold = load_sts(path)
    started = time.perf_counter()
    if semantic:
        from storydiff.compare.embed import embed

        a, b = embed([x for x, _ in pairs]), embed([y for _, y in pairs])
        score = np.array([semantic_to_scale(float(c)) for c in (a * b).sum(axis=1)])
    else:
        score = np.array(
            [same_fact_score(x, y, stem_weights([set(content_stems(x)), set(content_stems(y))])) for x, y in pairs]
        )
    elapsed = time.perf_counter() - started
    labels = gold >= STS_SAME_FACT_STRICT
    result: dict[str, float] = {"pairs": len(pairs), "pairs_per_s": round(len(pairs) / elapsed, 1)}
    for name, threshold in (("same_fact", SAME_FACT), ("strong", STRONG)):
        chosen = score >= threshold
        tp = float((chosen & labels).sum())
        precision, recall = tp / max(1.0, float(chosen.sum())), tp / max(1.0, float(labels.sum()))
        f05 = 1.25 * precision * recall / max(1e-9, 0.25 * precision + recall)
        result.update({f"{name}_precision": round(precision, 4), f"{name}_recall": round(recall, 4)})
        result[f"{name}_f05"] = round(f05, 4)
    result["spearman"] = round(float(spearmanr(score, gold)[0]), 4)
    return result
