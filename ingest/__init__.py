"""Ingestion: fetch feeds, parse them, store articles and versions, extract full text."""

from ingest.fulltext import extract_article, extract_pending
from ingest.refresh import RefreshResult, due_feed_ids, refresh_due_feeds, refresh_feed

__all__ = ["RefreshResult", "due_feed_ids", "extract_article", "extract_pending", "refresh_due_feeds", "refresh_feed"]
