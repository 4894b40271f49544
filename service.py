"""The embedded default: web app plus an in-process scheduler running the pipeline
(storydiff.pipeline.run_once) every tick, so no Redis is needed."""

from __future__ import annotations

import logging
import signal
import threading

from sqlalchemy.orm import Session, sessionmaker

from storydiff import settings
from storydiff.ingest import parsepool
from storydiff.pipeline import run_once

log = logging.getLogger(__name__)


class InProcessScheduler(threading.Thread):
    def __init__(self, factory: sessionmaker[Session], tick: float | None = None) -> None:
        super().__init__(name="storydiff-scheduler", daemon=True)
        self.factory = factory
        self.tick = tick if tick is not None else settings.get_float("STORYDIFF_SCHEDULER_TICK")
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                run = run_once(self.factory)
                if run.refreshed:
                    log.info("refreshed %d feeds", len(run.refreshed))
            except Exception:  # keep scheduling; the error is in the log
                log.exception("scheduler tick failed")
            self.stopping.wait(self.tick)

    def stop(self) -> None:
        self.stopping.set()


def serve(factory: sessionmaker[Session], host: str, port: int, scheduler: bool = True) -> None:
    import uvicorn

    from storydiff.web.app import create_app

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
