"""Stored story reports on real SQLite and PostgreSQL: computed after clustering, read back
with an ETag, recomputed when an article of the story changes, idempotent otherwise."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storydiff.compare.store_reports import (
    compare_stale_stories,
    compare_stories,
    compare_story,
    load_report,
    stale_story_ids,
)
from storydiff.errors import NotFound
from storydiff.store.models import Article, Report, Story, StoryTerm, Version
from tests.demo_story import ingest_demo


def _demo_story(db) -> int:
    return ingest_demo(db, compare=False)


def test_reports_are_stored_for_every_story_and_read_back(db):
    story_id = _demo_story(db)
    with db() as s:
        done = compare_stale_stories(s)
        assert story_id in done and len(done) == s.query(Story).count()
        assert compare_stale_stories(s) == []  # idempotent: nothing is stale any more
        report, etag = load_report(s, story_id)
        row = s.get(Report, story_id)
        assert row.outlets == 6 and ",numeric," in row.types and ",contradiction," in row.types
        assert s.get(Story, story_id).divergence_score == report["divergence_score"] > 0
    assert len(etag) == 40 and report["story_id"] == story_id
    numeric = next(d for d in report["divergences"] if d["type"] == "numeric")
    assert {c["value"] for c in numeric["claims"]} == {"18 civilians", "21 civilians"}
    danube = next(o for o in report["outlets"] if o["name"] == "Danube Daily")
    assert danube["copy_of"] == "Courier Wire"  # known from ingestion (original_id) and from the text


def test_an_edited_article_makes_its_story_stale(db):
    story_id = _demo_story(db)
    with db() as s:
        compare_stale_stories(s)
        _, etag = load_report(s, story_id)
        article = s.scalar(select(Article).where(Article.url.like("%northwind%tabled%")))
        assert article is not None
        old = s.scalar(select(Version).where(Version.article_id == article.id).order_by(Version.seq.desc()))
        edited = Version(
            article_id=article.id,
            seq=old.seq + 1,
            title=old.title,
            summary=old.summary,
            text=old.text.replace("killed 18 civilians", "killed 19 civilians"),
            text_source=old.text_source,
            content_hash="edited",
            fetched_at=datetime.now(UTC) + timedelta(seconds=1),
        )
        s.add(edited)
        s.commit()
        assert stale_story_ids(s) == [story_id]
        report = compare_story(s, story_id)
        _, new_etag = load_report(s, story_id)
    numeric = next(d for d in report["divergences"] if d["type"] == "numeric")
    assert "19 civilians" in {c["value"] for c in numeric["claims"]} and new_etag != etag


def test_stories_the_clustering_run_just_indexed_are_not_indexed_again_unless_edited_since(db):
    """``run_once`` passes the stories its clustering run indexed: their search rows are kept as they
    are (a cold run indexed each story twice), but a story with a version fetched after that run
    started is indexed again, so an edited headline is found by its new words."""
    story_id = _demo_story(db)
    clustered_at = datetime.now(UTC)
    with db() as s:
        ids = sorted(s.scalars(select(Story.id)))
        other = next(i for i in ids if i != story_id)
        # marks in the index rows: a row survives only if its story is not indexed again
        s.add_all([StoryTerm(story_id=i, term="zzmark", weight=1) for i in (story_id, other)])
        article = s.scalar(select(Article).where(Article.url.like("%northwind%tabled%")))
        old = s.scalar(select(Version).where(Version.article_id == article.id).order_by(Version.seq.desc()))
        s.add(
            Version(
                article_id=article.id,
                seq=old.seq + 1,
                title="Ministers' talks shelved, Northwind says",
                summary=old.summary,
                text=old.text,
                text_source=old.text_source,
                content_hash="edited",
                fetched_at=clustered_at + timedelta(seconds=1),
            )
        )
        s.commit()
        done = compare_stale_stories(s, indexed=ids, indexed_at=clustered_at)
        assert sorted(done) == ids  # every report is computed all the same
        marked = set(s.scalars(select(StoryTerm.story_id).where(StoryTerm.term == "zzmark")))
        assert marked == {other}  # the edited story's rows were rewritten, the other's kept
        assert s.scalar(select(StoryTerm.weight).where(StoryTerm.story_id == story_id, StoryTerm.term == "shelved"))
    with db() as s:  # without the clustering run's list every stale story is indexed
        s.add(StoryTerm(story_id=other, term="zzmark2", weight=1))
        s.execute(Report.__table__.delete())
        s.commit()
        compare_stale_stories(s)
        assert s.scalar(select(StoryTerm.story_id).where(StoryTerm.term == "zzmark2")) is None


def test_a_batch_of_reports_is_the_reports_one_by_one_and_skips_a_story_merged_away(db):
    _demo_story(db)
    with db() as s:
        ids = sorted(s.scalars(select(Story.id)))
        assert len(ids) > 1
        assert compare_stories(s, [*ids, 999]) == ids  # 999: merged into another since it was queued
        batch = {sid: load_report(s, sid)[0] for sid in ids}
        for sid in ids:
            one = json.loads(json.dumps(compare_story(s, sid), ensure_ascii=False, sort_keys=True, default=str))
            assert one == batch[sid]
            assert s.get(Story, sid).divergence_score == one["divergence_score"]


def test_unknown_story_is_a_clear_error(db):
    with db() as s, pytest.raises(NotFound, match="story 999 does not exist"):
        compare_story(s, 999)
    with db() as s, pytest.raises(NotFound, match="does not exist"):
        load_report(s, 999)


def test_a_report_read_from_older_data_is_not_stored_over_a_newer_one(db):
    """Two workers computing one story at once: the one that read the articles first may finish
    last; its report must not replace the newer one (the story would look fresh and stay wrong)."""
    story_id = _demo_story(db)
    read_late = datetime.now(UTC)
    read_early = read_late - timedelta(seconds=5)
    with db() as s:
        compare_story(s, story_id, now=read_late)
        stored = s.get(Report, story_id)
        body, computed = stored.body, stored.computed_at
    with db() as s:
        compare_story(s, story_id, now=read_early)  # finishes second, read first
    with db() as s:
        row = s.get(Report, story_id)
        assert (row.body, row.computed_at) == (body, computed)
        assert row.computed_at.replace(tzinfo=UTC) == read_late
        compare_story(s, story_id, now=read_late + timedelta(seconds=1))  # a newer read replaces it
        assert s.get(Report, story_id).computed_at.replace(tzinfo=UTC) == read_late + timedelta(seconds=1)
