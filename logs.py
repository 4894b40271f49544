"""Logging of every storydiff process, configured in one place: ``configure()``, called by the CLI
(``storydiff serve``, ``storydiff demo`` and the other commands) and by the Celery worker (through
its ``setup_logging`` signal, so Celery keeps our format).

STORYDIFF_LOG_FORMAT is ``text`` (one readable line per record) or ``json`` (one JSON object per
line: time, level, logger, message, request_id inside a web request, task and task_id inside a
Celery task, and the record's structured fields such as feed_id or status). STORYDIFF_LOG_LEVEL is
the threshold (default INFO).

Nothing secret is logged: feeds are named by id and outlet, URLs in messages lose their user,
password, query and fragment (``scrub``), the web access line has the path without the query."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from storydiff import settings
from storydiff.errors import ConfigError

# httpx logs every request's full URL at INFO (a feed URL may carry a key in its query): warnings only;
# alembic's plugin set-up is noise
QUIET = ("httpx", "httpcore", "alembic.runtime.plugins")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
REQUEST_ID: ContextVar[str | None] = ContextVar("storydiff_request_id", default=None)
TASK: ContextVar[tuple[str, str] | None] = ContextVar("storydiff_task", default=None)  # (name, id)

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "task",
    "task_id",
    "color_message",
}
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def safe_url(url: str) -> str:
    """The URL without user, password, query and fragment (which may carry keys and tokens)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    if ":" in host:
        host = f"[{host}]"
    hidden = "?…" if parts.query else ""
    return urlunsplit((parts.scheme, host + port, parts.path, "", "")) + hidden


def scrub(text: str) -> str:
    """The text with every URL in it reduced by safe_url."""

    def shorten(match: re.Match[str]) -> str:
        url = match.group(0)
        core = url.rstrip(".,;:!?)]}")  # punctuation after a URL is the sentence's
        return safe_url(core) + url[len(core) :]

    return _URL.sub(shorten, text)


_make_record = logging.getLogRecordFactory()


def _record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every record, whoever handles it, carries the request id and Celery task of its context."""
    record = _make_record(*args, **kwargs)
    record.request_id = REQUEST_ID.get()
    task = TASK.get()
    record.task, record.task_id = task if task else (None, None)
    return record


if not getattr(_make_record, "_storydiff", False):
    _record._storydiff = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(_record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, task,
    the record's extra fields, and exception (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "task", "task_id"):
            if getattr(record, key, None):
                out[key] = getattr(record, key)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2025-10-21 18:00:00,123 INFO storydiff.web.access: GET /api/stories 200 3.1 ms [request 5f…]``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = []
        request_id, task, task_id = (getattr(record, k, None) for k in ("request_id", "task", "task_id"))
        if request_id:
            tags.append(f"request {request_id}")
        if task_id:
            tags.append(f"task {task} {task_id}")
        if not tags:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} [{', '.join(tags)}]{newline}{rest}"


def level_name(value: str | int | None = None) -> str:
    """A level name from a name or number, or STORYDIFF_LOG_LEVEL; ConfigError for an unknown one."""
    raw = settings.get("STORYDIFF_LOG_LEVEL") if value is None else value
    name = logging.getLevelName(raw) if isinstance(raw, int) else str(raw).strip().upper()
    if name == "WARN":
        name = "WARNING"
    if name not in LEVELS:
        raise ConfigError(f"STORYDIFF_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {raw!r}")
    return name


def format_name(value: str | None = None) -> str:
    name = (settings.get("STORYDIFF_LOG_FORMAT") if value is None else value).strip().lower()
    if name not in FORMATS:
        raise ConfigError(f"STORYDIFF_LOG_FORMAT must be text or json, not {name!r}")
    return name


def cli_level(verbose: bool, service: bool) -> str:
    """The level of a CLI run: STORYDIFF_LOG_LEVEL when it is set (-v lowers it to INFO at most); else
    INFO for the long-running commands (serve, demo) and with -v, WARNING for the others (their
    output is the answer; a warning is worth seeing)."""
    if os.environ.get("STORYDIFF_LOG_LEVEL"):
        explicit = level_name()
        return "INFO" if verbose and LEVELS.index(explicit) > LEVELS.index("INFO") else explicit
    return "INFO" if verbose or service else "WARNING"


def configure(level: str | int | None = None, fmt: str | None = None, stream: TextIO | None = None) -> None:
    """Send every record at or above the level to stderr in the configured format, replacing any
    handler configure() installed before (so calling it twice is harmless). uvicorn's loggers and
    Celery's lose their own handlers and reach this one."""
    name, kind = level_name(level), format_name(fmt)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_storydiff", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if kind == "json" else TextFormatter())
    handler._storydiff = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(name)
    for logger_name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery", "celery.task"):
        logger = logging.getLogger(logger_name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    for logger_name in QUIET:
        logging.getLogger(logger_name).setLevel(max(logging.WARNING, logging.getLevelName(name)))


def configured() -> bool:
    return any(getattr(h, "_storydiff", False) for h in logging.getLogger().handlers)


def ensure_configured() -> None:
    """configure() from the settings, unless a caller (the CLI) already did."""
    if not configured():
        configure()
