"""The pipeline, written once: refresh due feeds → extract full text → cluster new articles into
stories → recompute stale reports → alerts (match, plan, deliver). ``run_once`` is what the CLI (`storydiff ingest`), the in-process
scheduler and the demo call; the Celery tasks in worker.py call the same steps one by one."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storydiff import settings
from storydiff.alerts.deliver import run_alerts
from storydiff.alerts.match import unmatched_story_ids
from storydiff.compare.run import ClusterRun, cluster_new_articles
from storydiff.compare.store_reports import compare_stale_stories, stale_story_ids
from storydiff.ingest.fulltext import extract_pending
from storydiff.ingest.refresh import RefreshResult, refresh_due_feeds
from storydiff.store.models import Article, Delivery, Report, StoryArticle, Version

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
    one_shot: bool = False,
) -> PipelineRun:
    """One pass over the pipeline. ``feed_ids`` None refreshes the due feeds; ``fulltext`` None
    follows STORYDIFF_FULLTEXT; ``on_result`` is called after each feed (progress bars);
    ``through`` stops after a step: "ingest" (refresh + full text), "cluster", "compare" or "alerts"
    (match the recomputed stories against the subscriptions, plan and send what is due).
    ``one_shot=True`` (a command that runs once) frees what only the refresh needs once the feeds are
    stored — the parse processes and the language model — before clustering and reports; a service
    keeps them for its next tick."""
    if through not in STEPS:
        raise ValueError(f"through must be one of {STEPS}")
    # one shot: the new articles' languages are identified once the parse processes are gone, so
    # the language model (~60 MB mapped) and the parse processes are never in memory together
    # and the new articles are signed (MinHash, numpy) and linked to their copies then too
    run = PipelineRun(
        refreshed=refresh_due_feeds(
            factory, feed_ids, on_result=on_result, later_languages=one_shot, later_signatures=one_shot
        )
    )
    if one_shot:
        from storydiff.ingest import parsepool

        parsepool.shutdown()
    if any(r.new for r in run.refreshed):  # (nothing new: nothing to identify, nothing to import)
        from storydiff.ingest.writer import identify_pending_languages

        with factory() as session:  # also what an earlier run that stopped left pending
            identify_pending_languages(session)
    if one_shot:
        language = sys.modules.get("storydiff.ingest.language")  # loaded only if something was identified here
        if language is not None:
            language.release_language_model()
    if any(r.new for r in run.refreshed):
        from storydiff.ingest.writer import sign_pending

        with factory() as session:  # (and what an earlier run that stopped left unsigned)
            sign_pending(session, (r.unsigned for r in run.refreshed))
        for r in run.refreshed:
            r.unsigned = []
    if fulltext if fulltext is not None else settings.get_bool("STORYDIFF_FULLTEXT"):
        with factory() as session:
            run.fulltext = extract_pending(session)
    if through == "ingest":
        return run
    clustered_at = datetime.now(UTC)
    with factory() as session:
        run.clustering = cluster_new_articles(session)
    if through == "cluster":
        return run
    with factory() as session:  # (the stories the clustering run indexed are not indexed twice)
        run.compared = compare_stale_stories(session, indexed=run.clustering.story_ids, indexed_at=clustered_at)
    if through == "compare":
        return run
    with factory() as session:
        run.alerts = run_alerts(session)  # every report computed since its last matching
    return run


@dataclass
class PendingWork:
    """Work the database says is waiting (older than a cutoff): what a lost task left behind."""

    fulltext: list[int] = field(default_factory=list)  # articles waiting for their page's text
    unclustered: int = 0  # articles with their text settled and no story
    stale: list[int] = field(default_factory=list)  # stories whose report is missing or out of date
    unmatched: list[int] = field(default_factory=list)  # reports not yet matched against the subscriptions
    overdue_deliveries: int = 0  # alert deliveries due and not sent

    def counts(self) -> dict[str, int]:
        return {
            "articles waiting for full text": len(self.fulltext),
            "articles not clustered": self.unclustered,
            "stale reports": len(self.stale),
            "reports not matched for alerts": len(self.unmatched),
            "alert deliveries overdue": self.overdue_deliveries,
        }


def pending_work(session: Session, older_than: float = 0.0, limit: int = 500) -> PendingWork:
    """Everything waiting for more than ``older_than`` seconds, found from the database state only —
    so a periodic sweep re-enqueues what a lost task (a Redis restart, a killed worker) dropped, and
    /healthz can say when work is stuck."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
    work = PendingWork()
    work.fulltext = list(
        session.scalars(
            select(Article.id)
            .where(Article.needs_fulltext.is_(True), Article.first_seen <= cutoff)
            .order_by(Article.id)
            .limit(limit)
        )
    )
    work.unclustered = int(
        session.scalar(
            select(func.count(Article.id))
            .outerjoin(StoryArticle, StoryArticle.article_id == Article.id)
            .where(StoryArticle.article_id.is_(None), Article.needs_fulltext.is_(False), Article.first_seen <= cutoff)
        )
        or 0
    )
    stale = stale_story_ids(session, limit)
    if older_than > 0 and stale:  # only those whose newest article version came before the cutoff
        newest = session.execute(
            select(StoryArticle.story_id, func.max(Version.fetched_at))
            .join(Version, Version.article_id == StoryArticle.article_id)
            .where(StoryArticle.story_id.in_(stale))
            .group_by(StoryArticle.story_id)
        ).all()
        settled = {story_id for story_id, fetched in newest if fetched is not None and _utc(fetched) <= cutoff}
        stale = [s for s in stale if s in settled]
    work.stale = stale
    unmatched = unmatched_story_ids(session, limit)
    if older_than > 0 and unmatched:
        computed = dict(
            session.execute(select(Report.story_id, Report.computed_at).where(Report.story_id.in_(unmatched))).all()
        )
        unmatched = [s for s in unmatched if _utc(computed[s]) <= cutoff]
    work.unmatched = unmatched
    work.overdue_deliveries = int(
        session.scalar(
            select(func.count(Delivery.id)).where(Delivery.status == "pending", Delivery.next_attempt_at <= cutoff)
        )
        or 0
    )
    return work


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
