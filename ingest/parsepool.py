"""Feed parsing in worker processes, so parsing (CPU) runs on another core while the calling
process stores the previous feeds. Fetching stays in threads of the calling process, so the
per-host limits remain global. A crash of a worker process only fails the feed it was parsing;
the pool is rebuilt. ``STORYDIFF_PARSE_PROCESSES=0`` parses in-process instead."""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

from storydiff import settings
from storydiff.errors import FeedError
from storydiff.ingest.parse import ParsedFeed, parse_feed
from storydiff.ingest.urls import redact_url

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


IN_CELERY_WORKER = False  # set by storydiff.worker when a Celery worker starts


def _main_is_importable() -> bool:
    """spawn re-imports the parent's __main__ file; a script read from stdin has none."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return main_file is None or os.path.exists(main_file)


def process_count() -> int:
    if not _main_is_importable():
        return 0
    value = settings.get("STORYDIFF_PARSE_PROCESSES").strip().lower()
    if value == "auto" and IN_CELERY_WORKER:
        return 0  # the worker processes are the parallelism; a pool per worker only adds memory
    if value == "auto":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return cores if cores > 1 else 0
    return max(0, int(value))


def _init_worker() -> None:
    """Ctrl-C reaches the whole process group: the parent decides when workers stop. And a
    worker exits by itself when its parent is gone (killed, or stopped by a re-raised signal
    that skipped its clean-up), so no orphan is ever left behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _get_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and process_count() > 0:
            # spawn, not fork: the parent has live threads (fetchers, scheduler)
            _pool = ProcessPoolExecutor(
                process_count(), mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
            )
            atexit.register(shutdown)
        return _pool


def _reset_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool = None


def _warm() -> None:
    parse_feed(
        b'<rss version="2.0"><channel><title>w</title><item><title>warm up the parser</title></item></channel></rss>',
        "application/rss+xml",
        "http://localhost/",
        datetime.now(UTC),
    )
    from storydiff.ingest.text import detect_language

    detect_language("load the language identification model once")


def warm_up() -> None:
    """Start the worker processes and load their modules and models now."""
    pool = _get_pool()
    if pool is not None:
        for future in [pool.submit(_warm) for _ in range(process_count())]:
            future.result()


def submit(body: bytes, content_type: str | None, url: str, fetched_at: datetime) -> Future[ParsedFeed] | None:
    """Queue a parse on the pool; None when parsing happens in-process."""
    pool = _get_pool()
    if pool is None:
        return None
    try:
        return pool.submit(parse_feed, body, content_type, url, fetched_at)
    except (BrokenProcessPool, RuntimeError):
        _reset_pool()
        return None


def result(future: Future[ParsedFeed], url: str) -> ParsedFeed:
    """The parsed feed; FeedError for bad feeds and for a worker that died on this feed."""
    try:
        return future.result()
    except FeedError:
        raise
    except BrokenProcessPool as exc:
        _reset_pool()
        raise FeedError(f"the parser process died while reading this feed ({exc}); it is retried later") from exc
    except Exception as exc:  # a parser bug on hostile input: this feed fails, the run goes on
        log.exception("parsing %s failed", redact_url(url))
        raise FeedError(f"parsing failed ({type(exc).__name__}: {exc}); please report this feed") from exc
