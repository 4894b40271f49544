"""The embedded default: web app plus an in-process scheduler running the pipeline
(storydiff.pipeline.run_once) every tick, so no Redis is needed."""

from __future__ import annotations

import logging
import signal
import threading

from sqlalchemy.orm import Session, sessionmaker

from storydiff import logs, settings
from storydiff.ingest import parsepool
from storydiff.pipeline import all_failed_message, run_once

log = logging.getLogger(__name__)


class InProcessScheduler(threading.Thread):
    def __init__(self, factory: sessionmaker[Session], tick: float | None = None) -> None:
        super().__init__(name="storydiff-scheduler", daemon=True)
        self.factory = factory
        self.tick = tick if tick is not None else settings.get_float("STORYDIFF_SCHEDULER_TICK")
        self.stopping = threading.Event()
        self.failing: int | None = None  # failed feeds of the last run that fetched any (None: none yet)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                run = run_once(self.factory)
                if run.refreshed:
                    self.note(run.refreshed)
            except Exception:  # keep scheduling; the error is in the log
                log.exception("scheduler tick failed")
            self.stopping.wait(self.tick)

    def note(self, results: list) -> None:  # type: ignore[type-arg]
        """One console line per run that fetched feeds; a warning when every feed failed, said
        again only when that changes (not every tick)."""
        failed = sum(r.status == "error" for r in results)
        new = sum(r.new for r in results)
        if failed == len(results):
            if self.failing != failed:
                log.warning("scheduler: %s", all_failed_message(results))
        elif failed:
            log.info(
                "scheduler: refreshed %d feeds, %d new articles; %d feeds failed (see /feeds)",
                len(results),
                new,
                failed,
            )
        else:
            log.info("scheduler: refreshed %d feeds, %d new articles", len(results), new)
        self.failing = failed

    def stop(self) -> None:
        self.stopping.set()


def serve(factory: sessionmaker[Session], host: str, port: int, scheduler: bool = True) -> None:
    import uvicorn

    from storydiff.web.app import create_app

    def terminate(signum: int, frame: object) -> None:
        # uvicorn shuts down gracefully, restores this handler and re-raises the signal: as an
        # exception it unwinds through the finally below (scheduler and parse pool stop cleanly)
        raise SystemExit(128 + signum)

    logs.ensure_configured()
    signal.signal(signal.SIGTERM, terminate)
    thread = None
    if scheduler and not settings.get("REDIS_URL"):
        thread = InProcessScheduler(factory)
        thread.start()
        log.info("in-process scheduler started (no REDIS_URL)")
    try:
        # uvicorn keeps our logging (log_config=None) and its access log off: the Guard writes one
        # line per request with its request id and without the query string
        uvicorn.run(create_app(factory), host=host, port=port, log_config=None, access_log=False)
    finally:
        if thread:
            thread.stop()
            thread.join(timeout=30)
        parsepool.shutdown()
