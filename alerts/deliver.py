"""Delivery: alerts → deliveries (immediate, within the hourly cap, or digests grouped by story) →
channels, at least once.

``plan`` gives each undelivered alert a delivery: immediately while the subscription has sent fewer
than STORYDIFF_ALERTS_PER_HOUR in the past hour, the rest (and every alert of a digest
subscription) in the next digest. Claims are conditional UPDATEs, so two planners never deliver
one alert twice. ``deliver_due`` sends every due delivery under a lease (a worker killed mid-send
leaves the lease to expire; the retry reuses the delivery's ``uid``, the webhook-id receivers
deduplicate on), records every attempt, backs off exponentially (capped; a Retry-After is honoured
up to the cap) and stops on a permanent error or after STORYDIFF_ALERT_MAX_ATTEMPTS. A failing
channel never blocks the others; a subscription failing for a day is flagged (``failing_since``),
never dropped."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storydiff import settings
from storydiff.alerts import webhook
from storydiff.alerts.channel import DeliveryError, Message
from storydiff.ingest.urls import redact_text
from storydiff.store.models import Alert, Delivery, DeliveryAttempt, Report, Subscription

PUSH_CHANNELS = ("webhook", "apprise")


def new_uid() -> str:
    return "msg_" + secrets.token_hex(12)


def _new_delivery(session: Session, sub: Subscription, digest: bool, now: datetime) -> Delivery:
    delivery = Delivery(
        subscription_id=sub.id, uid=new_uid(), digest=digest, status="pending", attempts=0, next_attempt_at=now,
        created_at=now,
    )  # fmt: skip
    session.add(delivery)
    session.flush()
    return delivery


def _claim(session: Session, delivery: Delivery, alert_ids: Sequence[int], new: bool = True) -> int:
    """Attach the alerts still without a delivery to this one; drops a new delivery when a
    concurrent planner took them all."""
    taken = session.execute(
        update(Alert).where(Alert.id.in_(alert_ids), Alert.delivery_id.is_(None)).values(delivery_id=delivery.id)
    )
    count = int(getattr(taken, "rowcount", 0))
    if count == 0 and new:
        session.delete(delivery)
    return count


def _next_digest(session: Session, sub: Subscription, due_at: datetime, now: datetime) -> tuple[Delivery, bool]:
    """The subscription's digest still collecting (not due yet), or a new one due at ``due_at``;
    and whether it is new."""
    collecting = session.scalars(
        select(Delivery)
        .where(
            Delivery.subscription_id == sub.id,
            Delivery.digest.is_(True),
            Delivery.status == "pending",
            Delivery.attempts == 0,
            Delivery.next_attempt_at > now,
        )
        .order_by(Delivery.id)
    ).first()
    if collecting is not None:
        return collecting, False
    delivery = _new_delivery(session, sub, True, now)
    delivery.next_attempt_at = max(due_at, now)
    return delivery, True


def plan(session: Session, now: datetime | None = None) -> int:
    """Give undelivered alerts their deliveries; commits; returns the number of deliveries made.

    Immediate subscriptions: one delivery per alert while fewer than STORYDIFF_ALERTS_PER_HOUR went
    out in the past hour; the overflow joins a digest due when the hour is over. Digest
    subscriptions: every alert joins the digest due ``digest_minutes`` after the last one."""
    now = now or datetime.now(UTC)
    per_hour = settings.get_int("STORYDIFF_ALERTS_PER_HOUR")
    made = 0
    subs = session.scalars(select(Subscription).where(Subscription.channel.in_(PUSH_CHANNELS))).all()
    for sub in subs:
        waiting = session.scalars(
            select(Alert.id)
            .where(Alert.subscription_id == sub.id, Alert.delivery_id.is_(None))
            .order_by(Alert.created_at, Alert.id)
        ).all()
        if not waiting:
            continue
        overflow = list(waiting)
        due_at = (sub.last_digest_at or sub.created_at) + timedelta(minutes=sub.digest_minutes)
        if sub.mode == "immediate":
            recent = session.scalars(
                select(Delivery.created_at).where(
                    Delivery.subscription_id == sub.id,
                    Delivery.digest.is_(False),
                    Delivery.created_at > now - timedelta(hours=1),
                )
            ).all()
            room = max(0, per_hour - len(recent))
            for alert_id in overflow[:room]:
                made += _claim(session, _new_delivery(session, sub, False, now), [alert_id])
            overflow = overflow[room:]
            due_at = min(recent, default=now) + timedelta(hours=1)  # when the hour's cap frees up
        if overflow:
            digest, new = _next_digest(session, sub, due_at, now)
            made += bool(_claim(session, digest, overflow, new)) and new
        session.commit()
    return made


def message(session: Session, delivery: Delivery, sub: Subscription) -> Message:
    alerts = session.scalars(select(Alert).where(Alert.delivery_id == delivery.id).order_by(Alert.id)).all()
    payloads = [json.loads(a.payload) for a in alerts]
    if not delivery.digest and len(payloads) == 1:
        data = payloads[0]["data"]
        d, story = data["divergence"], data["story"]
        kind = {"divergence.escalated": " (more severe now)", "divergence.updated": " (changed)"}
        title = f"storydiff: {d['severity']} {d['type']}{kind.get(payloads[0]['type'], '')} — {story['title']}"
        lines = [d["summary"]] + [f"• {c['outlet']}: {c['value']}" for c in d["claims"][:4]]
        if len(d["claims"]) > 4:
            lines.append(f"• +{len(d['claims']) - 4} more outlets")
        if data.get("previous"):
            lines.append("Before: " + "; ".join(f"{o}: {v}" for o, v in data["previous"].items()))
        return Message(delivery.uid, payloads[0], title, "\n".join(lines), story["url"])
    stories: dict[int, dict[str, Any]] = {}
    for p in payloads:
        story = p["data"]["story"]
        entry = stories.setdefault(story["id"], {"story": story, "divergences": []})
        entry["divergences"].append(p["data"]["divergence"] | {"kind": p["type"].split(".", 1)[1]})
    body: dict[str, Any] = {
        "type": "divergence.digest",
        "timestamp": now_iso(),
        "data": {"subscription": {"id": sub.id, "name": sub.name}, "stories": list(stories.values())},
    }
    lines = []
    for entry in stories.values():
        lines.append(f"{entry['story']['title']} — {entry['story']['url']}")
        lines += [f"  • {d['severity']} {d['type']}: {d['summary']}" for d in entry["divergences"]]
    title = f"storydiff digest: {len(payloads)} divergences in {len(stories)} stories ({sub.name})"
    return Message(delivery.uid, body, title, "\n".join(lines), settings.get("STORYDIFF_BASE_URL").rstrip("/"))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def send(sub: Subscription, msg: Message) -> int | None:
    """Through the subscription's channel; the HTTP status when there is one."""
    if sub.channel == "webhook":
        return webhook.send(msg, sub.target, sub.secret)
    if sub.channel == "apprise":
        from storydiff.alerts import apprise_channel  # Apprise loads its plugins: only when used

        apprise_channel.send(msg, sub.target)
        return None
    raise DeliveryError(
        f"channel {sub.channel!r} has nothing to send (the Atom feed is read, not pushed)", permanent=True
    )


@dataclass
class Outcome:
    delivery_id: int
    uid: str
    status: str
    error: str | None = None


def _backoff(attempts: int, retry_after: float | None) -> float:
    first = settings.get_float("STORYDIFF_ALERT_BACKOFF")
    cap = settings.get_float("STORYDIFF_ALERT_MAX_BACKOFF")
    return min(cap, max(first * 2 ** max(0, attempts - 1), retry_after or 0.0))


def deliver_due(session: Session, now: datetime | None = None) -> list[Outcome]:
    """Send every due delivery once (claimed under a lease); commits after each."""
    now = now or datetime.now(UTC)
    lease = timedelta(seconds=settings.get_float("STORYDIFF_ALERT_LEASE"))
    max_attempts = settings.get_int("STORYDIFF_ALERT_MAX_ATTEMPTS")
    due = session.scalars(
        select(Delivery.id)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
    ).all()
    outcomes = []
    for delivery_id in due:
        claimed = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == "pending",
                or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
            )
            .values(lease_until=now + lease)
        )
        session.commit()
        if int(getattr(claimed, "rowcount", 0)) != 1:
            continue  # another worker has it
        delivery = session.get(Delivery, delivery_id)
        sub = session.get(Subscription, delivery.subscription_id) if delivery else None
        if delivery is None or sub is None:
            continue
        attempt_at = datetime.now(UTC)
        try:
            status_code = send(sub, message(session, delivery, sub))
        except DeliveryError as exc:
            error = redact_text(str(exc)) or type(exc).__name__  # stored and shown: no credentials
            delivery.attempts += 1
            session.add(
                DeliveryAttempt(delivery_id=delivery.id, at=attempt_at, status_code=exc.status, error=error, ok=False)
            )
            delivery.last_error = error
            if exc.permanent or delivery.attempts >= max_attempts:
                delivery.status = "failed"
            else:
                delivery.next_attempt_at = attempt_at + timedelta(seconds=_backoff(delivery.attempts, exc.retry_after))
            sub.failing_since = sub.failing_since or attempt_at
            outcomes.append(Outcome(delivery.id, delivery.uid, delivery.status, error))
        else:
            delivery.attempts += 1
            session.add(
                DeliveryAttempt(delivery_id=delivery.id, at=attempt_at, status_code=status_code, error=None, ok=True)
            )
            delivery.status, delivery.delivered_at, delivery.last_error = "delivered", attempt_at, None
            sub.failing_since = None
            if delivery.digest:
                sub.last_digest_at = attempt_at
            outcomes.append(Outcome(delivery.id, delivery.uid, "delivered"))
        delivery.lease_until = None
        session.commit()
    return outcomes


def run_alerts(session: Session, story_ids: Sequence[int] | None = None, now: datetime | None = None) -> dict[str, int]:
    """One alerts pass: match the given stories (None: every report not matched since it was
    computed), plan, deliver."""
    from storydiff.alerts.match import match_story, unmatched_story_ids

    listening = session.scalar(select(Subscription.id).where(Subscription.muted.is_(False)).limit(1))
    if listening is None and story_ids is None:
        # nobody listens (no subscription, or all muted): every report computed so far counts as
        # matched, in one statement — not one report body parsed per story (1.5 s after a cold ingest)
        session.execute(
            update(Report)
            .where(Report.alerts_matched_at.is_(None) | (Report.alerts_matched_at < Report.computed_at))
            .values(alerts_matched_at=Report.computed_at)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        created = 0
    else:
        ids = list(story_ids) if story_ids is not None else unmatched_story_ids(session, limit=1000)
        created = sum(len(match_story(session, story_id)) for story_id in ids)
    planned = plan(session, now)
    outcomes = deliver_due(session, now)
    return {
        "alerts": created,
        "deliveries": planned,
        "delivered": sum(o.status == "delivered" for o in outcomes),
        "failed_attempts": sum(o.status != "delivered" for o in outcomes),
    }


def flagged(sub: Subscription, now: datetime | None = None) -> bool:
    """Failing for a day or more: shown as such in the UI, API and CLI (never dropped)."""
    now = now or datetime.now(UTC)
    return sub.failing_since is not None and now - sub.failing_since >= timedelta(days=1)
