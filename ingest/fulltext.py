"""Full text for summary-only items: fetch the linked page politely, extract, keep the
summary when extraction is thin or fails. Called per article (Celery task ``extract_article``)."""

from __future__ import annotations

import logging

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from storydiff import settings
from storydiff.errors import FeedError, NotFound
from storydiff.ingest.fetch import PAGE_ACCEPT, HostLimiter, fetch, make_client
from storydiff.ingest.urls import redact_text, redact_url
from storydiff.store.models import Article, Version

log = logging.getLogger(__name__)


def page_limiter() -> HostLimiter:
    return HostLimiter(delay=settings.get_float("STORYDIFF_HOST_DELAY"))


def extract_article(
    session: Session, article_id: int, client: httpx.Client | None = None, limiter: HostLimiter | None = None
) -> str:
    """Fill the newest version's text from the article page. Returns what happened:
    "extracted", "thin", "failed" or "skipped" (nothing to do). Commits."""
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound(f"no article with id {article_id}")
    version = session.scalar(
        select(Version).where(Version.article_id == article_id).order_by(Version.seq.desc()).limit(1)
    )
    if not article.needs_fulltext or not article.url or version is None:
        return "skipped"
    own = client is None
    client = client or make_client()
    outcome = "failed"
    try:
        page = fetch(article.url, client, limiter=limiter or page_limiter(), accept=PAGE_ACCEPT)
        from storydiff.ingest.extract import extract_main_text, is_thin  # trafilatura: only with a page

        text = extract_main_text(page.body, page.url)
        if is_thin(text, version.summary):
            article.fulltext_error = f"extraction found only {len(text)} characters; kept the feed summary"
            outcome = "thin"
        else:
            version.text, version.text_source = text, "extracted"
            article.fulltext_error = None
            outcome = "extracted"
    except FeedError as exc:
        article.fulltext_error = f"could not fetch the article page: {exc}"  # its URLs are redacted
    except Exception as exc:  # trafilatura/lxml on hostile HTML: keep the summary, record why
        log.exception("extraction of article %d (%s) failed", article.id, redact_url(article.url))
        article.fulltext_error = redact_text(f"extraction failed ({type(exc).__name__}: {exc}); kept the feed summary")
    finally:
        if own:
            client.close()
    article.needs_fulltext = False
    session.commit()
    return outcome


def pending_fulltext_ids(session: Session, limit: int = 500) -> list[int]:
    return list(
        session.scalars(select(Article.id).where(Article.needs_fulltext.is_(True)).order_by(Article.id).limit(limit))
    )


def extract_pending(session: Session, limit: int = 500) -> dict[str, int]:
    """Extract every pending article (used by the CLI and the in-process scheduler)."""
    counts: dict[str, int] = {}
    limiter = page_limiter()
    with make_client() as client:
        for article_id in pending_fulltext_ids(session, limit):
            outcome = extract_article(session, article_id, client, limiter)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
