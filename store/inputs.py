"""What the database can hold, and the checks every entrance (API, pages, forms, OPML, CLI) makes
before a value reaches a query: ids within a 32-bit INTEGER, other integers within 64 bits, times
between 1970 and 2200 in UTC (a time without a zone is UTC), text without control characters.

A value outside these is the caller's mistake (InvalidInput: a 400 with a message), never a driver
error: SQLite cannot bind integers above 64 bits, PostgreSQL refuses NUL in text, and a year-9999
time with a negative offset does not fit in a datetime once converted to UTC."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from typing import Any

from storydiff.errors import InvalidInput

MAX_ID = 2**31 - 1  # INTEGER primary keys: 32-bit on PostgreSQL
MAX_BIGINT = 2**63 - 1  # the largest integer SQLite and PostgreSQL bind
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
TIME_RANGE = "1970-01-01 to 2200-12-31"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: NUL, newlines, escapes, …


def utc_time(value: datetime | date, name: str) -> datetime:
    """The time in UTC (a date is its midnight, a naive time is taken as UTC); InvalidInput outside
    1970–2200."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    refused = InvalidInput(f"{name} must be a time from {TIME_RANGE}, not {value.isoformat()}")
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 at +01:00, year 9999 at -05:00
        raise refused from None
    if not EARLIEST <= value <= LATEST:
        raise refused
    return value


def parse_time(raw: str, name: str) -> datetime:
    """An ISO 8601 date or date-time (2025-10-21, 2025-10-21T18:00, …+02:00, …Z) as UTC."""
    text = raw.strip()
    try:
        if len(text) > 40:
            raise ValueError
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date or date-time like 2025-10-21 or 2025-10-21T18:00Z, not {raw[:60]!r}"
        ) from None
    return utc_time(value, name)


def bounded_int(value: Any, lowest: int = -MAX_BIGINT - 1, highest: int = MAX_BIGINT) -> int:
    """An int (not a bool) within the bounds; TypeError or ValueError otherwise (for converters)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError
    if not lowest <= value <= highest:
        raise ValueError
    return value


def finite_number(value: Any) -> float:
    """An int or float that is finite and fits a 64-bit float column; TypeError or ValueError otherwise."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        bounded_int(value)
    elif not math.isfinite(value):
        raise ValueError
    return value


def check_text(name: str, value: str, max_chars: int | None = None) -> str:
    """The text unchanged; InvalidInput when it holds a control character or is too long."""
    if CONTROL.search(value):
        raise InvalidInput(f"{name} has a control character (such as NUL or a line break); remove it")
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInput(f"{name} is {len(value)} characters long; at most {max_chars} are allowed")
    return value
