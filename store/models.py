"""Tables of storydiff (SQLAlchemy 2.x). The schema itself is owned by Alembic
migrations in ``store/migrations``; these classes must match them (a test checks)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

OUTLET_KINDS = ("wire", "broadcaster", "newspaper", "state_media", "government", "aggregator")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, always returns aware UTC datetimes (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Outlet(Base):
    __tablename__ = "outlets"
    __table_args__ = (CheckConstraint(f"kind IN {OUTLET_KINDS!r}", name="ck_outlets_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="newspaper")
    country: Mapped[str | None] = mapped_column(String(2))
    feeds: Mapped[list[Feed]] = relationship(back_populates="outlet")


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"))
    title: Mapped[str | None] = mapped_column(String(500))
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_status: Mapped[str | None] = mapped_column(String(40))
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    min_interval_s: Mapped[int | None] = mapped_column(Integer)  # from <ttl> / Cache-Control
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # not fetched while paused
    outlet: Mapped[Outlet] = relationship(back_populates="feeds")


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(2100), unique=True)  # canonical URL, else guid:/hash:
    url: Mapped[str | None] = mapped_column(String(2000))
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    published: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    published_flag: Mapped[str | None] = mapped_column(String(20))  # missing/unparseable/future
    language: Mapped[str | None] = mapped_column(String(12))
    original_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    copy_similarity: Mapped[float | None] = mapped_column(Float)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)
    needs_fulltext: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    fulltext_error: Mapped[str | None] = mapped_column(Text)
    outlet: Mapped[Outlet] = relationship()
    versions: Mapped[list[Version]] = relationship(back_populates="article", order_by="Version.seq")


class ArticleFeed(Base):
    """One feed entry: which feed carried which article, under which entry id."""

    __tablename__ = "article_feeds"
    __table_args__ = (UniqueConstraint("feed_id", "entry_id", name="uq_article_feeds_entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[str] = mapped_column(String(2100))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class Version(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("article_id", "seq", name="uq_versions_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_source: Mapped[str] = mapped_column(String(20))  # feed / summary / extracted
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    article: Mapped[Article] = relationship(back_populates="versions")


class ArticleBand(Base):
    """MinHash LSH buckets: articles sharing a bucket are near-duplicate candidates. The bucket id
    embeds its band number; one B-tree on (bucket, article_id) serves inserts and lookups."""

    __tablename__ = "article_bands"
    __table_args__ = ({"sqlite_with_rowid": False},)

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    divergence_score: Mapped[float | None] = mapped_column(Float, index=True)


# The stories list sorted by divergence score (stories without a report last) reads this index in
# order and stops after a page, instead of sorting every story; the query must spell the expression
# exactly so (store/stories.py SCORE_ORDER: the literal, not a bound parameter).
SCORE_ORDER = func.coalesce(Story.divergence_score, literal_column("-1.0"))
Index("ix_stories_score_order", SCORE_ORDER, Story.id)


class StoryRedirect(Base):
    """A story merged into another: its id keeps working, pointing at the survivor (links and alert
    references never break). Chains are kept flat: a survivor merged later re-points its redirects."""

    __tablename__ = "story_redirects"

    from_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    to_id: Mapped[int] = mapped_column(Integer, index=True)


class StoryArticle(Base):
    """An article's membership of its story (one story per article), with the join score."""

    __tablename__ = "story_articles"
    __table_args__ = (Index("ix_story_articles_article_id", "article_id", unique=True),)

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)


class StoryTerm(Base):
    """The search index: one row per (term, story) with the term's integer weight in the story
    (store/search.py says how terms and weights are made). Derived data: compare/search_index.py
    rewrites a story's rows whenever the story changes, ``storydiff reindex`` rebuilds them all.
    Binary collation on PostgreSQL as on SQLite, so a prefix is one range of the primary key."""

    __tablename__ = "story_terms"
    __table_args__ = (Index("ix_story_terms_story_id", "story_id"), {"sqlite_with_rowid": False})

    term: Mapped[str] = mapped_column(
        String(100).with_variant(String(100, collation="C"), "postgresql"), primary_key=True
    )
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    weight: Mapped[int] = mapped_column(Integer)


class Report(Base):
    """A story's computed report (compare/report.py schema), stored so pages never recompute it.
    ``types`` is ",numeric,quote," for filtering; ``etag`` a hash of ``body``."""

    __tablename__ = "reports"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True)
    schema: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outlets: Mapped[int] = mapped_column(Integer, index=True)
    divergences: Mapped[int] = mapped_column(Integer)
    types: Mapped[str] = mapped_column(String(200))
    etag: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    alerts_matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # = computed_at once matched


class JobLock(Base):
    """One row per exclusive job; updating the row holds a write lock until commit."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApiToken(Base):
    """A bearer token for the write API; only its SHA-256 is stored (the token is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Subscription(Base):
    """Who wants which divergences, through which channel, how often (alerts/ package).

    Filters: ``words`` (every word in the story), ``outlets``/``kinds``/``types`` (comma lists, empty =
    any), ``min_severity``, ``min_score``; omissions and exclusives only when ``types`` names them.
    ``channel`` is webhook, apprise or atom (the private feed only); ``mode`` immediate or digest."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    words: Mapped[str] = mapped_column(String(500), default="")
    outlets: Mapped[str] = mapped_column(Text, default="")
    kinds: Mapped[str] = mapped_column(String(200), default="")
    types: Mapped[str] = mapped_column(String(200), default="")
    min_severity: Mapped[str] = mapped_column(String(10), default="medium")
    min_score: Mapped[float | None] = mapped_column(Float)
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(Text, default="")  # webhook URL or Apprise URL (secret: never shown whole)
    mode: Mapped[str] = mapped_column(String(10), default="immediate")
    digest_minutes: Mapped[int] = mapped_column(Integer, default=60)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    secret: Mapped[str] = mapped_column(String(100))  # webhook signing key (whsec_…)
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)  # the private Atom feed's URL part
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Alert(Base):
    """One divergence of one story matched by one subscription, in one state. The unique key makes
    a re-run, a retry, two workers or a restarted scheduler unable to create a second alert."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("subscription_id", "story_id", "key", "state", name="uq_alerts_state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    story_id: Mapped[int] = mapped_column(Integer, index=True)  # may later redirect (merged stories)
    key: Mapped[str] = mapped_column(String(40))  # which divergence (type, outlets, what it is about)
    state: Mapped[str] = mapped_column(String(40))  # its values and severity
    kind: Mapped[str] = mapped_column(String(10))  # new, escalated, updated
    type: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)  # JSON: story, divergence with evidence, report URL
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="SET NULL"), index=True)


class Delivery(Base):
    """One message to a channel (an immediate alert, or a digest of several), delivered at least
    once: ``uid`` is the stable webhook-id every retry reuses; ``lease_until`` guards a claim."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    """Every attempt to deliver: when, the HTTP status if any, the error if any."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean)
