"""Subscriptions matched against a story's stored report: every divergence a subscription wants
becomes an alert, once per state.

A divergence's *key* says which divergence it is across re-runs (its type and what it is about —
for a number, the counted thing with the digits removed, so 19 → 27 dead is the same divergence);
its *state* is its distinct values and its severity (an outlet joining a side changes neither). (subscription, story, key, state) is
unique in the database: re-running, retrying, two workers or a restarted scheduler cannot alert
twice. A key seen before alerts again only when its values change (an ``updated`` alert naming the
previous values) or its severity rises above every severity alerted so far (``escalated``)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storydiff import settings
from storydiff.store.models import Alert, Report, StoryRedirect, Subscription
from storydiff.store.queries import insert_new

SEVERITIES = ("low", "medium", "high")
OPT_IN_TYPES = ("omission", "exclusive")  # only when a subscription names them
_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text.replace("’", "'"))]


def split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def divergence_key(divergence: dict[str, Any]) -> str:
    """Which divergence this is across re-runs: its type and what it is about (for a number, the
    counted thing without the digits). Outlets joining a side do not make it another divergence;
    for an omission or an exclusive, who carries it and the claim itself are what it is."""
    if divergence["type"] == "numeric":
        about = sorted({" ".join(_LETTERS.findall(c["value"].lower())) for c in divergence["claims"]})
    else:
        about = sorted({" ".join(_words(c["value"])) for c in divergence["claims"]})
    if divergence["type"] in OPT_IN_TYPES:
        about += sorted({c["outlet"] for c in divergence["claims"]} | set(divergence.get("outlets", ())))
        about += sorted(" ".join(_words(c["text"])[:16]) for c in divergence["claims"])
    raw = json.dumps([divergence["type"], about])
    return hashlib.sha1(raw.encode()).hexdigest()[:24]


def values_of(divergence: dict[str, Any]) -> dict[str, str]:
    return {c["outlet"]: c["value"] for c in divergence["claims"]}


def _value_set(values: dict[str, str]) -> list[str]:
    return sorted({" ".join(_words(v)) for v in values.values()})


def divergence_state(divergence: dict[str, Any]) -> str:
    """Its values (the distinct ones: another outlet on a side changes nothing) and severity."""
    raw = json.dumps([_value_set(values_of(divergence)), divergence["severity"]])
    return hashlib.sha1(raw.encode()).hexdigest()[:24]


def story_text(report: dict[str, Any]) -> set[str]:
    """Every word of the story a subscription's words may match: title, headlines, claims (with
    their named entities), outlet names."""
    parts = [report.get("title") or ""]
    for outlet in report["outlets"]:
        parts.append(outlet["name"])
        parts += [a.get("title") or "" for a in outlet.get("articles", ())]
    for group in report.get("claim_groups", ()):
        for claim in group["claims"]:
            parts.append(claim["text"])
            parts += claim.get("entities", ())
    return set(_words(" ".join(parts)))


def wants(sub: Subscription, report: dict[str, Any], divergence: dict[str, Any], words: set[str]) -> bool:
    types = split_list(sub.types)
    if types and divergence["type"] not in types:
        return False
    if not types and divergence["type"] in OPT_IN_TYPES:
        return False
    if SEVERITIES.index(divergence["severity"]) < SEVERITIES.index(sub.min_severity):
        return False
    if sub.min_score is not None and (report.get("divergence_score") or 0.0) < sub.min_score:
        return False
    involved = set(divergence.get("outlets", ())) | {c["outlet"] for c in divergence["claims"]}
    outlets = {o.lower() for o in split_list(sub.outlets)}
    if outlets and not outlets & {o.lower() for o in involved}:
        return False
    kinds = set(split_list(sub.kinds))
    if kinds and not kinds & {o.get("kind") for o in report["outlets"] if o["name"] in involved}:
        return False
    return all(w in words for w in _words(sub.words))


def payload(
    alert_kind: str,
    sub: Subscription,
    story_id: int,
    report: dict[str, Any],
    divergence: dict[str, Any],
    previous: dict[str, str] | None,
) -> dict[str, Any]:
    base = settings.get("STORYDIFF_BASE_URL").rstrip("/")
    urls = {a["id"]: a.get("url") for o in report["outlets"] for a in o.get("articles", ())}
    return {
        "type": f"divergence.{alert_kind}",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            "subscription": {"id": sub.id, "name": sub.name},
            "story": {
                "id": story_id,
                "title": report.get("title") or "",
                "url": f"{base}/stories/{story_id}",
                "report_url": f"{base}/api/stories/{story_id}/report",
                "divergence_score": report.get("divergence_score"),
            },
            "divergence": {
                "type": divergence["type"],
                "severity": divergence["severity"],
                "summary": divergence["summary"],
                "outlets": divergence.get("outlets", []),
                "claims": [
                    {
                        "outlet": c["outlet"],
                        "value": c["value"],
                        "text": c["text"],
                        "article_url": urls.get(c.get("article_id")),
                    }
                    for c in divergence["claims"]
                ],
            },
            "previous": previous,
        },
    }


def unmatched_story_ids(session: Session, limit: int = 200) -> list[int]:
    """Stories whose stored report was computed after its alerts were last matched (or never)."""
    rows = session.scalars(
        select(Report.story_id)
        .where((Report.alerts_matched_at.is_(None)) | (Report.alerts_matched_at < Report.computed_at))
        .order_by(Report.computed_at)
        .limit(limit)
    )
    return list(rows)


def _story_ids(session: Session, story_id: int) -> list[int]:
    """The story and every story merged into it: their alerts are this story's alerts."""
    merged = session.scalars(select(StoryRedirect.from_id).where(StoryRedirect.to_id == story_id)).all()
    return [story_id, *merged]


def match_story(session: Session, story_id: int, subscriptions: Iterable[Subscription] | None = None) -> list[int]:
    """Create the alerts the story's stored report calls for; commits; returns the new alert ids."""
    row = session.get(Report, story_id)
    if row is None:
        return []
    report = json.loads(row.body)
    row.alerts_matched_at = row.computed_at  # a sweep re-matches reports computed after this
    subs = list(subscriptions) if subscriptions is not None else session.scalars(select(Subscription)).all()
    words = story_text(report)
    ids = _story_ids(session, story_id)
    created: list[int] = []
    for sub in subs:
        if sub.muted:
            continue
        seen = session.execute(
            select(Alert.key, Alert.state, Alert.severity, Alert.payload)
            .where(Alert.subscription_id == sub.id, Alert.story_id.in_(ids))
            .order_by(Alert.created_at, Alert.id)
        ).all()
        history: dict[str, list[tuple[str, str, str]]] = {}
        for key, state, severity, stored in seen:
            history.setdefault(key, []).append((state, severity, stored))
        for divergence in report["divergences"]:
            if not wants(sub, report, divergence, words):
                continue
            key, state = divergence_key(divergence), divergence_state(divergence)
            before = history.get(key, [])
            if any(s == state for s, _, _ in before):
                continue
            previous = None
            kind = "new"
            if before:
                last = json.loads(before[-1][2])["data"]["divergence"]
                last_values = {c["outlet"]: c["value"] for c in last["claims"]}
                if _value_set(last_values) == _value_set(values_of(divergence)):
                    if SEVERITIES.index(divergence["severity"]) <= max(SEVERITIES.index(s) for _, s, _ in before):
                        continue  # the same values, not more severe than already alerted
                    kind = "escalated"
                else:
                    kind, previous = "updated", last_values
            stored = json.dumps(payload(kind, sub, story_id, report, divergence, previous), ensure_ascii=False)
            values = {
                "subscription_id": sub.id,
                "story_id": story_id,
                "key": key,
                "state": state,
                "kind": kind,
                "type": divergence["type"],
                "severity": divergence["severity"],
                "summary": divergence["summary"],
                "payload": stored,
                "created_at": datetime.now(UTC),
            }
            alert_id = insert_new(session, Alert, values)  # the unique key decides, also against a concurrent run
            if alert_id is None:
                continue
            created.append(alert_id)
            history.setdefault(key, []).append((state, divergence["severity"], stored))
    session.commit()
    return created


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)
