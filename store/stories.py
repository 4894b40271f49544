"""Story listing and story details for the web UI, the API and the CLI (read-only queries).

``list_stories`` filters by outlet, outlet kind, time range, divergence type and a search (``q``:
every word in the story's search index — its title, the members' titles, leads and names, the
outlets; see ``store/search.py``), sorts by relevance (the default with a search), divergence score,
last update or number of outlets, and pages with an opaque cursor (keyset pagination: stable under
inserts, no OFFSET scans)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, and_, bindparam, exists, func, or_, select, text
from sqlalchemy.orm import Session

from storydiff.errors import InvalidInput
from storydiff.settings import DEFAULT_MIN_OUTLETS
from storydiff.store.counts import COUNTS
from storydiff.store.inputs import MAX_ID, bounded_int, check_text, finite_number, utc_time
from storydiff.store.models import OUTLET_KINDS, SCORE_ORDER, Article, Outlet, Report, Story, StoryArticle, Version
from storydiff.store.queries import iso
from storydiff.store.search import matches, parse_query

SORTS = ("relevance", "score", "updated", "outlets")
MAX_OUTLETS = 1000  # the largest min_outlets filter
MAX_CURSOR = 500  # characters: a cursor holds three short values
DIVERGENCE_TYPES = ("numeric", "quote", "attribution", "contradiction", "framing", "omission", "exclusive")


@dataclass(frozen=True)
class StoryFilter:
    outlet: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    type: str | None = None
    q: str | None = None
    min_outlets: int = DEFAULT_MIN_OUTLETS
    sort: str | None = None  # None: relevance with a search, else updated

    def check(self) -> StoryFilter:
        """The filter with its sort resolved and its times in UTC; InvalidInput (a message saying what
        to change) if invalid."""
        for name in ("outlet", "kind", "type", "q", "sort"):
            value = getattr(self, name)
            if value is not None:
                check_text(name, value, 200)
        since = utc_time(self.since, "since") if self.since else None
        until = utc_time(self.until, "until") if self.until else None
        if (since, until) != (self.since, self.until):
            return replace(self, since=since, until=until).check()
        searching = bool(self.q and self.q.strip())
        if self.sort is None:
            return replace(self, sort="relevance" if searching else "updated").check()
        if self.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)}, not {self.sort!r}")
        if self.sort == "relevance" and not searching:
            raise InvalidInput(
                "sort=relevance ranks the results of a search: give q, or sort by score, updated or outlets"
            )
        if searching:
            parse_query(self.q or "")  # only stop words, punctuation or too many words: say so
        if self.kind is not None and self.kind not in OUTLET_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(OUTLET_KINDS)}, not {self.kind!r}")
        if self.type is not None and self.type not in DIVERGENCE_TYPES:
            raise InvalidInput(f"type must be one of {', '.join(DIVERGENCE_TYPES)}, not {self.type!r}")
        if self.since and self.until and self.since > self.until:
            raise InvalidInput("since is after until; swap them")
        if not 1 <= self.min_outlets <= MAX_OUTLETS:
            raise InvalidInput(f"min_outlets must be a whole number from 1 to {MAX_OUTLETS}")
        return self


def _sort_column(sort: str | None) -> Any:
    return {
        "score": SCORE_ORDER,  # the expression of the index ix_stories_score_order
        "updated": Story.last_seen,
        "outlets": func.coalesce(Report.outlets, 0),
    }[sort]


def pack_cursor(*values: Any) -> str:
    """An opaque page cursor: the sort key values of a page's last row."""
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def unpack_cursor(cursor: str, *convert: Callable[[Any], Any]) -> list[Any]:
    """The values of a cursor, each passed through its converter; InvalidInput when it is not one of ours."""
    try:
        if len(cursor) > MAX_CURSOR:  # also bounds the JSON's nesting far below the recursion limit
            raise ValueError
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(convert):
            raise ValueError
        return [to(value) for to, value in zip(convert, values, strict=True)]
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, RecursionError):
        # JSONDecodeError and binascii.Error are ValueErrors; OverflowError: a time beyond year 1 or 9999 in UTC
        raise InvalidInput(
            "cursor is not valid for this list or sort order; use the next_cursor value of the previous page"
        ) from None


def integer(value: Any) -> int:
    """A cursor's integer: a 64-bit one (TypeError or ValueError otherwise)."""
    return bounded_int(value)


def row_id(value: Any) -> int:
    """A cursor's row id: within the INTEGER ids of the tables."""
    return bounded_int(value, 0, MAX_ID)


def cursor_time(value: Any) -> datetime:
    """A cursor's time: ISO 8601 in UTC (a stored time may be older than 1970: no range here)."""
    if not isinstance(value, str):
        raise TypeError
    when = datetime.fromisoformat(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)  # may overflow


# every story less those whose report has that many outlets (a story has at most one report): two
# counts over indexes, not a join of every story with its report
_COUNT_BELOW = select(
    select(func.count()).select_from(Story).scalar_subquery()
    - select(func.count()).select_from(Report).where(Report.outlets >= bindparam("min_outlets")).scalar_subquery()
)
_OUTLET_NAMES = select(Outlet.name).order_by(Outlet.name)


def count_below(session: Session, min_outlets: int) -> int:
    """How many stories are told by fewer than ``min_outlets`` outlets (what that filter hides)."""
    if min_outlets <= 1:
        return 0
    # every story less those with a report of that many outlets (a story has at most one report):
    # two counts over indexes instead of a join of every story with its report
    return int(session.scalar(_COUNT_BELOW, {"min_outlets": min_outlets}) or 0)


def _equal_to(expected: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value != expected:
            raise ValueError
        return expected

    return check


# the columns of a list row (plain rows, no ORM objects: a page is read, never changed)
LIST_COLUMNS = (
    Story.id,
    Story.title,
    Story.first_seen,
    Story.last_seen,
    Story.status,
    Story.divergence_score,
    Report.outlets,
    Report.divergences,
    Report.types,
)


def story_summary(story: Story) -> dict[str, Any]:
    return {
        "id": story.id,
        "title": story.title,
        "first_seen": iso(story.first_seen),
        "last_seen": iso(story.last_seen),
        "status": story.status,
        "divergence_score": story.divergence_score,
    }


_LIST_STATEMENTS: dict[tuple[str | bool, ...], Any] = {}


def _list_statement(
    column: Any,
    hits: Any,
    min_outlets: bool,
    outlet: bool,
    kind: bool,
    since: bool,
    until: bool,
    type: bool,
    after: bool,
) -> Any:
    """The stories list's SELECT for a shape of filter, its values as parameters (``list_*``)."""
    stmt = select(*LIST_COLUMNS, column.label("sort_value")).outerjoin(Report, Report.story_id == Story.id)
    if hits is not None:
        stmt = stmt.join(hits, hits.c.story_id == Story.id)  # every word of the search
    if min_outlets:
        # as a condition on each row (not on the index of reports.outlets): SQLite then reads the stories
        # in the sort's order and stops after a page, rather than sorting every story told by 2+ outlets
        stmt = stmt.where(func.coalesce(Report.outlets, 0) >= bindparam("list_min_outlets"))
    member = select(StoryArticle.story_id).join(Article, Article.id == StoryArticle.article_id)
    member = member.join(Outlet, Outlet.id == Article.outlet_id).where(StoryArticle.story_id == Story.id)
    if outlet:
        stmt = stmt.where(exists(member.where(Outlet.name == bindparam("list_outlet"))))
    if kind:
        stmt = stmt.where(exists(member.where(Outlet.kind == bindparam("list_kind"))))
    if since:
        stmt = stmt.where(Story.last_seen >= bindparam("list_since"))
    if until:
        stmt = stmt.where(Story.first_seen <= bindparam("list_until"))
    if type:
        stmt = stmt.where(Report.types.like(bindparam("list_type")))
    if after:
        after_value = bindparam("list_after")
        stmt = stmt.where(or_(column < after_value, and_(column == after_value, Story.id < bindparam("list_after_id"))))
    return stmt.order_by(column.desc(), Story.id.desc()).limit(bindparam("list_limit", type_=Integer))


def list_stories(
    session: Session, flt: StoryFilter, limit: int = 25, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of stories (best match / newest / most divergent first) and the cursor of the next page."""
    flt = flt.check()
    query = parse_query(flt.q) if flt.q and flt.q.strip() else None
    hits = matches(session, query) if query else None
    if flt.sort == "relevance" and hits is not None:
        column: Any = hits.c.score
        cursor_sort = f"relevance {query.key if query else ''}"  # a cursor of another search is refused
    else:
        column = _sort_column(flt.sort)
        cursor_sort = str(flt.sort)
    values: dict[str, Any] = {
        "list_min_outlets": flt.min_outlets,
        "list_outlet": flt.outlet,
        "list_kind": flt.kind,
        "list_since": flt.since,
        "list_until": flt.until,
        "list_type": f"%,{flt.type},%",
        "list_limit": limit + 1,
    }
    if cursor:
        convert = {"updated": cursor_time, "relevance": integer}.get(str(flt.sort), finite_number)
        _, values["list_after"], values["list_after_id"] = unpack_cursor(
            cursor, _equal_to(cursor_sort), convert, row_id
        )
    shape = (
        str(flt.sort),
        flt.min_outlets > 1,
        bool(flt.outlet),
        bool(flt.kind),
        bool(flt.since),
        bool(flt.until),
        bool(flt.type),
        bool(cursor),
    )
    if hits is not None:  # a search: its own statement each time
        stmt = _list_statement(column, hits, *shape[1:])
    else:  # one statement per shape of filter, built once (its compiled form is then found at once)
        stmt = _LIST_STATEMENTS.get(shape)
        if stmt is None:
            stmt = _LIST_STATEMENTS.setdefault(shape, _list_statement(column, None, *shape[1:]))
    # on the session's connection: plain rows, without the ORM's per-statement work (a page is read only)
    rows = session.connection().execute(stmt, values).all()
    page = [
        {
            "id": row.id,
            "title": row.title,
            "first_seen": iso(row.first_seen),
            "last_seen": iso(row.last_seen),
            "status": row.status,
            "divergence_score": row.divergence_score,
            "outlets": row.outlets or 0,
            "divergences": row.divergences or 0,
            "types": [t for t in (row.types or "").split(",") if t],
        }
        | ({"relevance": int(row.sort_value)} if flt.sort == "relevance" else {})
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = pack_cursor(cursor_sort, last.sort_value, last.id)
    return page, next_cursor


def outlets(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Outlet, func.count(Article.id))
        .outerjoin(Article, Article.outlet_id == Outlet.id)
        .group_by(Outlet.id)
        .order_by(Outlet.name)
    ).all()
    return [{"name": o.name, "kind": o.kind, "country": o.country, "articles": n} for o, n in rows]


def edit_history(session: Session, article_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Versions of the given articles that changed after first being seen (seq > 1 exists)."""
    rows = session.scalars(
        select(Version).where(Version.article_id.in_(list(article_ids))).order_by(Version.article_id, Version.seq)
    ).all()
    history: dict[int, list[dict[str, Any]]] = {}
    for v in rows:
        history.setdefault(v.article_id, []).append(
            {"seq": v.seq, "fetched_at": iso(v.fetched_at), "title": v.title, "text": v.text}
        )
    return {k: v for k, v in history.items() if len(v) > 1}


def outlet_names(session: Session) -> list[str]:
    return list(session.scalars(_OUTLET_NAMES))


@dataclass(frozen=True)
class PageCounts:
    """What the stories page shows beside its list: the database's counts, every outlet's name
    (the filter's choices) and how many stories the outlets filter hides."""

    stats: dict[str, int]
    outlets: list[str]
    hidden: int


# the counts and the number hidden in a first row, then one row per outlet name (kind 1), so the
# page needs one round trip for all three, not three: under concurrent requests each statement
# costs far more than its work on SQLite (the GIL is released and taken back around every step)
_PAGE_COUNTS = text(
    f"SELECT 0 AS kind, {', '.join(f'({sql}) AS {name}' for name, sql in COUNTS.items())}, "
    "(SELECT count(*) FROM stories) - (SELECT count(*) FROM reports WHERE outlets >= :min_outlets) AS hidden, "
    "NULL AS name "
    f"UNION ALL SELECT 1, {', '.join('NULL' for _ in COUNTS)}, NULL, name FROM outlets "
    "ORDER BY kind, name"
)


# SQLite: all of it in one row, the outlet names as one JSON array (sorted here: SQLite's binary
# collation is code point order, as Python's); every row fetched costs a step of the statement,
# which under concurrent requests means giving up the GIL and waiting to take it back
_PAGE_COUNTS_ONE_ROW = text(
    f"SELECT {', '.join(f'({sql}) AS {name}' for name, sql in COUNTS.items())}, "
    "(SELECT count(*) FROM stories) - (SELECT count(*) FROM reports WHERE outlets >= :min_outlets) AS hidden, "
    "(SELECT json_group_array(name) FROM outlets) AS names"
)


def page_counts(session: Session, min_outlets: int) -> PageCounts:
    """stats(), outlet_names() and count_below() in one statement."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        row = connection.execute(_PAGE_COUNTS_ONE_ROW, {"min_outlets": min_outlets}).one()
        stats = {name: int(row[n] or 0) for n, name in enumerate(COUNTS)}
        hidden = int(row[len(COUNTS)] or 0) if min_outlets > 1 else 0
        return PageCounts(stats, sorted(json.loads(row[-1] or "[]")), hidden)
    rows = connection.execute(_PAGE_COUNTS, {"min_outlets": min_outlets}).all()
    first = rows[0]
    stats = {name: int(first[1 + n] or 0) for n, name in enumerate(COUNTS)}
    hidden = int(first[1 + len(COUNTS)] or 0) if min_outlets > 1 else 0
    return PageCounts(stats, [row[-1] for row in rows[1:]], hidden)
