"""Story clustering: one story per article, and a job lock row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("story_articles", schema=None) as batch_op:
        batch_op.create_index("ix_story_articles_article_id", ["article_id"], unique=True)
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index("ix_stories_status", ["status"], unique=False)
    job_locks = op.create_table(
        "job_locks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(job_locks, [{"name": "cluster", "taken_at": None}])


def downgrade() -> None:
    op.drop_table("job_locks")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_status")
    with op.batch_alter_table("story_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_story_articles_article_id")
