"""Story search index: story_terms (term, story_id, weight), backfilled for the existing stories.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from storydiff.store.search import Member, story_terms

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 500

# the tables as they are at this revision (never the live models: they may change later)
stories = sa.table("stories", sa.column("id", sa.Integer), sa.column("title", sa.Text))
story_articles = sa.table("story_articles", sa.column("story_id", sa.Integer), sa.column("article_id", sa.Integer))
articles = sa.table(
    "articles",
    sa.column("id", sa.Integer),
    sa.column("outlet_id", sa.Integer),
    sa.column("published", sa.DateTime),
)
outlets = sa.table("outlets", sa.column("id", sa.Integer), sa.column("name", sa.String))
versions = sa.table(
    "versions",
    sa.column("article_id", sa.Integer),
    sa.column("seq", sa.Integer),
    sa.column("title", sa.Text),
    sa.column("summary", sa.Text),
)


def upgrade() -> None:
    story_terms_table = op.create_table(
        "story_terms",
        sa.Column("term", sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
                  nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("term", "story_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_story_terms_story_id", "story_terms", ["story_id"])
    backfill(op.get_bind(), story_terms_table)


def backfill(conn: sa.Connection, table: sa.Table) -> None:
    later = versions.alias("later")
    newest = (
        sa.select(sa.func.max(later.c.seq)).where(later.c.article_id == story_articles.c.article_id).scalar_subquery()
    )
    last = 0
    while True:
        chunk = conn.execute(
            sa.select(stories.c.id, stories.c.title).where(stories.c.id > last).order_by(stories.c.id).limit(BATCH)
        ).all()
        if not chunk:
            return
        last = chunk[-1].id
        members: dict[int, list[Member]] = {}
        for story_id, title, summary, outlet in conn.execute(
            sa.select(story_articles.c.story_id, versions.c.title, versions.c.summary, outlets.c.name)
            .join(articles, articles.c.id == story_articles.c.article_id)
            .join(outlets, outlets.c.id == articles.c.outlet_id)
            .join(versions, (versions.c.article_id == story_articles.c.article_id) & (versions.c.seq == newest))
            .where(story_articles.c.story_id.in_([row.id for row in chunk]))
            .order_by(story_articles.c.story_id, articles.c.published, articles.c.id)
        ):
            members.setdefault(story_id, []).append(Member(title, summary or "", outlet))
        rows = [
            {"story_id": row.id, "term": term, "weight": weight}
            for row in chunk
            for term, weight in story_terms(row.title, members.get(row.id, [])).items()
        ]
        if rows:
            conn.execute(table.insert(), rows)


def downgrade() -> None:
    op.drop_index("ix_story_terms_story_id", table_name="story_terms")
    op.drop_table("story_terms")
