"""Stories, story reports, exports and the JSON API over real HTTP, on SQLite and PostgreSQL,
with the demo corpus ingested through the real pipeline."""

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storydiff.cli import main
from storydiff.compare.store_reports import compare_story
from storydiff.store.models import Article, Feed, Outlet, Report, Story, StoryRedirect, Version
from tests.demo_story import ingest_demo
from tests.webserver import serve_app


@pytest.fixture
def demo_site(db):
    story_id = ingest_demo(db)
    with serve_app(db) as base, httpx.Client(base_url=base, timeout=20) as client:
        yield client, story_id, db


def test_stories_page_filters_sort_search(demo_site):
    client, story_id, _ = demo_site
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    assert re.findall(r'href="/stories/(\d+)"', page.text) == [str(story_id)]  # default: stories with ≥ 2 outlets
    for query, found in (
        ("?type=numeric", True),
        ("?type=quote&kind=state_media", True),
        ("?outlet=Danube+Daily", True),
        ("?q=ministers+hold", True),
        ("?q=lavrov+budapest", True),  # words of the members' titles and leads, not only the story title
        ("?q=northwind", True),  # an outlet's name
        ("?q=lavrov+penguins", False),  # every word must be found
        ("?q=penguins", False),
        ("?since=2030-01-01", False),
        ("?sort=score&min_outlets=2", True),
    ):
        html = client.get("/" + query).text
        assert (f'href="/stories/{story_id}"' in html) is found, query
    everything = client.get("/?min_outlets=1&sort=outlets").text
    ids = re.findall(r'href="/stories/(\d+)"', everything)
    assert ids[0] == str(story_id) and len(ids) == 24
    bad = client.get("/?sort=loudest")
    assert bad.status_code == 400 and "sort must be one of" in bad.text


def test_story_page_shows_divergences_highlights_matrix_and_pictures(demo_site):
    client, story_id, _ = demo_site
    html = client.get(f"/stories/{story_id}").text
    assert "<mark>21 civilians</mark>" in html and "<mark>18 civilians</mark>" in html
    assert re.search(r"<del>[^<]*prepared[^<]*</del>", html) and re.search(r"<ins>[^<]*ready[^<]*</ins>", html)
    assert "<mark>nothing was postponed</mark>" in html
    folded = html[html.index('<details class="minor">') :]  # what only some outlets carry: the name the others lack
    assert "<mark>Ryabkov</mark>" in folded and "Lavrov</mark>" not in folded  # every outlet names Lavrov
    assert 'class="heatmap"' in html and 'class="timeline"' in html and "<script" not in html
    assert html.count('<td class="contradicted"') >= 1 and html.count('<td class="carried"') >= 10
    assert re.search(r'<tr class="group g\d+" data-group="g\d+">', html)  # side by side: a row per claim group
    assert 'href="https://northwind.example/world/rubio-lavrov-meeting-tabled"' in html
    numeric_only = client.get(f"/stories/{story_id}?type=numeric").text
    assert set(re.findall(r'data-type="(\w+)"', numeric_only)) == {"numeric"}
    assert client.get(f"/stories/{story_id}?type=gossip").status_code == 400
    assert client.get("/stories/99999").status_code == 404


def test_exports_markdown_json_and_self_contained_html(demo_site):
    client, story_id, _ = demo_site
    md = client.get(f"/stories/{story_id}/export.md")
    assert md.headers["content-type"].startswith("text/markdown") and "attachment" in md.headers["content-disposition"]
    assert "**HIGH · numeric**" in md.text and "~~prepared~~" in md.text
    exported = client.get(f"/stories/{story_id}/export.json").json()
    assert exported == client.get(f"/api/stories/{story_id}/report").json()
    html = client.get(f"/stories/{story_id}/export.html").text
    assert "<svg" in html and "<mark>21 civilians</mark>" in html
    assert not re.search(r'<(script|link|img|iframe)\b|src="|href="/', html)  # nothing to fetch: self-contained
    assert client.get(f"/stories/{story_id}/export.pdf").status_code == 400


def test_api_stories_cursor_pagination_report_etag_and_errors(demo_site):
    client, story_id, _ = demo_site
    seen, cursor = [], None
    while True:
        params = {"limit": 5, "sort": "score", "min_outlets": 1} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/stories", params=params).json()
        seen += body["stories"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 24 and len({s["id"] for s in seen}) == 24
    scores = [s["divergence_score"] or 0 for s in seen]
    assert scores == sorted(scores, reverse=True) and seen[0]["id"] == story_id
    report = client.get(f"/api/stories/{story_id}/report")
    assert report.status_code == 200 and report.json()["schema"] == 1
    again = client.get(f"/api/stories/{story_id}/report", headers={"If-None-Match": report.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for url, status in (
        ("/api/stories?sort=loudest", 400),
        ("/api/stories?limit=0", 422),
        ("/api/stories?since=someday", 422),
        ("/api/stories?cursor=not-a-cursor", 400),
        ("/api/stories?type=gossip", 400),
        ("/api/stories/99999", 404),
        ("/api/stories/99999/report", 404),
        ("/api/stories/abc/report", 422),
        ("/api/articles?cursor=%%%", 400),
    ):
        answer = client.get(url)
        assert answer.status_code == status, (url, answer.text)
        assert answer.headers["content-type"] == "application/json" and answer.json()["error"], url
    articles, cursor = [], None
    while True:
        body = client.get("/api/articles", params={"limit": 7} | ({"cursor": cursor} if cursor else {})).json()
        articles += body["articles"]
        if not (cursor := body["next_cursor"]):
            break
    assert len({a["id"] for a in articles}) == 29
    assert {o["name"] for o in client.get("/api/outlets").json()} >= {"Courier Wire", "Danube Daily"}
    assert len(client.get("/api/feeds").json()) == 6
    docs = client.get("/docs").text
    assert "/api/stories/{story_id}/report" in docs and "next_cursor" in docs
    assert client.get("/openapi.json").json()["paths"]["/api/stories"]["get"]["parameters"]
    assert client.get("/healthz").json()["database"] == "ok"


def test_story_page_shows_the_edit_history_of_a_changed_article(demo_site):
    client, story_id, db = demo_site
    with db() as s:
        article = s.scalar(select(Article).where(Article.url.like("%rubio-lavrov-meeting-tabled%")))
        old = s.scalar(select(Version).where(Version.article_id == article.id).order_by(Version.seq.desc()))
        s.add(
            Version(
                article_id=article.id, seq=old.seq + 1, title=old.title + " (updated)", summary=old.summary,
                text=old.text.replace("killed 18 civilians", "killed 19 civilians"), text_source=old.text_source,
                content_hash="edit", fetched_at=datetime.now(UTC) + timedelta(seconds=1),
            )
        )  # fmt: skip
        s.commit()
        compare_story(s, story_id)
    html = client.get(f"/stories/{story_id}").text
    assert "Edit history" in html and "<del>18</del> <ins>19</ins>" in html and "<ins>(updated)</ins>" in html
    assert "<mark>19 civilians</mark>" in html  # the stored report was recomputed, the page cache followed it


def test_cli_stories_and_report(demo_site):
    _, story_id, _ = demo_site
    runner = CliRunner()
    listed = runner.invoke(main, ["stories", "--json", "--min-outlets", "2"])
    assert listed.exit_code == 0, listed.output
    assert [s["id"] for s in json.loads(listed.output)] == [story_id]
    text = runner.invoke(main, ["report", str(story_id)])
    assert text.exit_code == 0 and "numeric" in text.output and "21 civilians" in text.output
    as_json = runner.invoke(main, ["report", str(story_id), "--format", "json"])
    assert json.loads(as_json.output)["story_id"] == story_id
    md = runner.invoke(main, ["report", str(story_id), "--format", "markdown"])
    assert "**HIGH · numeric**" in md.output
    missing = runner.invoke(main, ["report", "99999"])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_low_severity_omissions_and_exclusives_are_folded_away(demo_site):
    client, story_id, _ = demo_site
    html = client.get(f"/stories/{story_id}").text
    folded = html.split('<details class="minor">', 1)
    assert len(folded) == 2 and "low-severity omissions and exclusives" in folded[1]
    assert 'data-type="numeric"' in folded[0] and 'data-type="contradiction"' in folded[0]
    assert all(f'data-type="{t}"' not in folded[1] for t in ("numeric", "quote", "contradiction"))
    assert '<details class="outlet"><summary>Only ' in folded[1]  # folded again per outlet
    unfolded = client.get(f"/stories/{story_id}?type=exclusive").text
    assert '<details class="minor">' not in unfolded and 'data-type="exclusive"' in unfolded


def test_ranked_search_in_the_api_the_page_and_the_cli(demo_site):
    client, story_id, _ = demo_site
    body = client.get("/api/stories", params={"q": "Lavrov’s Budapest"}).json()
    assert body["sort"] == "relevance" and body["stories"][0]["id"] == story_id
    assert body["stories"][0]["relevance"] > 0
    assert client.get("/api/stories", params={"q": "lavrov", "sort": "score"}).json()["sort"] == "score"
    seen, cursor = [], None
    while True:  # relevance pages: every story that names the outlet, once (single-outlet ones too)
        params = {"q": "northwind", "limit": 2, "min_outlets": 1} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/stories", params=params).json()
        seen += [(s["relevance"], s["id"]) for s in page["stories"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == sorted(set(seen), reverse=True) and len(seen) >= 3 and seen[0][1] == story_id
    for url, message in (
        ("/api/stories?q=the+of", "only common words"),
        ("/api/stories?q=%21%3F", "no words to search for"),
        ("/api/stories?sort=relevance", "sort=relevance ranks the results of a search"),
    ):
        answer = client.get(url)
        assert answer.status_code == 400 and message in answer.json()["error"], url
    html = client.get("/", params={"q": "rubio"}).text
    assert f'href="/stories/{story_id}"' in html and '<option value="" selected>best match' in html
    assert client.get("/", params={"q": "the"}).status_code == 400
    assert client.get("/", params={"sort": "relevance"}).status_code == 200  # the search box was cleared
    runner = CliRunner()
    listed = runner.invoke(main, ["stories", "--search", "sergei lavrov", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)[0]["id"] == story_id
    refused = runner.invoke(main, ["stories", "--search", "the"])
    assert refused.exit_code == 2 and "only common words" in refused.output
    rebuilt = runner.invoke(main, ["reindex"])
    assert rebuilt.exit_code == 0 and "search index rebuilt: 24 stories" in rebuilt.output


def test_a_merged_story_id_redirects_to_the_survivor(demo_site):
    client, story_id, db = demo_site
    with db.begin() as s:
        s.add(StoryRedirect(from_id=story_id + 1000, to_id=story_id))
    gone = story_id + 1000
    page = client.get(f"/stories/{gone}?type=numeric")
    assert page.status_code == 301 and page.headers["location"] == f"/stories/{story_id}?type=numeric"
    api = client.get(f"/api/stories/{gone}/report")
    assert api.status_code == 301 and api.headers["location"] == f"/api/stories/{story_id}/report"
    followed = client.get(f"/api/stories/{gone}", follow_redirects=True)
    assert followed.status_code == 200 and followed.json()["id"] == story_id
    missing = client.get(f"/api/stories/{story_id + 2000}")
    assert missing.status_code == 404 and "does not exist" in missing.json()["error"]


def test_cached_pages_follow_the_data_and_answer_304(demo_site):
    """The stories list and the story page are kept rendered (web/pagecache.py); every change of what
    they show — a title, a report, a count in the header, an outlet, a recomputed report — is on the
    next view, with a new ETag; an unchanged page answers If-None-Match with 304 and goes out gzipped
    to a client that takes gzip."""
    client, story_id, db = demo_site
    plain = {"Accept-Encoding": "identity"}

    def view(path: str) -> tuple[str, str]:
        first = client.get(path)
        assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
        assert first.headers["cache-control"] == "no-cache" and first.headers["vary"] == "Accept-Encoding"
        again = client.get(path, headers=plain)  # from the cache, not compressed: the same page
        assert "content-encoding" not in again.headers and again.text == first.text
        assert again.headers["etag"] == first.headers["etag"]
        assert client.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
        return first.text, first.headers["etag"]

    def changed(path: str, etag: str) -> str:
        """The page after a change: a new ETag, and the old one no longer gets a 304."""
        page = client.get(path, headers={"If-None-Match": etag})
        assert page.status_code == 200 and page.headers["etag"] != etag
        return page.text

    html, etag = view("/")
    assert f'href="/stories/{story_id}"' in html and "1 stories ·" not in html
    with db.begin() as s:  # a story's title, written straight into the table (no report recomputed)
        story = s.get(Story, story_id)
        title, story.title = story.title, "Renamed while cached"
    html = changed("/", etag)
    assert "Renamed while cached" in html and title not in html
    html, etag = view("/")
    with db.begin() as s:  # a count in the header: one more feed (of a new outlet, listed in the form)
        outlet = Outlet(name="Cache Test Outlet", kind="wire")
        s.add(outlet)
        s.flush()
        now = datetime.now(UTC)
        s.add(Feed(url="http://127.0.0.1:9/cache.xml", outlet_id=outlet.id, next_check_at=now, created_at=now))
    feeds = int(re.search(r"(\d+) feeds ·", html).group(1))
    html = changed("/", etag)
    assert f"{feeds + 1} feeds ·" in html and '<option value="Cache Test Outlet">' in html
    _, etag = view("/")
    with db.begin() as s:  # a report's numbers: the outlets column and the divergence types
        report = s.get(Report, story_id)
        report.outlets, report.types = 99, ",framing,"
    html = changed("/", etag)
    row = html[html.index(f'href="/stories/{story_id}"') :]
    assert "<span>99</span>" in row[:600] and 't-framing">framing' in row[:900] and 't-numeric"' not in row[:900]

    page, etag = view(f"/stories/{story_id}")
    assert client.get(f"/stories/{story_id}", headers={"If-None-Match": f'W/"x", {etag}'}).status_code == 304
    with db() as s:  # an edited article: its report is recomputed, the page follows the new report
        article = s.scalar(select(Article).where(Article.url.like("%rubio-lavrov-meeting-tabled%")))
        old = s.scalar(select(Version).where(Version.article_id == article.id).order_by(Version.seq.desc()))
        s.add(
            Version(
                article_id=article.id, seq=old.seq + 1, title=old.title, summary=old.summary,
                text=old.text.replace("killed 18 civilians", "killed 17 civilians"), text_source=old.text_source,
                content_hash="cache-edit", fetched_at=datetime.now(UTC) + timedelta(seconds=1),
            )
        )  # fmt: skip
        s.commit()
        compare_story(s, story_id)
    assert "<mark>17 civilians</mark>" not in page
    assert "<mark>17 civilians</mark>" in changed(f"/stories/{story_id}", etag)
    _, numeric_etag = view(f"/stories/{story_id}?type=numeric")  # each filter is its own page
    assert numeric_etag != client.get(f"/stories/{story_id}").headers["etag"]


def test_page_reads_run_in_the_event_loop_on_sqlite_and_in_the_thread_pool_on_a_database_server(db):
    """On SQLite a page's quick reads run in the event loop (a file in this process: the hop to a
    worker thread and back cost more than the reads); on PostgreSQL, and a search anywhere, in the
    thread pool, so a network round trip or a longer read never holds the other requests."""
    import asyncio
    import threading

    from storydiff.web.pagecache import on_database

    def work() -> tuple[int, int]:
        with db() as session:
            return threading.get_ident(), session.execute(select(1)).scalar_one()

    async def request() -> tuple[int, tuple[int, int]]:
        return threading.get_ident(), await on_database(db, work)

    async def search() -> tuple[int, tuple[int, int]]:  # a longer read: the thread pool everywhere
        return threading.get_ident(), await on_database(db, work, quick=False)

    loop_thread, (ran_on, value) = asyncio.run(request())
    assert value == 1
    assert (ran_on == loop_thread) is (db.kw["bind"].dialect.name == "sqlite")
    loop_thread, (ran_on, value) = asyncio.run(search())
    assert value == 1 and ran_on != loop_thread
