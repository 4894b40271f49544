"""Story reports: one stored report per story.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("schema", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("outlets", sa.Integer(), nullable=False),
        sa.Column("divergences", sa.Integer(), nullable=False),
        sa.Column("types", sa.String(length=200), nullable=False),
        sa.Column("etag", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id"),
    )
    op.create_index("ix_reports_computed_at", "reports", ["computed_at"])
    op.create_index("ix_reports_outlets", "reports", ["outlets"])
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index("ix_stories_divergence_score", ["divergence_score"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_divergence_score")
    op.drop_table("reports")
