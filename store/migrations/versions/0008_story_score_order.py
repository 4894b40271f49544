"""Stories by divergence score: an index on the list's sort key, so a page reads 25 index entries
instead of sorting every story.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stories_score_order", "stories", [sa.text("coalesce(divergence_score, -1.0)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_stories_score_order", table_name="stories")
