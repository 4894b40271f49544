"""Story redirects: the id of a story merged into another points at the survivor.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_redirects",
        sa.Column("from_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("to_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("from_id"),
    )
    op.create_index("ix_story_redirects_to_id", "story_redirects", ["to_id"])


def downgrade() -> None:
    op.drop_index("ix_story_redirects_to_id", table_name="story_redirects")
    op.drop_table("story_redirects")
