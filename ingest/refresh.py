"""The ingestion pipeline: fetch → parse → store, and the feed's health and schedule.

``refresh_feed(session, feed_id)`` is what the Celery task, the in-process scheduler and the
CLI call. ``refresh_due_feeds`` fetches many feeds in threads and stores them one by one.
A feed that fails is data: its error is stored, it is retried with capped backoff, and
other feeds in the same run are unaffected.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from storydiff import settings
from storydiff.errors import FeedError, HTTPStatusError, NotFound
from storydiff.ingest import parsepool
from storydiff.ingest.fetch import FetchResult, HostLimiter, fetch, make_client
from storydiff.ingest.schedule import Limits, next_check_after_error, next_check_after_success
from storydiff.ingest.urls import redact_text, redact_url
from storydiff.logs import scrub
from storydiff.store.models import Feed

if TYPE_CHECKING:
    from storydiff.ingest.items import ParsedFeed

log = logging.getLogger(__name__)


def feed_lease() -> timedelta:
    """How long a feed handed to a worker is not handed out again (its refresh sets the next check
    when it ends, success or failure; a lost task only delays the feed this long)."""
    return timedelta(seconds=settings.get_float("STORYDIFF_FEED_LEASE"))


def running_lease() -> timedelta:
    """How long a refresh in progress holds its feed: the longest a download may take
    (STORYDIFF_TOTAL_TIMEOUT) plus a margin for parsing and storing. A worker killed mid-refresh
    delays its feed this long, not the whole claim lease, which also covers the wait in the queue."""
    return timedelta(seconds=settings.get_float("STORYDIFF_TOTAL_TIMEOUT") + 15)


def hold_for_refresh(session: Session, feed_id: int | list[int], now: datetime | None = None) -> None:
    """A worker starts refreshing the feed (or a batch of feeds, in one statement): its claim becomes
    the shorter running lease (the refresh sets the real next check when it ends, success or failure)."""
    now = now or datetime.now(UTC)
    session.execute(
        update(Feed)
        .where(Feed.id.in_(feed_id) if isinstance(feed_id, list) else Feed.id == feed_id)
        .values(next_check_at=now + running_lease())
        .execution_options(synchronize_session=False)
    )
    session.commit()


@dataclass
class RefreshResult:
    feed_id: int
    url: str  # redacted (credentials masked): for showing
    status: str  # ok, not_modified, warning, error
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    article_ids: list[int] = field(default_factory=list)  # new or changed articles
    fulltext_ids: list[int] = field(default_factory=list)  # new articles waiting for their page's text
    unsigned: list[tuple[int, bytes]] = field(default_factory=list)  # stored unsigned (writer.sign_pending)


@dataclass
class Fetched:
    """What the network part produced for one feed (no database involved)."""

    feed_id: int
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: FeedError | None = None
    pending: Future[ParsedFeed] | None = None  # parse queued on the process pool
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0  # spent on this feed: fetching, parsing (or waiting for the pool), storing


def limits() -> Limits:
    return Limits(
        settings.get_int("STORYDIFF_MIN_INTERVAL"),
        settings.get_int("STORYDIFF_MAX_INTERVAL"),
        settings.get_int("STORYDIFF_MAX_BACKOFF"),
    )


def fetch_and_parse(
    feed_id: int,
    url: str,
    etag: str | None,
    last_modified: str | None,
    client: httpx.Client,
    limiter: HostLimiter | None = None,
    use_pool: bool = False,
) -> Fetched:
    """Fetch one feed and parse it (in-process, or queued on the parse pool with use_pool)."""
    out = Fetched(feed_id)
    started = time.perf_counter()
    try:
        out.result = fetch(url, client, etag=etag, last_modified=last_modified, limiter=limiter)
        if not out.result.not_modified:
            res = out.result
            out.pending = parsepool.submit(res.body, res.content_type, res.url, out.at) if use_pool else None
            if not use_pool:
                from storydiff.ingest.parse import parse_feed  # feedparser, lxml: only with a feed to parse

                out.parsed = parse_feed(
                    res.body, res.content_type, res.url, out.at, identify_language=False, sign=False
                )
    except FeedError as exc:
        out.error = exc
    out.seconds += time.perf_counter() - started
    return out


def finish_parse(fetched: Fetched) -> Fetched:
    """Wait for a parse queued on the pool, or parse here (in the storing thread, not in the
    fetch threads, which would only contend for the GIL) when there is no pool. Either way the
    items come without identified languages and unsigned (their shingle hashes): ``store_items``
    identifies and signs the new articles only — in a refresh most items are already stored."""
    res = fetched.result
    started = time.perf_counter()
    if fetched.pending is None and fetched.parsed is None and fetched.error is None and res and not res.not_modified:
        from storydiff.ingest.parse import parse_feed

        try:
            fetched.parsed = parse_feed(
                res.body, res.content_type, res.url, fetched.at, identify_language=False, sign=False
            )
        except FeedError as exc:
            fetched.error = exc
    if fetched.pending is not None and fetched.result is not None:
        res = fetched.result
        try:
            fetched.parsed = parsepool.result(fetched.pending, res.url, sign=False)
        except FeedError as exc:
            fetched.error = exc
        fetched.pending = None
    fetched.seconds += time.perf_counter() - started
    return fetched


def apply_fetched(
    session: Session, feed: Feed, fetched: Fetched, later_languages: bool = False, later_signatures: bool = False
) -> RefreshResult:
    """Store what was fetched, update the feed's health and next check, and log the outcome
    (``later_languages``, ``later_signatures``: see ``store_items``)."""
    started = time.perf_counter()
    res = _apply(session, feed, fetched, later_languages, later_signatures)
    log_outcome(feed, res, fetched.seconds + time.perf_counter() - started)
    return res


def log_outcome(feed: Feed, res: RefreshResult, seconds: float) -> None:
    """One line per refresh: the feed's id and outlet (never its URL, which may carry a key), the
    status, the counts and the time taken; a failure at WARNING with its error (URLs shortened)."""
    if not log.isEnabledFor(logging.WARNING if res.status == "error" else logging.INFO):
        return  # nothing to log (a one-shot command logs warnings only): no outlet to load
    outlet = feed.outlet.name if feed.outlet is not None else "?"
    fields = {
        "feed_id": feed.id,
        "outlet": outlet,
        "status": res.status,
        "new": res.new,
        "updated": res.updated,
        "unchanged": res.unchanged,
        "duration_ms": round(seconds * 1000),
    }
    if res.status == "error":
        error = scrub(res.error or "")
        log.warning(
            "feed %d (%s): error, %d in a row, %.2f s: %s",
            feed.id, outlet, feed.error_count, seconds, error,
            extra=fields | {"error": error, "errors_in_a_row": feed.error_count},
        )  # fmt: skip
        return
    log.info(
        "feed %d (%s): %s, %d new, %d updated, %d unchanged, %.2f s",
        feed.id, outlet, res.status, res.new, res.updated, res.unchanged, seconds,
        extra=fields,
    )  # fmt: skip


def _apply(
    session: Session, feed: Feed, fetched: Fetched, later_languages: bool = False, later_signatures: bool = False
) -> RefreshResult:
    """Store what was fetched and update the feed's health and next check."""
    now = fetched.at
    feed.last_fetch_at = now
    res = RefreshResult(feed.id, redact_url(feed.url), "ok")
    if fetched.error is not None:
        feed.error_count += 1
        feed.last_error = redact_text(str(fetched.error))
        feed.last_status = "error"
        retry_after = fetched.error.retry_after if isinstance(fetched.error, HTTPStatusError) else None
        feed.next_check_at = next_check_after_error(now, feed.error_count, limits(), retry_after)
        res.status, res.error = "error", feed.last_error
        return res
    assert fetched.result is not None
    feed.etag, feed.last_modified = fetched.result.etag, fetched.result.last_modified
    feed.error_count, feed.last_success_at = 0, now
    published = []
    if fetched.parsed is None:
        res.status, feed.last_status, feed.last_error = "not_modified", "not_modified", None
    else:
        from storydiff.ingest.writer import store_items  # numpy, MinHash: only with items to store

        parsed = fetched.parsed
        counts = store_items(session, feed, parsed.items, now, later_languages, later_signatures)
        res.new, res.updated, res.unchanged = counts.new, counts.updated, counts.unchanged
        res.unsigned = counts.unsigned
        res.article_ids = counts.new_article_ids + counts.updated_article_ids
        res.fulltext_ids = counts.fulltext_article_ids
        feed.title = (parsed.title or feed.title or "")[:500] or None
        feed.min_interval_s = max(filter(None, (parsed.ttl_seconds, fetched.result.max_age)), default=None)
        feed.last_error = redact_text("; ".join(parsed.problems)) or None
        feed.last_status = "warning" if parsed.problems else "ok"
        res.status = feed.last_status
        published = [i.published for i in parsed.items if i.published_flag is None]
    feed.next_check_at = next_check_after_success(now, published, limits(), feed.min_interval_s)
    return res


def refresh_feed(session: Session, feed_id: int, client: httpx.Client | None = None) -> RefreshResult:
    """Fetch, parse and store one feed now, and commit. Safe to run twice (idempotent)."""
    feed = session.get(Feed, feed_id)
    if feed is None:
        raise NotFound(f"no feed with id {feed_id}; `storydiff feeds list` shows the ids")
    own = client is None
    client = client or make_client()
    try:
        fetched = fetch_and_parse(feed.id, feed.url, feed.etag, feed.last_modified, client, HostLimiter())
    finally:
        if own:
            client.close()
    result = apply_fetched(session, feed, fetched)
    session.commit()
    return result


def due_feed_ids(session: Session, now: datetime | None = None, lease: bool = False) -> list[int]:
    """Feeds whose next check has come, oldest first. With lease=True they are claimed: their next
    check is pushed back by feed_lease(), so another scheduler tick does not hand them out again
    while a worker is busy with them. The claim is a conditional update (still due?) that returns
    the rows it changed, so concurrent schedulers split the due feeds and never take one twice; on
    PostgreSQL the candidate rows are locked and rows another claim holds are skipped (FOR UPDATE
    SKIP LOCKED) instead of waited for."""
    now = now or datetime.now(UTC)
    due = (Feed.next_check_at <= now, Feed.paused.is_(False))
    query = select(Feed.id).where(*due).order_by(Feed.next_check_at, Feed.id)
    if not lease:
        return list(session.scalars(query))
    ids = list(session.scalars(query.with_for_update(skip_locked=True)))
    claimed: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        claimed.update(
            session.scalars(
                update(Feed)
                .where(Feed.id.in_(chunk), *due)
                .values(next_check_at=now + feed_lease())
                .returning(Feed.id)
                .execution_options(synchronize_session=False)
            )
        )
    session.commit()
    return [feed_id for feed_id in ids if feed_id in claimed]


def fetch_ahead() -> int:
    """How many feeds may be fetched (or parsed) and not yet stored. Storing is one thread; without
    a bound a run fetched every feed at once and held every body and parsed feed until its turn
    (120 feeds: +50 MB at the start of a cold run; 1,000 feeds: all of them). This keeps every
    fetch thread and parse process busy and a few parsed feeds ready for the storing thread."""
    return settings.get_int("STORYDIFF_FETCH_WORKERS") + 2 * max(1, parsepool.process_count())


def _in_window(window: threading.Semaphore, stop: threading.Event, job: Callable[[], Fetched]) -> Fetched:
    """Run a fetch once the window has room (or the run has stopped: then fetch nothing)."""
    while not window.acquire(timeout=0.5):
        if stop.is_set():
            break
    if stop.is_set():
        return Fetched(-1, error=FeedError("the run stopped before this feed was fetched"))
    return job()


# a not-modified or failed feed changes only its own row: such outcomes are committed together,
# up to this many at a time (120 unchanged feeds were 120 commits and 120 reloads of a feed row)
LIGHT_BATCH = 64


def _store(
    session: Session, fetched: Fetched, light: int, later_languages: bool, later_signatures: bool
) -> tuple[RefreshResult | None, int]:
    """Apply one feed's outcome; ``light``: light outcomes (not modified, failed) applied since the
    last commit, returned updated. None for a feed deleted meanwhile."""
    heavy = fetched.parsed is not None  # items to store: committed alone, so a failure loses no other feed
    if heavy and light:
        session.commit()
        light = 0
    feed = session.get(Feed, fetched.feed_id)
    if feed is None:
        return None, light
    try:
        result = apply_fetched(session, feed, fetched, later_languages, later_signatures)
        light = 0 if heavy else light + 1
        if heavy or light >= LIGHT_BATCH:
            session.commit()
            light = 0
    except Exception as exc:  # a storage bug must not stop the other feeds
        session.rollback()  # (light outcomes not yet committed are lost: those feeds are checked again)
        log.exception("storing feed %s failed", fetched.feed_id)
        fetched = Fetched(fetched.feed_id, error=FeedError(f"storing the items failed ({exc!r}); please report this"))
        feed = session.get(Feed, fetched.feed_id)
        if feed is None:
            return None, 0
        result = apply_fetched(session, feed, fetched)
        session.commit()
        light = 0
    return result, light


@contextlib.contextmanager
def _stopping(pool: ThreadPoolExecutor, stop: threading.Event) -> Iterator[None]:
    """When storing stops early (an error), fetches still waiting for the window give up, so
    leaving the thread pool does not wait for feeds nobody will store."""
    try:
        yield
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def refresh_due_feeds(
    factory: sessionmaker[Session],
    feed_ids: list[int] | None = None,
    on_result: Callable[[RefreshResult], None] | None = None,
    client: httpx.Client | None = None,
    later_languages: bool = False,
    later_signatures: bool = False,
) -> list[RefreshResult]:
    """Refresh the given (default: all due) feeds: fetch in threads, parse on the process pool,
    store one feed at a time in this process while the next ones are being parsed — in the order
    they arrive, so a slow server holds back only its own feed. ``client``: a long-lived client of
    make_client() to use (a Celery worker keeps one); by default one for this run.
    ``later_languages``: new articles' languages are left for ``identify_pending_languages``;
    ``later_signatures``: new articles are stored unsigned, their shingle hashes in the results'
    ``unsigned``, for ``sign_pending`` (numpy stays out of this process until then)."""
    with factory() as session:
        ids = feed_ids if feed_ids is not None else due_feed_ids(session)
        targets = [
            (f.id, f.url, f.etag, f.last_modified) for f in session.scalars(select(Feed).where(Feed.id.in_(ids)))
        ]
    results: list[RefreshResult] = []
    limiter = HostLimiter()
    arrived: queue.SimpleQueue[Future[Fetched]] = queue.SimpleQueue()  # each fetch as it ends
    window, stop = threading.Semaphore(fetch_ahead()), threading.Event()  # a slot per feed not yet stored
    with (
        make_client() if client is None else contextlib.nullcontext(client) as client,
        ThreadPoolExecutor(settings.get_int("STORYDIFF_FETCH_WORKERS")) as pool,
        _stopping(pool, stop),
    ):
        for t in targets:
            job = functools.partial(fetch_and_parse, *t, client, limiter, True)
            pool.submit(_in_window, window, stop, job).add_done_callback(arrived.put)
        with factory() as session:
            # every feed of the run loaded with one query and held (the identity map keeps only what
            # is referenced): until a commit expires them, a light outcome needs no query at all
            held = list(session.scalars(select(Feed).where(Feed.id.in_([t[0] for t in targets]))))
            light = 0  # light outcomes (not modified, failed) applied since the last commit
            for _ in targets:
                fetched = finish_parse(arrived.get().result())  # body and items freed once stored
                try:
                    result, light = _store(session, fetched, light, later_languages, later_signatures)
                finally:
                    window.release()  # this feed is done: the next one may be fetched
                if result is not None:
                    results.append(result)
                    if on_result:
                        on_result(result)
            session.commit()
            del held
    return results
