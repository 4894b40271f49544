"""The Jinja2 templates of the pages, with the filters they use (shared by app.py and pages.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi.templating import Jinja2Templates

from storydiff.compare.evidence import needs_quotes
from storydiff.compare.schema import FOLD_SHOWN, SHOWN_FIRST
from storydiff.ingest.urls import redact_url

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
# the templates are part of the installed package: no stat() of every template file on every page
TEMPLATES.env.auto_reload = False


def safe_href(url: str | None) -> str | None:
    """A link target only when it is an http(s) URL; javascript:, data: and the like are dropped;
    credentials in it (userinfo, key/token/… parameters) are masked."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return redact_url(url.strip()) if parts.scheme in ("http", "https") and parts.netloc else None


TEMPLATES.env.filters["safe_href"] = safe_href
TEMPLATES.env.filters["when"] = lambda value: (value or "")[:16].replace("T", " ")
TEMPLATES.env.globals["shown_first"] = SHOWN_FIRST  # divergences listed before "more"
TEMPLATES.env.globals["fold_shown"] = FOLD_SHOWN  # items of an outlet's fold of omissions / exclusives before "+N more"
TEMPLATES.env.tests["quoted"] = needs_quotes  # {% if text is quoted %}: wrap in “…” (not when it has its own quotes)
