"""Story search speed: the ranked index against the LIKE substring search it replaced.

Builds a fresh database (SQLite by default, or --url, e.g. an empty PostgreSQL database) with
10,000 stories of 1–5 member articles each: headlines and leads drawn from the 5,000 most frequent
English words (wordfreq, Zipf-weighted) plus invented names, outlets from a pool of 40. Builds the
index with ``reindex`` (timed), then times each query through ``list_stories`` (first page of 25,
ranked) and through the previous implementation — every word as a case-folded LIKE substring of the
story title, a member's title or summary, or an outlet name, newest first — in the same run.
Prints the median of --repeat runs per query and the ratio LIKE / index.

    python benchmarks/search.py [--stories 10000] [--repeat 7] [--url postgresql+psycopg://…/db]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

QUERIES = ["lavrenko", "government", "budget vote", "kovacs harbour", "minister lavrenko talks", "lavr"]
NAMES = ["Lavrenko", "Kovacs", "Oyelaran", "Brandt", "Moreau", "Tanaka", "Silva", "Novak", "Haddad", "Okafor"]
PLACES = ["Harbour", "Valdoria", "Northgate", "Tessaly", "Ostrava", "Kirkwall", "Lagos", "Medan"]


def build(factory, stories: int, seed: int = 5) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert
    from wordfreq import top_n_list

    from storydiff.store.models import Article, Outlet, Story, StoryArticle, Version

    rng = random.Random(seed)
    vocabulary = [w for w in top_n_list("en", 5000) if w.isalpha()]
    weights = [1 / (rank + 10) for rank in range(len(vocabulary))]  # Zipf-like

    def words(n: int) -> list[str]:
        return rng.choices(vocabulary, weights, k=n)

    def headline() -> str:
        parts = words(rng.randint(5, 9))
        parts.insert(rng.randint(0, len(parts)), rng.choice(NAMES + PLACES))
        return " ".join(parts).capitalize()

    def lead() -> str:
        parts = words(rng.randint(25, 45))
        for _ in range(rng.randint(1, 3)):
            parts.insert(rng.randint(1, len(parts)), rng.choice(NAMES + PLACES))
        return " ".join(parts).capitalize() + "."

    start = datetime(2026, 1, 1, tzinfo=UTC)
    with factory() as s:
        s.execute(
            insert(Outlet), [{"id": i + 1, "name": f"Outlet {i:02d} News", "kind": "newspaper"} for i in range(40)]
        )
        story_rows, article_rows, version_rows, member_rows = [], [], [], []
        article_id = 0
        for n in range(stories):
            when = start + timedelta(minutes=n)
            members = [(headline(), lead()) for _ in range(rng.randint(1, 5))]
            story_rows.append(
                {"id": n + 1, "title": members[0][0], "first_seen": when, "last_seen": when, "status": "open"}
            )
            for title, summary in members:
                article_id += 1
                article_rows.append({"id": article_id, "key": f"bench:{article_id}", "outlet_id": rng.randint(1, 40),
                                     "first_seen": when, "published": when, "needs_fulltext": False})  # fmt: skip
                version_rows.append({"article_id": article_id, "seq": 1, "title": title, "summary": summary,
                                     "text": summary, "text_source": "feed", "content_hash": str(article_id),
                                     "fetched_at": when})  # fmt: skip
                member_rows.append({"story_id": n + 1, "article_id": article_id, "score": 1.0})
        for model, rows in ((Story, story_rows), (Article, article_rows), (Version, version_rows),
                            (StoryArticle, member_rows)):  # fmt: skip
            for chunk in range(0, len(rows), 5000):
                s.execute(insert(model), rows[chunk : chunk + 5000])
        s.commit()


def like_search(session, q: str, limit: int = 25) -> list[int]:  # type: ignore[no-untyped-def]
    """The search this index replaced: each word a LIKE substring, newest stories first."""
    from sqlalchemy import exists, func, or_, select

    from storydiff.store.models import Article, Outlet, Story, StoryArticle, Version

    stmt = select(Story.id)
    for word in q.split():
        pattern = f"%{word.lower()}%"
        told = (
            select(StoryArticle.story_id)
            .join(Article, Article.id == StoryArticle.article_id)
            .join(Outlet, Outlet.id == Article.outlet_id)
            .join(Version, Version.article_id == Article.id)
            .where(StoryArticle.story_id == Story.id)
            .where(
                or_(
                    func.lower(Version.title).like(pattern),
                    func.lower(Version.summary).like(pattern),
                    func.lower(Outlet.name).like(pattern),
                )
            )
        )
        stmt = stmt.where(or_(func.lower(Story.title).like(pattern), exists(told)))
    return list(session.scalars(stmt.order_by(Story.last_seen.desc(), Story.id.desc()).limit(limit)))


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    result = fn()  # warm-up
    laps = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        laps.append(time.perf_counter() - began)
    return statistics.median(laps) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stories", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--url", default=None, help="an empty database (default: a fresh SQLite file)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='storydiff-searchbench-')) / 'bench.db'}"
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import func, select

    from storydiff.compare.search_index import reindex
    from storydiff.store import open_database
    from storydiff.store.models import StoryArticle
    from storydiff.store.stories import StoryFilter, list_stories

    engine, factory = open_database()
    began = time.perf_counter()
    build(factory, args.stories)
    with factory() as s:
        articles = s.scalar(select(func.count()).select_from(StoryArticle))
    print(f"database: {engine.dialect.name}, {args.stories:,} stories, {articles:,} articles "
          f"({time.perf_counter() - began:.1f} s)")  # fmt: skip
    began = time.perf_counter()
    with factory() as s:
        stories, rows = reindex(s)
    print(f"index: {rows:,} rows for {stories:,} stories in {time.perf_counter() - began:.1f} s")
    print(f"{'query':26s} {'index':>9s} {'LIKE':>9s} {'LIKE/index':>10s}  hits on page 1 (index, LIKE)")
    ratios = []
    with factory() as s:
        for q in QUERIES:
            ranked_ms, page = timed(lambda q=q: list_stories(s, StoryFilter(q=q), 25)[0], args.repeat)
            like_ms, like = timed(lambda q=q: like_search(s, q), args.repeat)
            ratios.append(like_ms / ranked_ms)
            print(f"{q:26s} {ranked_ms:7.1f} ms {like_ms:7.1f} ms {like_ms / ranked_ms:9.1f}×  "
                  f"({len(page)}, {len(like)})")  # type: ignore[arg-type]  # fmt: skip
    print(f"median ratio LIKE / index: {statistics.median(ratios):.1f}×")
    engine.dispose()


if __name__ == "__main__":
    main()
