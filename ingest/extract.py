"""Main text of an article page with trafilatura (pure: HTML in, text out)."""

from __future__ import annotations

import logging
import re

import trafilatura

logging.getLogger("trafilatura").setLevel(logging.ERROR)
_WORD = re.compile(r"\w+")


def extract_main_text(html: bytes | str, url: str | None = None) -> str:
    """The article body as plain text; "" when nothing article-like is found."""
    if not html:
        return ""
    text = trafilatura.extract(
        html, url=url, include_comments=False, include_tables=False, include_images=False, deduplicate=False
    )
    return (text or "").strip()


def is_thin(extracted: str, summary: str, min_words: int = 40) -> bool:
    """Extraction that adds nothing over the feed summary is not worth keeping."""
    words = len(_WORD.findall(extracted))
    return words < min_words or len(extracted) < len(summary)
