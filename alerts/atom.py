"""Each subscription's private Atom feed (its URL holds an unguessable token), built with feedgen:
one entry per alert, newest first, linking to the story's report."""

from __future__ import annotations

import json
from collections.abc import Sequence

from storydiff.store.models import Alert, Subscription


def render(subscription: Subscription, alerts: Sequence[Alert], base_url: str) -> bytes:
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(f"{base_url}/alerts/{subscription.feed_token}.atom")
    feed.title(f"storydiff alerts: {subscription.name}")
    feed.author({"name": "storydiff"})
    feed.link(href=f"{base_url}/alerts/{subscription.feed_token}.atom", rel="self")
    feed.link(href=f"{base_url}/stories", rel="alternate")
    feed.subtitle("Where outlets' accounts of a story differ, as this subscription asked.")
    newest = max((a.created_at for a in alerts), default=subscription.created_at)
    feed.updated(newest)
    for alert in sorted(alerts, key=lambda a: (a.created_at, a.id)):  # feedgen puts the last added first
        data = json.loads(alert.payload)["data"]
        entry = feed.add_entry()
        entry.id(f"{base_url}/alerts/{subscription.feed_token}/{alert.id}")
        label = {"new": "", "escalated": "now more severe: ", "updated": "changed: "}.get(alert.kind, "")
        entry.title(f"{alert.severity} {alert.type}: {label}{alert.summary}"[:300])
        entry.link(href=data["story"]["url"])
        entry.published(alert.created_at)
        entry.updated(alert.created_at)
        lines = [data["divergence"]["summary"]] + [
            f"{c['outlet']}: {c['value']} — “{c['text']}”" for c in data["divergence"]["claims"]
        ]
        if data.get("previous"):
            lines.append("Before: " + "; ".join(f"{o}: {v}" for o, v in data["previous"].items()))
        entry.content("\n".join(lines), type="text")
    return feed.atom_str(pretty=True)
