"""When to check a feed next (pure): adaptive to its publishing rate, backoff after errors."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RECENT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Limits:
    min_interval: int = 300  # seconds
    max_interval: int = 86400
    max_backoff: int = 86400


def publish_interval(published: Sequence[datetime], now: datetime) -> float | None:
    """Mean seconds between the feed's items of the last week; None if fewer than two."""
    recent = sorted(t for t in published if now - RECENT_WINDOW <= t <= now)
    if len(recent) < 2:
        return None
    return max(1.0, (recent[-1] - recent[0]).total_seconds() / (len(recent) - 1))


def next_check_after_success(
    now: datetime,
    published: Sequence[datetime],
    limits: Limits,
    floor: int | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """Check about twice per publishing interval, within [min, max] and never before the feed's
    TTL / Cache-Control floor; ±10 % jitter spreads feeds that were added together."""
    interval = publish_interval(published, now)
    seconds = limits.max_interval if interval is None else interval / 2
    seconds *= (rng or random).uniform(0.9, 1.1)
    seconds = min(max(seconds, limits.min_interval), limits.max_interval)
    if floor:
        seconds = max(seconds, min(floor, limits.max_interval))
    return now + timedelta(seconds=seconds)


def backoff_delay(error_count: int, limits: Limits, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with equal jitter: between half and all of min·2^(n-1), capped."""
    exponent = min(max(error_count, 1) - 1, 30)
    base = min(limits.max_backoff, limits.min_interval * 2**exponent)
    return base / 2 + (rng or random).uniform(0, base / 2)


def next_check_after_error(
    now: datetime,
    error_count: int,
    limits: Limits,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    delay = backoff_delay(error_count, limits, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, limits.max_backoff))
    return now + timedelta(seconds=delay)
