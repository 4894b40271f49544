"""Managing feeds and outlets: add, import (OPML via listparser, TOML), export OPML."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import listparser
from sqlalchemy import select
from sqlalchemy.orm import Session

from storydiff.errors import ConfigError
from storydiff.ingest.urls import canonical_url, redact_text, redact_url
from storydiff.store.inputs import check_text
from storydiff.store.models import OUTLET_KINDS, Feed, Outlet

DEFAULT_FEEDS = Path(__file__).resolve().parent / "default_feeds.toml"


@dataclass(frozen=True)
class FeedSpec:
    url: str
    outlet: str
    kind: str = "newspaper"
    country: str | None = None


def _check(spec: FeedSpec) -> FeedSpec:
    if spec.kind not in OUTLET_KINDS:
        raise ConfigError(
            f"unknown outlet kind {spec.kind!r} for {spec.outlet!r}; use one of {', '.join(OUTLET_KINDS)}"
        )
    url = spec.url.strip()
    check_text("the feed's URL", url, 2000)
    check_text("the outlet name", spec.outlet.strip(), 200)
    if spec.country:
        check_text("the country", spec.country)
    if canonical_url(url) is None:
        raise ConfigError(f"{redact_url(url)!r} is not an http(s) URL; give the feed's full address")
    country = spec.country.upper() if spec.country else None
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise ConfigError(f"country {spec.country!r} of {spec.outlet!r} must be a two-letter ISO code")
    if not spec.outlet.strip():
        raise ConfigError(f"feed {redact_url(url)} needs an outlet name (--outlet)")
    return FeedSpec(url, spec.outlet.strip(), spec.kind, country)


def get_or_create_outlet(session: Session, name: str, kind: str, country: str | None) -> Outlet:
    outlet = session.scalar(select(Outlet).where(Outlet.name == name))
    if outlet is None:
        outlet = Outlet(name=name, kind=kind, country=country)
        session.add(outlet)
        session.flush()
    return outlet


def add_feed(session: Session, spec: FeedSpec) -> tuple[Feed, bool]:
    """Add a feed (and its outlet); returns (feed, created). Adding a known URL changes nothing."""
    spec = _check(spec)
    existing = session.scalar(select(Feed).where(Feed.url == spec.url))
    if existing is not None:
        return existing, False
    outlet = get_or_create_outlet(session, spec.outlet, spec.kind, spec.country)
    now = datetime.now(UTC)
    feed = Feed(url=spec.url, outlet_id=outlet.id, next_check_at=now, created_at=now, error_count=0)
    session.add(feed)
    session.flush()
    return feed, True


def read_toml(path: Path) -> list[FeedSpec]:
    """``[[outlet]]`` tables with name, kind, country and a ``feeds`` list of URLs."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read feeds file {path}: {exc}") from exc
    specs = []
    for n, outlet in enumerate(data.get("outlet", []), 1):
        if "name" not in outlet or not isinstance(outlet.get("feeds"), list):
            raise ConfigError(f"{path}: [[outlet]] number {n} needs a name and a feeds = [...] list")
        for url in outlet["feeds"]:
            specs.append(FeedSpec(url, outlet["name"], outlet.get("kind", "newspaper"), outlet.get("country")))
    return specs


def read_opml(path: Path) -> list[FeedSpec]:
    """OPML outlines; outlet = outline title, kind/country from ``category="kind:wire,country:GB"``."""
    result = listparser.parse(path.read_bytes())
    if result.bozo and not result.feeds:
        raise ConfigError(f"cannot read OPML file {path}: {result.bozo_exception}")
    specs = []
    for feed in result.feeds:
        tags = {t.split(":", 1)[0]: t.split(":", 1)[1] for t in feed.tags if ":" in t}
        specs.append(FeedSpec(feed.url, feed.title or feed.url, tags.get("kind", "newspaper"), tags.get("country")))
    return specs


def import_file(session: Session, path: Path) -> tuple[int, int]:
    """Import feeds from .opml/.xml or .toml; returns (added, already known)."""
    specs = read_toml(path) if path.suffix.lower() == ".toml" else read_opml(path)
    checked = [_check(s) for s in specs]  # validate everything before adding anything
    added = sum(add_feed(session, s)[1] for s in checked)
    return added, len(checked) - added


def export_opml(session: Session, with_secrets: bool = False) -> str:
    """Every feed as an OPML 2.0 outline with its outlet (kind and country in ``category``).
    URLs are redacted (credentials become ``***``) unless with_secrets: an export to share or
    to look at stays safe; a backup to import elsewhere needs with_secrets (its file holds them)."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = "storydiff feeds"
    body = ET.SubElement(root, "body")
    for feed, outlet in session.execute(select(Feed, Outlet).join(Outlet).order_by(Outlet.name, Feed.url)):
        category = f"kind:{outlet.kind}" + (f",country:{outlet.country}" if outlet.country else "")
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=outlet.name,
            title=outlet.name,
            xmlUrl=feed.url if with_secrets else redact_url(feed.url),
            category=category,
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def find_feed(session: Session, id_or_url: str | int) -> Feed:
    """A feed by its id or its URL; NotFound says how to list them."""
    from storydiff.errors import NotFound

    key = str(id_or_url).strip()
    feed = session.get(Feed, int(key)) if key.isdigit() else session.scalar(select(Feed).where(Feed.url == key))
    if feed is None:
        raise NotFound(f"no feed {key!r}; `storydiff feeds list` shows ids and URLs")
    return feed


def update_feed(session: Session, id_or_url: str | int, changes: dict[str, object]) -> Feed:
    """Change a feed's outlet (name, kind, country) or pause it; unknown fields are refused."""
    from storydiff.errors import InvalidInput

    feed = find_feed(session, id_or_url)
    unknown = set(changes) - {"outlet", "kind", "country", "paused"}
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}; a feed has outlet, kind, country, paused")
    if "paused" in changes:
        if not isinstance(changes["paused"], bool):
            raise InvalidInput("paused is true or false")
        feed.paused = changes["paused"]
    if {"outlet", "kind", "country"} & set(changes):
        current = feed.outlet
        spec = _check(
            FeedSpec(
                feed.url,
                str(changes.get("outlet", current.name)),
                str(changes.get("kind", current.kind)),
                changes.get("country", current.country),  # type: ignore[arg-type]
            )
        )
        if spec.outlet != current.name:
            feed.outlet_id = get_or_create_outlet(session, spec.outlet, spec.kind, spec.country).id
            session.flush()
            session.refresh(feed)
        feed.outlet.kind, feed.outlet.country = spec.kind, spec.country
    session.flush()
    return feed


def remove_feed(session: Session, id_or_url: str | int) -> Feed:
    """Stop following a feed. Its articles stay (they belong to the outlet and to their stories)."""
    feed = find_feed(session, id_or_url)
    session.delete(feed)
    session.flush()
    return feed


@dataclass
class ImportReport:
    added: list[str]
    known: list[str]
    invalid: list[tuple[str, str]]  # (the outline's URL or title, why)


def import_opml_lenient(session: Session, data: bytes) -> ImportReport:
    """Import every valid outline of an OPML document and report the invalid ones, instead of
    refusing the whole file for one bad line (what Miniflux and other readers do)."""
    result = listparser.parse(data)
    if result.bozo and not result.feeds:
        raise ConfigError(f"not an OPML document listparser can read: {result.bozo_exception}")
    report = ImportReport([], [], [])
    for entry in result.feeds:
        tags = {t.split(":", 1)[0]: t.split(":", 1)[1] for t in entry.tags if ":" in t}
        spec = FeedSpec(
            entry.url or "", entry.title or entry.url or "", tags.get("kind", "newspaper"), tags.get("country")
        )
        try:
            feed, created = add_feed(session, spec)
        except ConfigError as exc:
            report.invalid.append((entry.url or entry.title or "(empty outline)", str(exc)))
            continue
        (report.added if created else report.known).append(feed.url)
    return report


def feed_health_shown(session: Session) -> list[dict[str, Any]]:
    """store.queries.feed_health as shown (feeds page, /api/feeds, ``feeds list``): each URL and
    last error redacted (ingest.urls.redact_url)."""
    from storydiff.store.queries import feed_health

    return [
        row | {"url": redact_url(str(row["url"])), "last_error": redact_text(row["last_error"])}
        for row in feed_health(session)
    ]


def articles_shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Article rows (store.queries.recent_articles, link_articles) with their links redacted,
    the copied original's too."""

    def shown(row: dict[str, Any]) -> dict[str, Any]:
        url = row.get("url")
        return row | {"url": redact_url(url) if isinstance(url, str) and url else url}

    return [
        shown(r) | ({"original": shown(r["original"])} if isinstance(r.get("original"), dict) else {}) for r in rows
    ]
