"""API tokens: created once (printed, never stored), kept as SHA-256, checked on every write."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storydiff.errors import InvalidInput, NotFound
from storydiff.store.models import ApiToken

PREFIX = "sd_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str) -> str:
    """A new token under a unique name; returns the token itself (the only time it is seen)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a token needs a name of 1 to 100 characters")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise InvalidInput(f"a token named {name!r} exists; revoke it or choose another name")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=digest(token), created_at=datetime.now(UTC)))
    session.commit()
    return token


def list_tokens(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "name": t.name,
            "created_at": t.created_at.isoformat(timespec="seconds"),
            "last_used_at": t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else None,
            "revoked": t.revoked_at is not None,
        }
        for t in session.scalars(select(ApiToken).order_by(ApiToken.id))
    ]


def revoke_token(session: Session, name_or_id: str) -> None:
    token = session.scalar(
        select(ApiToken).where(
            (ApiToken.name == name_or_id)
            | (ApiToken.id == (int(name_or_id) if re.fullmatch(r"[0-9]{1,9}", name_or_id) else -1))
        )
    )
    if token is None:
        raise NotFound(f"no token named or numbered {name_or_id!r}; see `storydiff tokens list`")
    token.revoked_at = token.revoked_at or datetime.now(UTC)
    session.commit()


def check_token(session: Session, token: str) -> str:
    """'ok', 'revoked' or 'unknown'; marks the token used."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None:
        return "unknown"
    if row.revoked_at is not None:
        return "revoked"
    row.last_used_at = datetime.now(UTC)
    session.commit()
    return "ok"
