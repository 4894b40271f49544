"""Feed parsing in worker processes, so parsing (CPU) runs on another core while the calling
process stores the previous feeds. Fetching stays in threads of the calling process, so the
per-host limits remain global. A crash of a worker process only fails the feed it was parsing;
a new worker takes its place. ``STORYDIFF_PARSE_PROCESSES=0`` parses in-process instead.

Workers are lean: plain child processes (``python -c``, see ``ingest/parseworker.py``) that read
pickled calls from a pipe and import only what the calls need — the pure parser (feedparser, lxml,
numpy). Not multiprocessing: its spawn start would re-run the parent's ``__main__`` in each worker
(for the ``storydiff`` command, the whole CLI with SQLAlchemy, the web app and the comparison
stack), and its queues' named semaphores start a resource-tracker process (12 MB) for the whole run.
A worker exits when its pipe closes: when the pool shuts down, or when the parent is gone."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storydiff import allocator, settings
from storydiff.errors import FeedError
from storydiff.ingest import parseworker
from storydiff.ingest.urls import redact_url

if TYPE_CHECKING:
    from storydiff.ingest.items import ParsedFeed

log = logging.getLogger(__name__)
_lock = threading.Lock()


IN_CELERY_WORKER = False  # set by storydiff.worker when a Celery worker starts


def process_count() -> int:
    value = settings.get("STORYDIFF_PARSE_PROCESSES").strip().lower()
    if value == "auto" and IN_CELERY_WORKER:
        return 0  # the worker processes are the parallelism; a pool per worker only adds memory
    if value == "auto":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return cores if cores > 1 else 0
    return max(0, int(value))


class WorkerDied(RuntimeError):
    """The worker process ended while running a call (killed, out of memory, a crash in C code)."""


class _Worker:
    """One child process and its two pipes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", parseworker.BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            env=allocator.child_environment(dict(os.environ)),
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.inp, self.out = self.proc.stdin, self.proc.stdout
        parseworker.send(self.inp, list(sys.path))

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
        parseworker.send(self.inp, (fn, args))
        return parseworker.receive(self.out)

    def close(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(OSError):
            self.inp.close()  # the worker reads the end of its input and exits
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.out.close()


class LeanPool:
    """``size`` worker processes, each served by a thread of this process that hands it one call at
    a time from a shared queue (calls are submitted from any thread). A worker that dies fails the
    call it was running (``WorkerDied``) and is replaced for the next one."""

    def __init__(self, size: int, initializer: Callable[[], Any] | None = None) -> None:
        self._initializer = initializer  # run by each worker when it starts (imports, warm-up)
        self._started = [threading.Event() for _ in range(size)]
        self._calls: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, args=(n,), name=f"parse-worker-{n}", daemon=True) for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._closed:
            raise RuntimeError("the parse pool is shut down")
        future: Future[Any] = Future()
        self._calls.put((future, fn, args))
        return future

    def wait_started(self) -> None:
        """Until every worker has started and run the initializer."""
        for event in self._started:
            event.wait()

    def _start(self) -> _Worker:
        worker = _Worker()
        if self._initializer is not None:
            worker.call(self._initializer, ())
        return worker

    def _serve(self, n: int) -> None:
        worker: _Worker | None = None
        try:
            with contextlib.suppress(EOFError, OSError):  # a worker that cannot start: retried per call
                worker = self._start()  # now: the pool exists because there is parsing to do
            self._started[n].set()
            while (call := self._calls.get()) is not None:
                future, fn, args = call
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    if worker is None:
                        worker = self._start()
                    ok, value = worker.call(fn, args)
                except (EOFError, OSError) as exc:
                    code = worker.proc.poll() if worker is not None else None
                    if worker is not None:
                        worker.close(timeout=1.0)
                    worker = None
                    future.set_exception(WorkerDied(f"the worker process ended (exit status {code}): {exc}"))
                    continue
                except BaseException as exc:  # a call that cannot be sent (not picklable)
                    future.set_exception(exc)
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        finally:
            self._started[n].set()
            if worker is not None:
                worker.close()

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self._closed = True
        if cancel_futures:
            with contextlib.suppress(queue.Empty):
                while True:
                    call = self._calls.get_nowait()
                    if call is not None:
                        call[0].cancel()
        for _ in self._threads:
            self._calls.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


_pool: LeanPool | None = None


def _get_pool() -> LeanPool | None:
    global _pool
    with _lock:
        if _pool is None and process_count() > 0:
            _pool = LeanPool(process_count(), initializer=_warm)
            atexit.register(shutdown)
        return _pool


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
    # nor the signatures (numpy): the worker hashes the shingles, the storing process signs them
    return parse_feed(body, content_type, url, fetched_at, identify_language=False, sign=False)


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
        pool.wait_started()


def submit(body: bytes, content_type: str | None, url: str, fetched_at: datetime) -> Future[ParsedFeed] | None:
    """Queue a parse on the pool; None when parsing happens in-process."""
    pool = _get_pool()
    if pool is None:
        return None
    try:
        return pool.submit(_parse, body, content_type, url, fetched_at)
    except RuntimeError:  # shut down meanwhile: parse in-process
        return None


def result(future: Future[ParsedFeed], url: str, sign: bool = True) -> ParsedFeed:
    """The parsed feed; FeedError for bad feeds and for a worker that died on this feed.
    ``sign=False``: its items keep the shingle hashes instead of a MinHash (signed later)."""
    try:
        parsed = future.result()
    except FeedError:
        raise
    except WorkerDied as exc:
        raise FeedError(f"the parser process died while reading this feed ({exc}); it is retried later") from exc
    except Exception as exc:  # a parser bug on hostile input: this feed fails, the run goes on
        log.exception("parsing %s failed", redact_url(url))
        raise FeedError(f"parsing failed ({type(exc).__name__}: {exc}); please report this feed") from exc
    return signed(parsed) if sign else parsed


def signed(parsed: ParsedFeed) -> ParsedFeed:
    """The feed with every item's MinHash signature computed from the shingle hashes its parse left
    (``parse_feed(..., sign=False)``), in the storing process: no parse worker loads numpy, and the
    storing process loads neither feedparser nor lxml for it."""
    from storydiff.ingest import neardup  # numpy is loaded here, in the storing process

    items = [
        replace(item, minhash=neardup.minhash_bytes(item.shingles), shingles=None)
        if item.shingles is not None
        else item
        for item in parsed.items
    ]
    return replace(parsed, items=tuple(items))
