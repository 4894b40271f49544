"""`storydiff eval …`: quality evaluations on the real datasets, with optional gate floors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from storydiff import settings

err_console = Console(stderr=True)


def enforce_floors(result: dict, floors: dict[str, float | None]) -> None:
    """Eval gate: exit 1 naming every metric below its pinned floor."""
    below = [f"{k} {result.get(k)} < floor {v}" for k, v in floors.items() if v is not None and result.get(k, 0) < v]
    if below:
        err_console.print("[red]gate failed:[/red] " + "; ".join(below))
        sys.exit(1)


@click.group("eval")
def eval_group() -> None:
    """Quality evaluations on the real datasets (../shared/data)."""


@eval_group.command("cluster")
@click.option("--format", "fmt", type=click.Choice(["uci", "wikiref", "jsonl", "basil", "allsides"]), required=True)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--min-f1", type=float, default=None, help="Exit 1 when B³-F1 is below this floor (eval gate).")
@click.option("--min-precision", type=float, default=None, help="Exit 1 when B³-precision is below this floor.")
def eval_cluster(fmt: str, path: Path, as_json: bool, min_f1: float | None, min_precision: float | None) -> None:
    """Replay a labelled dataset in time order through the clusterer; B³ P/R/F1, ARI, speed."""
    from storydiff.evals.cluster import LOADERS, evaluate

    result = evaluate(LOADERS[fmt](path))
    click.echo(json.dumps(result) if as_json else "\n".join(f"{k:>17}: {v}" for k, v in result.items()))
    enforce_floors(result, {"bcubed_f1": min_f1, "bcubed_precision": min_precision})


@eval_group.command("cluster-cv")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def eval_cluster_cv(path: Path) -> None:
    """How the clustering thresholds were chosen: tune on half the UCI stories, score the other half."""
    from storydiff.evals.cluster import cross_validate, load_uci

    click.echo(json.dumps(cross_validate(load_uci(path)), indent=2))


@eval_group.command("align")
@click.option("--format", "fmt", type=click.Choice(["msrp", "sts", "jsonl"]), required=True)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--cv", type=int, default=None, help="k-fold cross-validation (refits per fold): the gate's figure.")
@click.option(
    "--decision",
    type=click.Choice(["paraphrase", "alignment", "samefact"]),
    default="paraphrase",
    show_default=True,
    help="paraphrase: same claim worded alike (MSRP-fitted model, the gate); alignment: the story aligner's "
    "same-fact score (on STS the label is gold ≥ 2.5).",
)
@click.option("--semantic", is_flag=True, help="samefact: the embedding backend (extra `semantic`).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--min-accuracy", type=float, default=None, help="Exit 1 below this accuracy (eval gate).")
@click.option("--min-f1", type=float, default=None, help="Exit 1 below this F1 (eval gate).")
@click.option("--min-pearson", type=float, default=None, help="Exit 1 below this Pearson correlation (sts).")
def eval_align(
    fmt: str,
    path: Path,
    cv: int | None,
    decision: str,
    semantic: bool,
    as_json: bool,
    min_accuracy: float | None,
    min_f1: float | None,
    min_pearson: float | None,
) -> None:
    """The claim pair decision function on paraphrase data: accuracy/F1 or Pearson/Spearman."""
    from storydiff.evals.align import evaluate, evaluate_alignment, evaluate_same_fact

    if decision != "paraphrase" and cv:
        raise click.UsageError("--cv refits the paraphrase model; the other decisions have nothing to refit")
    if decision == "samefact" and fmt != "sts":
        raise click.UsageError("--decision samefact is measured on STS (graded similarity): use --format sts")
    if decision == "samefact":
        result = evaluate_same_fact(path, semantic)
    else:
        result = evaluate_alignment(fmt, path) if decision == "alignment" else evaluate(fmt, path, cv)
    click.echo(json.dumps(result) if as_json else "\n".join(f"{k:>12}: {v}" for k, v in result.items()))
    enforce_floors(result, {"accuracy": min_accuracy, "f1": min_f1, "pearson": min_pearson})


@eval_group.command("stance")
@click.option("--format", "fmt", type=click.Choice(["fnc"]), required=True)
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sample", type=int, default=None, help="Score an evenly spread sample of N pairs.")
@click.option(
    "--signal",
    type=click.Choice(["story", "claim"]),
    default="story",
    show_default=True,
    help="What decides related vs unrelated.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_stance(fmt: str, path: Path, sample: int | None, signal: str, as_json: bool) -> None:
    """FNC-1: related-vs-unrelated accuracy and the agree/disagree/discuss confusion of claim evidence."""
    from storydiff.evals.stance import evaluate

    result = evaluate(path, sample, signal)
    click.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@eval_group.command("divergences")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["basil", "allsides", "fnc"]),
    default="basil",
    show_default=True,
    help="fnc: FNC-1 topics as stories (a check on real stories outside the judged events; no hand list).",
)
@click.option("--split", type=click.Choice(["all", "dev", "holdout"]), default="all", show_default=True)
@click.option(
    "--fnc-bodies",
    type=click.IntRange(2, 20),
    default=6,
    show_default=True,
    help="fnc: bodies per story; another number cuts the topics into other stories (other pairs of bodies).",
)
@click.option("--dump", type=click.Path(dir_okay=False, path_type=Path), help="Write every reported item (JSONL).")
@click.option(
    "--semantic",
    "semantic_mode",
    type=click.Choice(["on", "coverage"]),
    is_flag=False,
    flag_value="on",
    default=None,
    help="Sentence embeddings (extra `semantic`): every same-fact decision (--semantic, = on) or only "
    "the coverage of omissions and exclusives (--semantic coverage).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--min-precision", type=float, default=None, help="Floor for the precision of every typed kind.")
@click.option("--min-high-precision", type=float, default=None, help="Floor for the precision of high items.")
@click.option("--max-unjudged", type=float, default=None, help="Ceiling for the share of unjudged typed items.")
@click.option("--min-recall", type=float, default=None, help="Floor for recall on the hand-listed divergences.")
def eval_divergences(
    path: Path | None,
    fmt: str,
    split: str,
    fnc_bodies: int,
    dump: Path | None,
    semantic_mode: str | None,
    as_json: bool,
    min_precision: float | None,
    min_high_precision: float | None,
    max_unjudged: float | None,
    min_recall: float | None,
) -> None:
    """Precision per type on the judged divergences of real BASIL events, recall on the hand-listed
    ones, unjudged items and divergences per story (evals/judged/ holds the judgments)."""
    from storydiff.evals.divergences import (
        JUDGMENTS,
        RECALL,
        evaluate,
        load_allsides,
        load_basil,
        load_fnc_topics,
        read_jsonl,
        report_items,
    )

    semantic: bool | str = {"on": True, "coverage": "coverage"}.get(semantic_mode or "", False)
    folder = {"basil": "basil-dev", "allsides": "allsides-roundups", "fnc": "fnc-1"}[fmt]
    root = path or settings.shared_data_dir() / folder
    if not root.exists():
        raise click.ClickException(f"{fmt} data not found at {root}; pass its path or set STORYDIFF_SHARED_DATA")
    loaders = {"basil": load_basil, "allsides": load_allsides}
    events = load_fnc_topics(root, fnc_bodies) if fmt == "fnc" else loaders[fmt](root)
    if dump:
        with dump.open("w", encoding="utf-8") as out:
            for event in events:
                for item in report_items(event, semantic):
                    out.write(json.dumps(item, ensure_ascii=False) + "\n")
    result = evaluate(events, read_jsonl(JUDGMENTS), read_jsonl(RECALL), split, semantic)
    click.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))
    failures = []
    if min_precision is not None:
        from storydiff.evals.divergences import TYPED

        low = {t: p for t, p in result["precision"].items() if t in TYPED and p is not None and p < min_precision}
        failures += [f"{t} precision {p} < floor {min_precision}" for t, p in low.items()]
    high = result["high_precision"]  # None: no judged high item reported, nothing false shown high
    if min_high_precision is not None and high is not None and high < min_high_precision:
        failures.append(f"high precision {high} < floor {min_high_precision}")
    if max_unjudged is not None and result["unjudged_share"] > max_unjudged:
        failures.append(f"unjudged typed share {result['unjudged_share']} > ceiling {max_unjudged}: judge them")
    if min_recall is not None and (result["recall"] or 0) < min_recall:
        failures.append(f"recall {result['recall']} < floor {min_recall}")
    if failures:
        err_console.print("[red]gate failed:[/red] " + "; ".join(failures))
        sys.exit(1)


@eval_group.command("align-train")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def eval_align_train(path: Path) -> None:
    """Refit the shipped pair model on MSRP train (writes compare/paraphrase_model.json)."""
    from storydiff.compare.paraphrase import MODEL_FILE
    from storydiff.evals.align import features, load_msrp, train

    pairs, labels = load_msrp(path)
    model = train(features(pairs), labels)
    MODEL_FILE.write_text(model.to_json(), encoding="utf-8")
    click.echo(f"trained on {len(pairs)} MSRP pairs; threshold {model.threshold:.2f}; wrote {MODEL_FILE}")


@eval_group.command("extract")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--min-f1", type=float, default=None, help="Exit 1 when F1 is below this floor (eval gate).")
def eval_extract(path: Path | None, as_json: bool, min_f1: float | None) -> None:
    """Full-text extraction F1 on the article-extraction benchmark."""
    from storydiff.evals.extraction import evaluate

    root = path or settings.shared_data_dir() / "article-extraction-benchmark"
    if not root.is_dir():
        raise click.ClickException(f"benchmark not found at {root}; pass its path or set STORYDIFF_SHARED_DATA")
    result = evaluate(root)
    click.echo(json.dumps(result) if as_json else "\n".join(f"{k:>12}: {v}" for k, v in result.items()))
    enforce_floors(result, {"f1": min_f1})
