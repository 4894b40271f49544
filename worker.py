"""Celery app: broker REDIS_URL, beat every minute, thin idempotent tasks carrying ids.

    celery -A storydiff.worker worker -Q fetch,extract,compare,alerts,celery --pool threads --concurrency 6
    celery -A storydiff.worker beat

Each task calls one pipeline function (the same ones the CLI and the in-process scheduler
call); acks_late + reject_on_worker_lost re-deliver a task whose worker died mid-way, which
is safe because every function is idempotent. Nothing waits forever: beat's ``sweep`` finds every
piece of pending work from the database state (articles waiting for text, unclustered articles,
stale reports, reports not matched for alerts) and enqueues it again, so a lost task (a Redis
restart, a killed worker) only delays work. Database and broker outages are waited out: tasks retry
with capped exponential backoff (never 0 s) for STORYDIFF_RETRY_WINDOW seconds, then the sweep takes
over. Clustering and report runs are coalesced: a trigger while one is already queued adds nothing.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import kombu.exceptions
import redis
from celery import Celery, signals
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storydiff import allocator, logs, settings
from storydiff.alerts.deliver import deliver_due, plan
from storydiff.alerts.match import match_story
from storydiff.compare.run import cluster_new_articles
from storydiff.compare.store_reports import compare_stories, compare_story, stale_story_ids
from storydiff.errors import NotFound
from storydiff.ingest import parsepool
from storydiff.ingest.fetch import make_client
from storydiff.ingest.fulltext import extract_article
from storydiff.ingest.refresh import RefreshResult, due_feed_ids, hold_for_refresh, refresh_due_feeds, refresh_feed
from storydiff.pipeline import pending_work
from storydiff.store import open_database
from storydiff.store.models import Article, ArticleFeed

allocator.tune()  # before Celery starts its threads (and forks its pool: the children inherit it)
app = Celery("storydiff", broker=settings.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    timezone="UTC",
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": settings.get_int("STORYDIFF_VISIBILITY_TIMEOUT"),
        # a worker takes its next task from the first non-empty queue in its -Q order (fetch first),
        # not round-robin: refreshes never wait behind a backlog of clustering and report work
        "queue_order_strategy": "priority",
    },
    task_routes={
        "storydiff.schedule_due_feeds": {"queue": "fetch"},  # beat's tick: ahead of any backlog too
        "storydiff.refresh_feed": {"queue": "fetch"},
        "storydiff.refresh_feeds": {"queue": "fetch"},
        "storydiff.extract_article": {"queue": "extract"},
        "storydiff.cluster_articles": {"queue": "compare"},
        "storydiff.compare_story": {"queue": "compare"},
        "storydiff.compare_stories": {"queue": "compare"},
        "storydiff.schedule_stale_reports": {"queue": "compare"},
        "storydiff.match_alerts": {"queue": "alerts"},
        "storydiff.match_alerts_batch": {"queue": "alerts"},
        "storydiff.deliver_alerts": {"queue": "alerts"},
        "storydiff.sweep": {"queue": "compare"},
    },
    beat_schedule={
        "schedule-due-feeds": {"task": "storydiff.schedule_due_feeds", "schedule": 30.0},
        "deliver-alerts": {"task": "storydiff.deliver_alerts", "schedule": 15.0},  # retries and digests
        "sweep": {"task": "storydiff.sweep", "schedule": 60.0},  # work a lost task left behind
    },
)


@signals.setup_logging.connect
def _logging(**kwargs: Any) -> None:
    """Celery asks: storydiff's configuration (STORYDIFF_LOG_LEVEL, STORYDIFF_LOG_FORMAT) instead of its
    own, for the worker and beat alike (the worker's --loglevel is not used)."""
    logs.configure()


@signals.worker_init.connect
def _worker_init(**kwargs: Any) -> None:
    parsepool.IN_CELERY_WORKER = True


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    logs.TASK.set((getattr(task, "name", "?"), task_id or "?"))  # on every log line of the task


# tasks that build large short-lived structures (a clustering window, a batch of reports)
HEAVY_TASKS = frozenset({"storydiff.cluster_articles", "storydiff.compare_stories", "storydiff.compare_story"})


@signals.task_postrun.connect
def _task_done(task: Any = None, **kwargs: Any) -> None:
    logs.TASK.set(None)
    # glibc keeps the memory a heavy task freed in its arenas (one per task thread) and the worker's
    # RSS stays at each arena's high-water mark; give the free pages back to the system
    if getattr(task, "name", None) in HEAVY_TASKS:
        allocator.trim()


def _retries(window: float, first: float = 5.0, cap: float = 120.0) -> int:
    """How many retries of first, 2×first, … (capped) it takes to wait out ``window`` seconds."""
    count, waited, delay = 0, 0.0, first
    while waited < window:
        waited += delay
        delay = min(cap, delay * 2)
        count += 1
    return count


OUTAGES = (
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
RETRY = {
    "autoretry_for": OUTAGES,
    "retry_backoff": 5,  # 5 s, 10 s, 20 s, … — never "retry in 0 s"
    "retry_backoff_max": 120,
    "retry_jitter": False,
    "max_retries": _retries(settings.get_float("STORYDIFF_RETRY_WINDOW")),
}
PENDING_TTL = 300  # a coalescing marker expires: a lost task is re-enqueued by the next sweep after this


def _redis() -> redis.Redis:
    return redis.Redis.from_url(app.conf.broker_url, socket_connect_timeout=5, socket_timeout=5)


def enqueue_once(task: Any, *args: Any, key: str) -> bool:
    """Enqueue unless the same work is already queued (a marker set when it was enqueued and
    cleared when it starts): an ingest of N articles triggers one clustering run, not N."""
    if not _redis().set(f"storydiff:queued:{key}", 1, nx=True, ex=PENDING_TTL):
        return False
    task.delay(*args)
    return True


def started(key: str) -> None:
    """The queued work is running: a trigger from now on queues another run."""
    _redis().delete(f"storydiff:queued:{key}")


def _mark_queued(prefix: str, ids: list[int]) -> list[int]:
    """The ids whose work was not queued yet, now marked as queued (one round trip for all)."""
    pipe = _redis().pipeline(transaction=False)
    for item in ids:
        pipe.set(f"storydiff:queued:{prefix}:{item}", 1, nx=True, ex=PENDING_TTL)
    return [item for item, fresh in zip(ids, pipe.execute(), strict=True) if fresh]


def _started_all(prefix: str, ids: list[int]) -> None:
    if ids:
        _redis().delete(*(f"storydiff:queued:{prefix}:{item}" for item in ids))


def enqueue_reports(story_ids: list[int]) -> int:
    """Queue the report recomputation of these stories, STORYDIFF_COMPARE_BATCH per task; a story
    whose report is already queued is left out (coalesced per story, as with one task per story).
    One task per story cost a Celery message, two Redis round trips and a database session each."""
    fresh = _mark_queued("compare", sorted(set(story_ids)))
    size = max(1, settings.get_int("STORYDIFF_COMPARE_BATCH"))
    for start in range(0, len(fresh), size):
        compare_stories_task.delay(fresh[start : start + size])
    return len(fresh)


def enqueue_matching(story_ids: list[int]) -> int:
    """Queue alert matching for these stories' new reports (one task for all of them, coalesced per story)."""
    fresh = _mark_queued("match", sorted(set(story_ids)))
    if fresh:
        match_alerts_batch_task.delay(fresh)
    return len(fresh)


@functools.cache
def _factory() -> sessionmaker[Session]:
    return open_database()[1]


@functools.cache
def _client() -> httpx.Client:
    """One HTTP client per worker process, shared by its refresh tasks (thread-safe): its connections
    and TLS context are kept, not rebuilt for every batch of feeds."""
    return make_client()


@app.task(name="storydiff.schedule_due_feeds")
def schedule_due_feeds() -> int:
    """Beat entry: claim every due feed (so it is not handed out twice) and enqueue their refresh in
    batches of STORYDIFF_REFRESH_BATCH: a batch fetches its feeds concurrently, as the embedded
    mode does, so one slow server does not hold a worker and the per-task cost is shared."""
    with _factory()() as session:
        ids = due_feed_ids(session, lease=True)
    size = max(1, settings.get_int("STORYDIFF_REFRESH_BATCH"))
    for start in range(0, len(ids), size):
        refresh_feeds_task.delay(ids[start : start + size])
    return len(ids)


def _queue_extractions(result: RefreshResult) -> None:
    """Queue full-text extraction for the articles a refresh stored that wait for their page (known
    from the refresh itself: no database round trip that an outage could cut between the feed being
    stored and its follow-up being queued)."""
    for article_id in result.fulltext_ids:
        enqueue_once(extract_article_task, article_id, key=f"extract:{article_id}")


def _queue_waiting_work(feed_ids: list[int]) -> None:
    """After an outage: queue, from the database state, the text extraction of these feeds'
    articles still waiting for it, and a clustering run. A commit cut by the outage may have been
    applied although the worker saw an error; the retry then finds those feeds "not modified"
    and would otherwise leave their articles to the sweep."""
    with _factory()() as session:
        waiting = session.scalars(
            select(Article.id).where(
                Article.needs_fulltext.is_(True),
                Article.id.in_(select(ArticleFeed.article_id).where(ArticleFeed.feed_id.in_(feed_ids))),
            )
        ).all()
    for article_id in waiting:
        enqueue_once(extract_article_task, article_id, key=f"extract:{article_id}")
    enqueue_once(cluster_articles_task, key="cluster")


@app.task(name="storydiff.refresh_feeds", bind=True, **RETRY)
def refresh_feeds_task(self: Any, feed_ids: list[int]) -> dict[str, int]:
    """Refresh a batch of feeds (fetched concurrently, stored one at a time). What a feed brought is
    queued as soon as the feed is stored; a retry after an outage also queues what the database
    says is still waiting, so a batch cut short leaves nothing to the sweep."""
    with _factory()() as session:
        hold_for_refresh(session, list(feed_ids))
    if self.request.retries:
        _queue_waiting_work(feed_ids)
    stored: list[RefreshResult] = []

    def follow_up(result: RefreshResult) -> None:
        stored.append(result)
        _queue_extractions(result)

    try:
        refresh_due_feeds(_factory(), feed_ids, on_result=follow_up, client=_client())
    finally:
        if any(result.article_ids for result in stored):
            enqueue_once(cluster_articles_task, key="cluster")
    counts: dict[str, int] = {"feeds": len(stored), "new": 0, "updated": 0}
    for result in stored:
        counts["new"] += result.new
        counts["updated"] += result.updated
        counts[result.status] = counts.get(result.status, 0) + 1
    return counts


@app.task(name="storydiff.refresh_feed", bind=True, **RETRY)
def refresh_feed_task(self: Any, feed_id: int) -> dict[str, Any]:
    """Refresh one feed (the CLI's and the API's "refresh now")."""
    if self.request.retries:
        _queue_waiting_work([feed_id])
    with _factory()() as session:
        hold_for_refresh(session, feed_id)
        result = refresh_feed(session, feed_id)
    _queue_extractions(result)
    if result.article_ids:
        enqueue_once(cluster_articles_task, key="cluster")
    return {"feed_id": feed_id, "status": result.status, "new": result.new, "updated": result.updated}


@app.task(name="storydiff.extract_article", **RETRY)
def extract_article_task(article_id: int) -> str:
    started(f"extract:{article_id}")
    with _factory()() as session:
        outcome = extract_article(session, article_id)
    enqueue_once(cluster_articles_task, key="cluster")
    return outcome


@app.task(name="storydiff.cluster_articles", **RETRY)
def cluster_articles_task() -> dict[str, int]:
    """Assign every unclustered article to a story (idempotent; a job lock serialises runs)."""
    started("cluster")
    with _factory()() as session:
        run = cluster_new_articles(session)
    enqueue_reports(run.story_ids)
    return {"articles": run.articles, "new_stories": run.new_stories, "merged": run.merged}


@app.task(name="storydiff.compare_story", **RETRY)
def compare_story_task(story_id: int) -> dict[str, Any]:
    """Recompute and store one story's report (idempotent; a story merged away is skipped)."""
    started(f"compare:{story_id}")
    with _factory()() as session:
        try:
            report = compare_story(session, story_id)
        except NotFound:
            return {"story_id": story_id, "skipped": "story no longer exists"}
    enqueue_once(match_alerts_task, story_id, key=f"match:{story_id}")
    return {"story_id": story_id, "divergences": len(report["divergences"])}


@app.task(name="storydiff.compare_stories", **RETRY)
def compare_stories_task(story_ids: list[int]) -> dict[str, Any]:
    """Recompute and store the reports of a batch of stories (what a clustering run or the sweep
    queues), then queue their alert matching as one task. Idempotent: a retry recomputes them."""
    _started_all("compare", story_ids)
    with _factory()() as session:
        done = compare_stories(session, story_ids)  # (a story merged into another since it was queued is skipped)
    enqueue_matching(done)
    return {"stories": len(story_ids), "compared": len(done)}


@app.task(name="storydiff.match_alerts_batch", **RETRY)
def match_alerts_batch_task(story_ids: list[int]) -> dict[str, Any]:
    """Alerts for a batch of stories' stored reports (idempotent), then one delivery run."""
    _started_all("match", story_ids)
    created = 0
    with _factory()() as session:
        for story_id in story_ids:
            created += len(match_story(session, story_id))
        planned = plan(session)
    if planned:
        enqueue_once(deliver_alerts_task, key="deliver")
    return {"stories": len(story_ids), "alerts": created, "deliveries": planned}


@app.task(name="storydiff.match_alerts", **RETRY)
def match_alerts_task(story_id: int) -> dict[str, Any]:
    """Alerts for one story's stored report (idempotent: a unique key per alert), then delivery."""
    started(f"match:{story_id}")
    with _factory()() as session:
        created = match_story(session, story_id)
        planned = plan(session)
    if planned:
        enqueue_once(deliver_alerts_task, key="deliver")
    return {"story_id": story_id, "alerts": len(created), "deliveries": planned}


@app.task(name="storydiff.deliver_alerts", **RETRY)
def deliver_alerts_task() -> dict[str, int]:
    """Beat entry and after matching: digests due, then every due delivery (retries included)."""
    started("deliver")
    with _factory()() as session:
        plan(session)
        outcomes = deliver_due(session)
    return {"delivered": sum(o.status == "delivered" for o in outcomes), "attempts": len(outcomes)}


@app.task(name="storydiff.schedule_stale_reports")
def schedule_stale_reports() -> int:
    """Enqueue compare_story for stories whose report is missing or out of date (an article edited
    or given its full text after the story was last compared); part of the sweep."""
    with _factory()() as session:
        ids = stale_story_ids(session)
    return enqueue_reports(ids)


@app.task(name="storydiff.sweep")
def sweep() -> dict[str, int]:
    """Beat entry: every piece of work waiting longer than STORYDIFF_SWEEP_AFTER is enqueued again
    (coalesced with what is already queued). Lost tasks only delay work."""
    from storydiff.ingest.writer import identify_pending_languages, sign_pending

    with _factory()() as session:
        identify_pending_languages(session)  # left by a one-shot ingest that stopped
        sign_pending(session)  # (the same)
        work = pending_work(session, older_than=settings.get_float("STORYDIFF_SWEEP_AFTER"))
    queued = {"extract": 0, "cluster": 0, "compare": 0, "match": 0, "deliver": 0}
    for article_id in work.fulltext:
        queued["extract"] += enqueue_once(extract_article_task, article_id, key=f"extract:{article_id}")
    if work.unclustered:
        queued["cluster"] += enqueue_once(cluster_articles_task, key="cluster")
    queued["compare"] += enqueue_reports(work.stale)
    queued["match"] += enqueue_matching(work.unmatched)
    if work.overdue_deliveries:
        queued["deliver"] += enqueue_once(deliver_alerts_task, key="deliver")
    return queued
