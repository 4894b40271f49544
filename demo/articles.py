"""The demo corpus as plain article records (the `storydiff compare` JSONL shape), read straight
from the bundled feed and page files: no server, database or network. Summary-only items get
their full text from the bundled page, as ingestion would."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

from storydiff.demo.server import ROOT
from storydiff.ingest.extract import extract_main_text, is_thin
from storydiff.ingest.parse import parse_feed

FETCHED_AT = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)


def demo_articles() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "outlets.toml").read_text(encoding="utf-8"))
    records = []
    for outlet in config["outlet"]:
        for feed_path in outlet["feeds"]:
            file = ROOT / feed_path.lstrip("/")
            parsed = parse_feed(file.read_bytes(), None, "http://HOST" + feed_path, FETCHED_AT)
            for item in parsed.items:
                text = item.body
                if item.url and "/pages/" in item.url:
                    page = ROOT / "pages" / (item.url.rsplit("/", 1)[-1].removesuffix(".html") + ".html")
                    if page.is_file():
                        extracted = extract_main_text(page.read_bytes(), item.url)
                        if not is_thin(extracted, item.summary):
                            text = extracted
                records.append(
                    {
                        "outlet": outlet["name"],
                        "kind": outlet["kind"],
                        "country": outlet.get("country"),
                        "title": item.title,
                        "text": text,
                        "published": item.published.isoformat(),
                        "url": item.url,
                    }
                )
    return records
