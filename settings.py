"""Every storydiff setting, read from the environment with a default.

Settings are data: each entry of ``SETTINGS`` names an environment variable, its
default and what it does. ``tests/test_settings.py`` checks that every one of them is
documented in the README's settings table. Read values through ``get()`` (or the
helpers below) at call time, so tests and the demo can change the environment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


# One default everywhere (web list, API, `storydiff stories`, `storydiff compare`): a story told by
# one outlet has nothing to compare, so lists start at two outlets and say how many they hide.
DEFAULT_MIN_OUTLETS = 2

SETTINGS: tuple[Setting, ...] = (
    Setting("STORYDIFF_DATA_DIR", "./data", "Directory for the SQLite database and other local state."),
    Setting(
        "STORYDIFF_CACHE_DIR",
        "",
        "Folder for caches that can be rebuilt (the language model, uncompressed, and the English word-frequency table, both mapped into memory); empty means $XDG_CACHE_HOME/storydiff, else ~/.cache/storydiff.",
    ),
    Setting("DATABASE_URL", "", "SQLAlchemy URL; empty means SQLite at $STORYDIFF_DATA_DIR/storydiff.db."),
    Setting("REDIS_URL", "", "Celery broker URL. Empty: `storydiff serve` uses the in-process scheduler."),
    Setting("STORYDIFF_ALLOW_PRIVATE_URLS", "0", "1 allows fetching loopback/private/link-local addresses."),
    Setting(
        "STORYDIFF_ALLOWED_NETWORKS",
        "",
        "Addresses or CIDR networks fetched even though not public (e.g. an internal feed server `10.1.2.3`), comma-separated; every other private address stays refused.",
    ),
    Setting("STORYDIFF_CONNECT_TIMEOUT", "10", "Seconds to wait for a TCP/TLS connection."),
    Setting("STORYDIFF_READ_TIMEOUT", "20", "Seconds to wait between bytes of a response."),
    Setting("STORYDIFF_TOTAL_TIMEOUT", "60", "Seconds a whole download may take (stops slow-drip servers)."),
    Setting("STORYDIFF_MAX_BODY_BYTES", "10485760", "Largest accepted body, also after decompression."),
    Setting("STORYDIFF_MAX_REDIRECTS", "5", "Redirects followed before a fetch fails."),
    Setting("STORYDIFF_PER_HOST_CONCURRENCY", "2", "Simultaneous requests to one host."),
    Setting("STORYDIFF_HOST_DELAY", "1.0", "Seconds between two article-page fetches on one host."),
    Setting(
        "STORYDIFF_USER_AGENT",
        "storydiff/0.1 (feed reader; multi-source story comparison)",
        "User-Agent sent with every request.",
    ),
    Setting("STORYDIFF_MIN_INTERVAL", "300", "Shortest time between two checks of a feed, seconds."),
    Setting("STORYDIFF_MAX_INTERVAL", "86400", "Longest time between two checks of a feed, seconds."),
    Setting("STORYDIFF_MAX_BACKOFF", "86400", "Cap of the error backoff, seconds; failing feeds keep being retried."),
    Setting(
        "STORYDIFF_DEFAULT_FEEDS",
        "1",
        "1 makes `storydiff serve` add the bundled real feeds when the database has none.",
    ),
    Setting(
        "STORYDIFF_SEMANTIC",
        "off",
        "Sentence embeddings (extra `semantic`): off; coverage (an omission's or exclusive's fact told elsewhere in other words); on (also every same-fact decision); auto (coverage when installed).",
    ),
    Setting("STORYDIFF_FULLTEXT", "1", "1 fetches the linked page of summary-only items and extracts its text."),
    Setting("STORYDIFF_FULLTEXT_MIN_CHARS", "500", "Feed bodies shorter than this are treated as summary-only."),
    Setting("STORYDIFF_FETCH_WORKERS", "8", "Threads fetching feeds in parallel during one ingest run."),
    Setting(
        "STORYDIFF_PARSE_PROCESSES",
        "auto",
        "Processes parsing feeds during an ingest run; auto = one per core (0 on one core and in a Celery worker).",
    ),
    Setting(
        "STORYDIFF_MALLOC_ARENAS",
        "2",
        "glibc malloc arenas of a storydiff process (its threads share them; the mmap threshold is fixed at 128 KiB too); 0 leaves glibc's defaults.",
    ),
    Setting("STORYDIFF_REFRESH_BATCH", "8", "Feeds per refresh task in the Celery deployment (fetched concurrently)."),
    Setting(
        "STORYDIFF_COMPARE_BATCH",
        "20",
        "Stories per report task in the Celery deployment (their reports recomputed, then their alerts matched, in one task).",
    ),
    Setting("STORYDIFF_SCHEDULER_TICK", "60", "Seconds between two runs of the in-process scheduler."),
    Setting("STORYDIFF_NEARDUP_THRESHOLD", "0.8", "Estimated Jaccard similarity above which an item is a wire copy."),
    Setting(
        "STORYDIFF_STORY_QUIET_HOURS",
        "72",
        "A story closes after this many hours without a new article (event time: published times, not the wall clock).",
    ),
    Setting(
        "STORYDIFF_BASE_URL",
        "http://127.0.0.1:8000",
        "Public address of the web UI, used for the report links in alerts and the Atom feeds.",
    ),
    Setting(
        "STORYDIFF_SECRET_KEY",
        "",
        "Key signing web sessions and CSRF tokens; empty: a random key kept in the data directory (set it when several web processes serve one site).",
    ),
    Setting(
        "STORYDIFF_READ_TOKEN_REQUIRED", "0", "1 makes the read API require a bearer token too (writes always do)."
    ),
    Setting(
        "STORYDIFF_ALERTS_PER_HOUR",
        "20",
        "Immediate alerts per subscription per hour; the rest go into the next digest.",
    ),
    Setting("STORYDIFF_ALERT_MAX_ATTEMPTS", "8", "Delivery attempts of one alert before it is marked failed."),
    Setting("STORYDIFF_ALERT_BACKOFF", "30", "First retry delay of a failed delivery, seconds; doubles each attempt."),
    Setting(
        "STORYDIFF_ALERT_MAX_BACKOFF",
        "3600",
        "Cap of the delivery retry delay (and of an honoured Retry-After), seconds.",
    ),
    Setting(
        "STORYDIFF_ALERT_LEASE", "120", "Seconds a worker holds a delivery it is sending; then another may retry it."
    ),
    Setting(
        "STORYDIFF_FEED_LEASE",
        "180",
        "Seconds a feed handed to a worker is not handed out again (a lost task delays it this long).",
    ),
    Setting(
        "STORYDIFF_RETRY_WINDOW",
        "600",
        "Seconds a task retries through a database or broker outage (5 s, 10 s, … capped at 120 s).",
    ),
    Setting(
        "STORYDIFF_VISIBILITY_TIMEOUT",
        "900",
        "Seconds before Redis hands an unacknowledged task (its worker died) to another worker.",
    ),
    Setting("STORYDIFF_SWEEP_AFTER", "120", "Seconds pending work may wait before beat's sweep enqueues it again."),
    Setting(
        "STORYDIFF_STUCK_AFTER", "1800", "Seconds pending work may wait before /healthz reports it as stuck (503)."
    ),
    Setting("STORYDIFF_HOST", "127.0.0.1", "Address the web server binds to."),
    Setting("STORYDIFF_PORT", "8000", "Port of the web server."),
    Setting(
        "STORYDIFF_LOG_LEVEL",
        "INFO",
        "Log threshold: DEBUG, INFO, WARNING, ERROR or CRITICAL (one-shot CLI commands: WARNING unless set, INFO with -v).",
    ),
    Setting(
        "STORYDIFF_LOG_FORMAT",
        "text",
        "Log lines on stderr: text, or json (one object per line: time, level, logger, message, request_id, fields).",
    ),
    Setting(
        "STORYDIFF_SHARED_DATA",
        "../shared/data",
        "Folder of the real evaluation datasets (tests, evals); a relative path is taken from the working directory.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The current value of a setting (environment first, then its default)."""
    setting = _BY_NAME[name]
    value = os.environ.get(name)
    return setting.default if value is None or value == "" else value


def get_int(name: str) -> int:
    return int(get(name))


def get_float(name: str) -> float:
    return float(get(name))


def get_bool(name: str) -> bool:
    return get(name).strip().lower() in {"1", "true", "yes", "on"}


def data_dir() -> Path:
    path = Path(get("STORYDIFF_DATA_DIR")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_data_dir() -> Path:
    """The user's data folder for storydiff (XDG: $XDG_DATA_HOME/storydiff, else
    ~/.local/share/storydiff); the demo keeps its database under it. Not created here."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "storydiff"


def cache_dir() -> Path:
    """Where rebuildable caches go (``STORYDIFF_CACHE_DIR``; empty: $XDG_CACHE_HOME/storydiff, else
    ~/.cache/storydiff). Not created here."""
    configured = get("STORYDIFF_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "storydiff"


@contextlib.contextmanager
def cache_build_lock(name: str) -> Iterator[None]:
    """Held while one process builds the cache ``name`` in the cache folder: the processes that
    start together on a fresh machine (a worker, its parse processes, the other workers) build it
    once, one at a time, instead of each building its own copy at the same moment (the language
    model's copy takes ~250 MB to build, the word table ~130 MB). The caller checks again, under
    the lock, whether another process finished it. An advisory ``flock`` on ``.<name>.lock`` in the
    folder (created here): released when the holder exits, also when it is killed. Where ``fcntl``
    does not exist (Windows) nothing is locked: each process builds and renames atomically."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        yield
        return
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "ab") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def database_url() -> str:
    url = get("DATABASE_URL")
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{(data_dir() / 'storydiff.db').resolve()}"


def shared_data_dir() -> Path:
    """The real datasets; a relative path is taken from the working directory, like any command-line
    path, so an editable and a regular install resolve it the same way (run from the checkout)."""
    return Path(get("STORYDIFF_SHARED_DATA")).expanduser().resolve()
