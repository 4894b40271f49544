"""Engine, sessions and migrations. SQLite (WAL) by default, PostgreSQL via DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text

if TYPE_CHECKING:  # the ORM loads when a session factory is made: `storydiff stats` needs none
    from sqlalchemy.orm import Session, sessionmaker

from storydiff import settings
from storydiff.store.revision import MIGRATIONS_DIR, head_revision

# connections kept open per process (SQLAlchemy's default is 5): the web server answers 8 or more
# requests at once, and a connection beyond the pool is closed after each use, so the next request
# pays for a new one (on SQLite: an empty page cache and the pragmas; on PostgreSQL: a login)
POOL_SIZE = 10


def make_engine(url: str | None = None) -> Engine:
    url = url or settings.database_url()
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=POOL_SIZE, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # a database that does not answer fails a connection in 10 s (libpq waits forever by default),
    # so /healthz and the pages report it instead of hanging; a connect_timeout in the URL wins
    connect_args = {} if "connect_timeout" in url else {"connect_timeout": 10}
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, connect_args=connect_args)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Plain rows into a table, in the caller's transaction, the cheapest way each database has:
    PostgreSQL's COPY (one statement: an executemany is one execution per row on the server, and
    an ingest writes ~15 LSH band rows and ~40 search-index rows per article); SQLite's
    executemany (in process: a row costs a few microseconds). Values are bound, never formatted
    into the SQL; ``table`` and ``columns`` are the caller's constants."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection  # psycopg's connection, inside SQLAlchemy's transaction
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(columns))})", list(rows))


def insert_records(conn: Connection, table: Table, records: Sequence[Mapping[str, Any]]) -> None:
    """Rows given by column name (every record the same names) into ``table`` by ``insert_rows``,
    each value converted by its column's type once (what SQLAlchemy's executemany does through a
    per-row parameter step that cost more than the insert: a UTC datetime made naive, SQLite's
    datetime text). No column defaults are filled in: give every column that needs a value."""
    if not records:
        return
    names = list(records[0])
    processors = [table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for name in names]
    if not any(processors):
        rows: list[tuple[Any, ...]] = [tuple(r[n] for n in names) for r in records]
    else:
        rows = [tuple(p(r[n]) if p else r[n] for n, p in zip(names, processors, strict=True)) for r in records]
    insert_rows(conn, table.name, names, rows)


def update_rows(
    conn: Connection, table: str, columns: Sequence[str], key: str, rows: Sequence[Sequence[object]]
) -> None:
    """``UPDATE table SET columns… WHERE key = …`` for each row (the new values, then the key), plain
    values straight to the driver (executemany) in the caller's transaction: SQLAlchemy's per-row
    parameter step cost more than the update. ``table``, ``columns`` and ``key`` are the caller's
    constants; values are bound, never formatted into the SQL."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    assignments = ", ".join(f"{c} = {mark}" for c in columns)
    conn.exec_driver_sql(f"UPDATE {table} SET {assignments} WHERE {key} = {mark}", list(rows))


MIGRATION_LOCK = 0x5D1FF_0001  # PostgreSQL advisory lock key of schema migrations


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest Alembic revision (a database already there is
    recognised with one query, without importing Alembic: every CLI command starts faster)."""
    head = head_revision()
    if head is not None:
        try:
            with engine.connect() as conn:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except Exception:  # no table yet (a new database): Alembic creates everything
            current = []
        if current == [head]:
            return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # several processes starting at once on an empty database (web, worker, beat) take turns:
            # the lock is held until this transaction ends, the next one then finds nothing to do
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_database(url: str | None = None) -> tuple[Engine, sessionmaker[Session]]:
    """Engine + session factory for the configured database, migrated to the newest schema."""
    engine = make_engine(url)
    migrate(engine)
    return engine, session_factory(engine)
