"""Pure scheduling: adaptive intervals, TTL floors, capped backoff with jitter."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from storydiff.ingest.schedule import (
    Limits,
    backoff_delay,
    next_check_after_error,
    next_check_after_success,
    publish_interval,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LIMITS = Limits(min_interval=300, max_interval=86400, max_backoff=86400)


def hours_ago(*hours):
    return [NOW - timedelta(hours=h) for h in hours]


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (hours_ago(0, 1, 2, 3), 3600.0),
        (hours_ago(1), None),
        (hours_ago(24 * 30, 24 * 31), None),  # nothing recent
    ],
)
def test_publish_interval(published, expected):
    assert publish_interval(published, NOW) == expected


@pytest.mark.parametrize(
    ("published", "floor", "low", "high"),
    [
        (hours_ago(0, 1, 2, 3), None, 1800 * 0.9, 1800 * 1.1),  # hourly feed → ~30 min
        ([NOW - timedelta(minutes=m) for m in range(0, 60, 1)], None, 300, 330),  # busy feed: min bound
        ([], None, 86400 * 0.9, 86400),  # silent feed: max bound (jitter never exceeds it by much)
        (hours_ago(0, 1, 2, 3), 7200, 7200, 7200),  # TTL/Cache-Control floor wins
    ],
)
def test_next_check_after_success(published, floor, low, high):
    for seed in range(20):
        delay = (next_check_after_success(NOW, published, LIMITS, floor, random.Random(seed)) - NOW).total_seconds()
        assert low <= delay <= high * 1.1


@pytest.mark.parametrize("errors", [1, 2, 3, 5, 10, 50, 1000])
def test_backoff_is_exponential_capped_and_jittered(errors):
    base = min(LIMITS.max_backoff, LIMITS.min_interval * 2 ** (errors - 1))
    delays = {backoff_delay(errors, LIMITS, random.Random(seed)) for seed in range(30)}
    assert all(base / 2 <= d <= base for d in delays)
    assert len(delays) > 1  # jitter


def test_failing_feed_is_never_dropped_only_capped():
    delay = (next_check_after_error(NOW, 10_000, LIMITS, rng=random.Random(1)) - NOW).total_seconds()
    assert LIMITS.max_backoff / 2 <= delay <= LIMITS.max_backoff


@pytest.mark.parametrize(("retry_after", "minimum"), [(7200, 7200), (10, 150), (10**9, 86400)])
def test_retry_after_is_honoured_within_the_cap(retry_after, minimum):
    delay = (next_check_after_error(NOW, 1, LIMITS, retry_after, random.Random(3)) - NOW).total_seconds()
    assert minimum <= delay <= max(minimum, 300)
