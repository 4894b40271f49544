"""What every channel shares: the message it sends and the error it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storydiff.errors import StorydiffError


class DeliveryError(StorydiffError):
    """A channel could not deliver. ``permanent``: retrying cannot help (410 Gone, a malformed
    target); ``retry_after``: seconds the receiver asked to wait; ``status``: HTTP status if any."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status


@dataclass(frozen=True)
class Message:
    """One delivery: ``uid`` is stable across retries (the webhook-id receivers deduplicate on);
    ``payload`` the JSON body (Standard Webhooks shape: type, timestamp, data); ``title``, ``body``
    and ``link`` the short human form for chat and e-mail channels."""

    uid: str
    payload: dict[str, Any]
    title: str
    body: str
    link: str
    extra: dict[str, Any] = field(default_factory=dict)


def is_permanent_status(status: int) -> bool:
    """A 4xx other than 408 (timeout) and 429 (too many requests) will not change on retry."""
    return 400 <= status < 500 and status not in (408, 429)
