"""The embedded default: web app plus an in-process scheduler running the same pipeline
functions as the Celery tasks, so no Redis is needed."""

from __future__ import annotations

import logging
import signal
import threading

from sqlalchemy.orm import Session, sessionmaker

import settings
from compare.run import cluster_new_articles
from compare.store_reports import compare_stale_stories
from ingest import RefreshResult, extract_pending, parsepool, refresh_due_feeds

log = logging.getLogger(__name__)


def run_pipeline_once(factory: sessionmaker[Session], fulltext: bool | None = None) -> list[RefreshResult]:
    """One scheduler tick: refresh every due feed, extract full text where needed, then
    cluster the new articles into stories, then recompute the reports of changed stories."""
    results = refresh_due_feeds(factory)
    if fulltext if fulltext is not None else settings.get_bool("STORYDIFF_FULLTEXT"):
        with factory() as session:
            extract_pending(session)
    with factory() as session:
        cluster_new_articles(session)
    with factory() as session:
        compare_stale_stories(session)
    return results


class InProcessScheduler(threading.Thread):
    def __init__(self, factory: sessionmaker[Session], tick: float | None = None) -> None:
        super().__init__(name="storydiff-scheduler", daemon=True)
        self.factory = factory
        self.tick = tick if tick is not None else settings.get_float("STORYDIFF_SCHEDULER_TICK")
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                results = run_pipeline_once(self.factory)
                if results:
                    log.info("refreshed %d feeds", len(results))
            except Exception:  # keep scheduling; the error is in the log
                log.exception("scheduler tick failed")
            self.stopping.wait(self.tick)

    def stop(self) -> None:
        self.stopping.set()


def serve(factory: sessionmaker[Session], host: str, port: int, scheduler: bool = True) -> None:
    import uvicorn

    from web.app import create_app

    def terminate(signum: int, frame: object) -> None:
        # uvicorn shuts down gracefully, restores this handler and re-raises the signal: as an
        # exception it unwinds through the finally below (scheduler and parse pool stop cleanly)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    thread = None
    if scheduler and not settings.get("REDIS_URL"):
        thread = InProcessScheduler(factory)
        thread.start()
        log.info("in-process scheduler started (no REDIS_URL)")
    try:
        uvicorn.run(create_app(factory), host=host, port=port, log_level="info")
    finally:
        if thread:
            thread.stop()
            thread.join(timeout=30)
        parsepool.shutdown()
