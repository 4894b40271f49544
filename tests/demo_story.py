"""The demo corpus ingested through the real pipeline (feed server → fetch → store → cluster →
compare), shared by the report, web and browser tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storydiff.compare.run import cluster_new_articles
from storydiff.compare.store_reports import compare_stale_stories
from storydiff.demo.run import load_demo
from storydiff.demo.server import DemoFeedServer
from storydiff.store.models import Article, Story, StoryArticle

NOW = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)


def ingest_demo(factory: sessionmaker[Session], compare: bool = True) -> int:
    """Ingest and cluster the demo feeds (and compute every report); returns the six-outlet story's id."""
    server = DemoFeedServer().start()
    try:
        load_demo(factory, server.base_url)
    finally:
        server.stop()
    with factory() as s:
        cluster_new_articles(s, now=NOW)
        if compare:
            compare_stale_stories(s)
        story_id = s.scalar(
            select(Story.id).join(StoryArticle).join(Article).where(Article.url.like("%us-russia-ministers%"))
        )
    assert story_id is not None
    return int(story_id)
