"""Several processes starting at once on an empty PostgreSQL database (web, worker and beat under
compose) all migrate it without error: migrations take turns under an advisory lock."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL, need


def test_concurrent_first_starts_on_postgresql_all_succeed():
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"storydiff_start_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # reported as a failure under CI=true
        need(False, f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc})")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    code = "from storydiff.store import open_database; open_database()"
    try:
        starts = [
            subprocess.Popen(
                [sys.executable, "-c", code], env={**os.environ, "DATABASE_URL": url}, stderr=subprocess.PIPE, text=True
            )
            for _ in range(6)
        ]
        results = [(p.communicate(timeout=120)[1], p.returncode) for p in starts]
        results = [(rc, err) for err, rc in results]
        assert [rc for rc, _ in results] == [0] * 6, [err[-500:] for rc, err in results if rc]
        engine = create_engine(url)
        with engine.connect() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        engine.dispose()
        assert len(head) == 1
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
