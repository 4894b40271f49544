"""The Alembic migrations create exactly the schema the models describe, on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from storydiff.store.models import Base

# SQLAlchemy cannot reflect an expression index on SQLite (it says so and skips it): the test below
# checks that one by name and expression instead
SKIPPED_EXPRESSION_INDEX = [
    "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning",
    "ignore:autogenerate skipping metadata-specified expression-based index:UserWarning",
]


@pytest.mark.filterwarnings(*SKIPPED_EXPRESSION_INDEX)
def test_models_match_migrations(db):
    with db() as s:
        diff = compare_metadata(MigrationContext.configure(s.connection()), Base.metadata)
    assert diff == []


def test_score_order_index(db):
    """The stories list's score order (store/stories.py) has its expression index on both databases."""
    with db() as s:
        if s.get_bind().dialect.name == "sqlite":
            sql = s.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'ix_stories_score_order'"))
        else:
            sql = s.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_stories_score_order'"))
    assert sql is not None
    assert "coalesce(divergence_score, " in sql.lower().replace("'", "")
