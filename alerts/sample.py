"""`subscriptions test`: a sample alert (invented, marked as a test) sent through a subscription's
channel at once, with the outcome — what a user checks before relying on a channel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storydiff import settings
from storydiff.alerts.channel import DeliveryError, Message
from storydiff.alerts.deliver import new_uid, send
from storydiff.store.models import Subscription


def sample_message(sub: Subscription) -> Message:
    base = settings.get("STORYDIFF_BASE_URL").rstrip("/")
    divergence = {
        "type": "numeric",
        "severity": "high",
        "summary": "TEST: Outlet A says 12 ferries were cancelled, Outlet B says 21.",
        "outlets": ["Outlet A", "Outlet B"],
        "claims": [
            {
                "outlet": "Outlet A",
                "value": "12 ferries",
                "text": "TEST: 12 ferries were cancelled.",
                "article_url": None,
            },
            {
                "outlet": "Outlet B",
                "value": "21 ferries",
                "text": "TEST: 21 ferries were cancelled.",
                "article_url": None,
            },
        ],
    }
    payload = {
        "type": "divergence.test",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            "subscription": {"id": sub.id, "name": sub.name},
            "story": {"id": 0, "title": "storydiff test alert", "url": f"{base}/stories", "report_url": None},
            "divergence": divergence,
            "previous": None,
        },
    }
    return Message(new_uid(), payload, f"storydiff test alert ({sub.name})", divergence["summary"], f"{base}/stories")


def send_test(sub: Subscription) -> dict[str, Any]:
    if sub.channel == "atom":
        base = settings.get("STORYDIFF_BASE_URL").rstrip("/")
        return {"ok": True, "channel": "atom", "detail": f"read alerts at {base}/alerts/{sub.feed_token}.atom"}
    msg = sample_message(sub)
    try:
        status = send(sub, msg)
    except DeliveryError as exc:
        return {"ok": False, "channel": sub.channel, "uid": msg.uid, "status_code": exc.status, "error": str(exc)}
    return {"ok": True, "channel": sub.channel, "uid": msg.uid, "status_code": status}
