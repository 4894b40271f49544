"""Feed parsing in worker processes, so parsing (CPU) runs on another core while the calling
process stores the previous feeds. Fetching stays in threads of the calling process, so the
per-host limits remain global. A crash of a worker process only fails the feed it was parsing;
the pool is rebuilt. ``STORYDIFF_PARSE_PROCESSES=0`` parses in-process instead.

Workers are lean: they import the pure parser (feedparser, lxml, numpy, py3langid) and nothing
else. spawn would re-run the parent's ``__main__`` in each worker — for the ``storydiff``
command that is the whole CLI with SQLAlchemy, the web app and the comparison stack (about
190 MB a worker instead of about 60) — so the processes are started with ``__main__`` hidden."""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from storydiff import settings
from storydiff.errors import FeedError
from storydiff.ingest.urls import redact_url

if TYPE_CHECKING:
    from storydiff.ingest.parse import ParsedFeed

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


IN_CELERY_WORKER = False  # set by storydiff.worker when a Celery worker starts


def process_count() -> int:
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


_main_lock = threading.Lock()


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """While a process is spawned, ``__main__`` is an empty module: spawn then has no main
    script to re-run in the child, which imports only what it unpickles (the parser)."""
    with _main_lock:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class _LeanProcess(multiprocessing.context.SpawnProcess):
    def start(self) -> None:
        with _main_hidden():
            super().start()


class _LeanSpawnContext(multiprocessing.context.SpawnContext):
    """spawn whose processes do not re-run the parent's ``__main__`` (the pool starts its
    workers on demand, from whichever thread submits)."""

    Process = _LeanProcess


def _get_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and process_count() > 0:
            # spawn, not fork: the parent has live threads (fetchers, scheduler)
            _pool = ProcessPoolExecutor(process_count(), mp_context=_LeanSpawnContext(), initializer=_init_worker)
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


def _parse(body: bytes, content_type: str | None, url: str, fetched_at: datetime) -> ParsedFeed:
    """Runs in a worker: the parser is imported there, never in the parent (which may have no
    feed to parse at all, e.g. a run where every feed answers 304)."""
    from storydiff.ingest.parse import parse_feed

    # the language is identified by the storing process, for new articles only: no model per worker
    return parse_feed(body, content_type, url, fetched_at, identify_language=False)


def _warm() -> None:
    _parse(
        b'<rss version="2.0"><channel><title>w</title><item><title>warm up the parser</title></item></channel></rss>',
        "application/rss+xml",
        "http://localhost/",
        datetime.now(UTC),
    )


def warm_up() -> None:
    """Start the worker processes and load their modules now."""
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
        return pool.submit(_parse, body, content_type, url, fetched_at)
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
