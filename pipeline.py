"""The pipeline, written once: refresh due feeds → extract full text → cluster new articles into
stories → recompute stale reports → alerts (match, plan, deliver). ``run_once`` is what the CLI (`storydiff ingest`), the in-process
scheduler and the demo call; the Celery tasks in worker.py call the same steps one by one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from storydiff import settings
from storydiff.alerts.deliver import run_alerts
from storydiff.compare.run import ClusterRun, cluster_new_articles
from storydiff.compare.store_reports import compare_stale_stories
from storydiff.ingest.fulltext import extract_pending
from storydiff.ingest.refresh import RefreshResult, refresh_due_feeds

STEPS = ("ingest", "cluster", "compare", "alerts")


def all_failed_message(results: list[RefreshResult]) -> str:
    """What to tell the user when every feed of a run failed: the likely cause when all failures
    share one (no network or DNS), else the first error, and where to see each feed's error."""
    from storydiff.ingest.fetch import OFFLINE_HINT

    n = len(results)
    errors = [r.error or r.status for r in results]
    if all(OFFLINE_HINT in e for e in errors):
        return (
            f"every feed failed ({n} of {n}): no host name could be resolved — {OFFLINE_HINT} "
            f"(first: {errors[0]}). Feeds are retried with backoff; `storydiff feeds list` shows each one."
        )
    return (
        f"every feed failed ({n} of {n}); first error: {errors[0]}. "
        "`storydiff feeds list` (or the Feeds health page) shows each feed's error."
    )


@dataclass
class PipelineRun:
    refreshed: list[RefreshResult] = field(default_factory=list)
    fulltext: dict[str, int] = field(default_factory=dict)  # extraction outcome → count
    clustering: ClusterRun = field(default_factory=ClusterRun)
    compared: list[int] = field(default_factory=list)  # story ids whose report was recomputed
    alerts: dict[str, int] = field(default_factory=dict)  # alerts created, deliveries, delivered


def run_once(
    factory: sessionmaker[Session],
    feed_ids: list[int] | None = None,
    fulltext: bool | None = None,
    on_result: Callable[[RefreshResult], None] | None = None,
    through: str = "alerts",
) -> PipelineRun:
    """One pass over the pipeline. ``feed_ids`` None refreshes the due feeds; ``fulltext`` None
    follows STORYDIFF_FULLTEXT; ``on_result`` is called after each feed (progress bars);
    ``through`` stops after a step: "ingest" (refresh + full text), "cluster", "compare" or "alerts"
    (match the recomputed stories against the subscriptions, plan and send what is due)."""
    if through not in STEPS:
        raise ValueError(f"through must be one of {STEPS}")
    run = PipelineRun(refreshed=refresh_due_feeds(factory, feed_ids, on_result=on_result))
    if fulltext if fulltext is not None else settings.get_bool("STORYDIFF_FULLTEXT"):
        with factory() as session:
            run.fulltext = extract_pending(session)
    if through == "ingest":
        return run
    with factory() as session:
        run.clustering = cluster_new_articles(session)
    if through == "cluster":
        return run
    with factory() as session:
        run.compared = compare_stale_stories(session)
    if through == "compare":
        return run
    with factory() as session:
        run.alerts = run_alerts(session, run.compared)
    return run
