"""Response schemas of the JSON API (pydantic): they document every answer in /openapi.json and
on /docs, and FastAPI checks each answer against them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Error(BaseModel):
    error: str = Field(description="What was wrong, in words.")
    detail: list[str] | None = Field(None, description="One line per invalid parameter (422 only).")


class StoryItem(BaseModel):
    id: int
    title: str
    first_seen: str | None = Field(description="ISO 8601, UTC: the first article's publish time.")
    last_seen: str | None = Field(description="ISO 8601, UTC: the newest article's publish time.")
    status: str = Field(description="open or closed (no new article for STORYDIFF_STORY_QUIET_HOURS).")
    divergence_score: float | None = Field(description="0 (all agree) to 1; null before the first report.")
    outlets: int = Field(description="Number of outlets telling the story.")
    divergences: int = Field(description="Number of divergences in its report.")
    types: list[str] = Field(description="Divergence types present (numeric, quote, …).")
    relevance: int | None = Field(None, description="With a search sorted by relevance: the match score.")


class StoriesPage(BaseModel):
    stories: list[StoryItem]
    next_cursor: str | None = Field(description="Pass back as cursor for the next page; null on the last page.")
    sort: str
    sorts: list[str]
    min_outlets: int = Field(description="The min_outlets applied (default 2: single-outlet stories hidden).")


class StoryDetail(StoryItem):
    counts: dict[str, int] = Field(description="Divergences by type.")
    outlet_names: list[str] = Field(description="The outlets telling the story, in publishing order.")
    report: str = Field(description="URL of the full report.")
    page: str = Field(description="URL of the story's web page.")


class ArticleOriginal(BaseModel):
    id: int
    outlet: str
    title: str
    url: str | None
    story_id: int | None


class ArticleItem(BaseModel):
    id: int
    outlet: str
    title: str
    url: str | None
    published: str | None
    language: str | None
    original_id: int | None = Field(description="For a wire copy: the id of the article it copies.")
    story_id: int | None = Field(description="The story the article belongs to (null until clustered).")
    original: ArticleOriginal | None = Field(description="For a wire copy: the article it copies.")


class ArticlesPage(BaseModel):
    articles: list[ArticleItem]
    next_cursor: str | None = Field(description="Pass back as cursor for the next page; null on the last page.")


class OutletItem(BaseModel):
    name: str
    kind: str
    country: str | None
    articles: int


class FeedItem(BaseModel):
    id: int
    url: str
    title: str | None
    outlet: str
    kind: str
    country: str | None
    status: str = Field(description="ok, not_modified, warning, error or never fetched.")
    last_fetch: str | None
    last_success: str | None
    error_count: int
    last_error: str | None
    next_check: str | None


class Stats(BaseModel):
    feeds: int
    articles: int
    versions: int
    stories: int
    failing_feeds: int
    wire_copies: int


class Health(BaseModel):
    status: str = Field(description="ok, or degraded when the database or the broker does not answer.")
    database: str = Field(description="ok, or unreachable: the reason.")
    broker: str = Field(description="ok, not used (in-process scheduler), or unreachable: the reason.")
    error: str | None = Field(None, description="When degraded: every reason in one line.")
