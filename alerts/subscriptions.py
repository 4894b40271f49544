"""Subscriptions: checked input in, stored rows out, the same for the API, the CLI and the web UI."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storydiff.alerts.deliver import flagged
from storydiff.alerts.match import SEVERITIES, new_feed_token, split_list
from storydiff.alerts.webhook import new_secret
from storydiff.errors import InvalidInput, NotFound
from storydiff.ingest.urls import redact_text, redact_url
from storydiff.store.inputs import check_text
from storydiff.store.models import OUTLET_KINDS, Alert, Delivery, DeliveryAttempt, Subscription
from storydiff.store.stories import DIVERGENCE_TYPES

CHANNELS = ("webhook", "apprise", "atom")
MODES = ("immediate", "digest")


@dataclass
class SubscriptionSpec:
    name: str
    channel: str = "atom"
    target: str = ""
    words: str = ""
    outlets: str = ""
    kinds: str = ""
    types: str = ""
    min_severity: str = "medium"
    min_score: float | None = None
    mode: str = "immediate"
    digest_minutes: int = 60
    muted: bool = False

    def check(self) -> SubscriptionSpec:
        if not self.name.strip() or len(self.name) > 200:
            raise InvalidInput("name: 1 to 200 characters")
        for name, longest in (("name", 200), ("target", 2000), ("words", 500), ("outlets", 2000)):
            check_text(name, getattr(self, name), longest)
        for name in ("kinds", "types"):  # stored in 200 characters
            check_text(name, getattr(self, name), 200)
        if self.channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}, not {self.channel!r}")
        if self.channel == "webhook":
            parts = urlsplit(self.target)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidInput("a webhook needs an http:// or https:// target URL")
        if self.channel == "apprise":
            from storydiff.alerts.apprise_channel import plugin
            from storydiff.alerts.channel import DeliveryError

            try:
                plugin(self.target)
            except DeliveryError as exc:
                raise InvalidInput(f"target: {exc}") from None
        if self.channel == "atom" and self.target:
            raise InvalidInput("the atom channel takes no target: its private feed URL is given to you")
        for value in split_list(self.kinds):
            if value not in OUTLET_KINDS:
                raise InvalidInput(f"kinds: {value!r} is not one of {', '.join(OUTLET_KINDS)}")
        for value in split_list(self.types):
            if value not in DIVERGENCE_TYPES:
                raise InvalidInput(f"types: {value!r} is not one of {', '.join(DIVERGENCE_TYPES)}")
        if self.min_severity not in SEVERITIES:
            raise InvalidInput(f"min_severity must be one of {', '.join(SEVERITIES)}")
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise InvalidInput("min_score is a story divergence score between 0 and 1")
        if self.mode not in MODES:
            raise InvalidInput(f"mode must be immediate or digest, not {self.mode!r}")
        if not 5 <= self.digest_minutes <= 7 * 24 * 60:
            raise InvalidInput("digest_minutes: between 5 minutes and a week")
        if len(self.words) > 500 or len(self.outlets) > 2000:
            raise InvalidInput("words or outlets too long")
        return self


def create(session: Session, spec: SubscriptionSpec) -> Subscription:
    spec.check()
    sub = Subscription(
        **{f.name: getattr(spec, f.name) for f in fields(spec)},
        secret=new_secret(),
        feed_token=new_feed_token(),
        created_at=datetime.now(UTC),
    )
    session.add(sub)
    session.commit()
    return sub


def get(session: Session, sub_id: int) -> Subscription:
    sub = session.get(Subscription, sub_id)
    if sub is None:
        raise NotFound(f"subscription {sub_id} does not exist; see /api/subscriptions")
    return sub


def update(session: Session, sub_id: int, changes: dict[str, Any]) -> Subscription:
    sub = get(session, sub_id)
    known = {f.name for f in fields(SubscriptionSpec)}
    unknown = set(changes) - known
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    spec = SubscriptionSpec(**{name: getattr(sub, name) for name in known} | changes).check()
    for name in changes:
        setattr(sub, name, getattr(spec, name))
    session.commit()
    return sub


def remove(session: Session, sub_id: int) -> None:
    session.delete(get(session, sub_id))
    session.commit()


def masked_target(sub: Subscription) -> str:
    """The target without credentials: a webhook URL keeps its host (userinfo masked, path and
    query dropped: they often are the credential); an Apprise URL keeps only its scheme, since
    Apprise puts tokens where the host would be (slack://TokenA/…, tgram://bot_token/…)."""
    if not sub.target:
        return ""
    scheme = urlsplit(sub.target).scheme
    return redact_url(sub.target, keep_path=False) if scheme in ("http", "https") else f"{scheme}://…"


def as_dict(session: Session, sub: Subscription, base_url: str, secret: bool = False) -> dict[str, Any]:
    rows = session.execute(
        select(Delivery.status, func.count(Delivery.id))
        .where(Delivery.subscription_id == sub.id)
        .group_by(Delivery.status)
    ).all()
    counts: dict[str, int] = {status: count for status, count in rows}
    alerts = session.scalar(select(func.count(Alert.id)).where(Alert.subscription_id == sub.id)) or 0
    out = {
        "id": sub.id,
        "name": sub.name,
        "channel": sub.channel,
        "target": masked_target(sub),
        "words": sub.words,
        "outlets": split_list(sub.outlets),
        "kinds": split_list(sub.kinds),
        "types": split_list(sub.types),
        "min_severity": sub.min_severity,
        "min_score": sub.min_score,
        "mode": sub.mode,
        "digest_minutes": sub.digest_minutes,
        "muted": sub.muted,
        "feed_url": f"{base_url}/alerts/{sub.feed_token}.atom",
        "created_at": sub.created_at.isoformat(timespec="seconds"),
        "failing_since": sub.failing_since.isoformat(timespec="seconds") if sub.failing_since else None,
        "flagged": flagged(sub),
        "alerts": alerts,
        "deliveries": {k: counts.get(k, 0) for k in ("pending", "delivered", "failed")},
    }
    if secret:
        out["secret"] = sub.secret
    return out


def alerts_of(session: Session, sub_id: int, limit: int = 50) -> list[dict[str, Any]]:
    get(session, sub_id)
    rows = session.execute(
        select(Alert, Delivery)
        .outerjoin(Delivery, Delivery.id == Alert.delivery_id)
        .where(Alert.subscription_id == sub_id)
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
    ).all()
    out = []
    for alert, delivery in rows:
        attempts = []
        if delivery is not None:
            attempts = [
                {
                    "at": a.at.isoformat(timespec="seconds"),
                    "ok": a.ok,
                    "status_code": a.status_code,
                    "error": redact_text(a.error),
                }
                for a in session.scalars(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.delivery_id == delivery.id)
                    .order_by(DeliveryAttempt.id)
                )
            ]
        out.append(
            {
                "id": alert.id,
                "story_id": alert.story_id,
                "kind": alert.kind,
                "type": alert.type,
                "severity": alert.severity,
                "summary": alert.summary,
                "created_at": alert.created_at.isoformat(timespec="seconds"),
                "delivery": None
                if delivery is None
                else {
                    "uid": delivery.uid,
                    "digest": delivery.digest,
                    "status": delivery.status,
                    "attempts": attempts,
                    "last_error": redact_text(delivery.last_error),
                },
            }
        )
    return out
