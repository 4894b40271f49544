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
