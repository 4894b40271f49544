"""Shared fixtures: real SQLite and PostgreSQL, a real feed server on 127.0.0.1, the real datasets.

A test whose service or data is missing is skipped with a loud reason; under CI=true such a
skip fails instead (see ``need``), so CI never passes by skipping."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from storydiff import settings
from storydiff.store import make_engine, migrate, session_factory
from storydiff.store.models import Base
from tests.feedserver import FeedServer

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("STORYDIFF_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def need(condition: object, reason: str) -> None:
    """Skip loudly when a service or dataset is missing; under CI=true fail instead."""
    if condition:
        return
    message = f"MISSING: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: missing services or data fail the run)", pytrace=False)
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} tests SKIPPED: a service or dataset is missing", red=True)


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("STORYDIFF_HOST_DELAY", "0")
    monkeypatch.setenv("STORYDIFF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STORYDIFF_READ_TIMEOUT", "2")
    monkeypatch.setenv("STORYDIFF_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("STORYDIFF_TOTAL_TIMEOUT", "4")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = settings.shared_data_dir()
    need(path.is_dir(), f"real datasets not found at {path} (set STORYDIFF_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str | None]:
    name = f"storydiff_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # reported by the db fixture
        yield f"unavailable: {exc}"
        return
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    """A migrated, empty database of each kind; DATABASE_URL points at it too."""
    if request.param == "sqlite":
        path = tmp_path / "storydiff.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("_postgres_url")
        need(not url.startswith("unavailable"), f"PostgreSQL at {PG_ADMIN_URL}: {url}")
    monkeypatch.setenv("DATABASE_URL", url)
    engine = make_engine(url)
    if request.param == "postgresql":
        with engine.begin() as conn:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def sqlite_db(
    tmp_path: Path, _sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    path = tmp_path / "storydiff.db"
    shutil.copy(_sqlite_template, path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    yield session_factory(engine)
    engine.dispose()
