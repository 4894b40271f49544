"""The storydiff command line against a real database and a real feed server."""

import json
import os
import subprocess
import sys

import listparser
from click.testing import CliRunner

from storydiff.cli import main
from tests.feedserver import rss


def run(*args):
    result = CliRunner(env={"COLUMNS": "300"}).invoke(main, list(args), catch_exceptions=False)
    return result


def test_feeds_add_list_export_import_roundtrip(db, feed_server, tmp_path):
    url = feed_server.add("/feed", rss([{"title": "One", "link": "http://ex.com/1"}]))
    assert (
        "added: feed 1"
        in run("feeds", "add", url, "--outlet", "Kremlin", "--kind", "government", "--country", "ru").output
    )
    assert "already known" in run("feeds", "add", url, "--outlet", "Kremlin").output
    bad = run("feeds", "add", "ftp://x", "--outlet", "X")
    assert bad.exit_code == 2 and "not an http(s) URL" in bad.output
    listed = json.loads(run("feeds", "list", "--json").output)
    assert listed[0]["outlet"] == "Kremlin" and listed[0]["kind"] == "government" and listed[0]["country"] == "RU"
    assert listed[0]["status"] == "never fetched" and listed[0]["error_count"] == 0
    out = tmp_path / "feeds.opml"
    assert run("feeds", "export", "--opml", "-o", str(out)).exit_code == 0
    parsed = listparser.parse(out.read_bytes())
    assert [f.url for f in parsed.feeds] == [url]
    assert run("feeds", "export").output == out.read_text()  # OPML is the default; --opml is optional
    # import into a second database: outlet metadata survives the round trip
    toml = tmp_path / "more.toml"
    toml.write_text(
        '[[outlet]]\nname = "TASS"\nkind = "state_media"\ncountry = "RU"\nfeeds = ["http://tass.example/rss"]\n'
    )
    assert "imported 1 new feeds (0 already known)" in run("feeds", "import", str(toml)).output
    assert "imported 0 new feeds (1 already known)" in run("feeds", "import", str(out)).output
    kinds = {f["outlet"]: f["kind"] for f in json.loads(run("feeds", "list", "--json").output)}
    assert kinds == {"Kremlin": "government", "TASS": "state_media"}
    broken = tmp_path / "broken.toml"
    broken.write_text('[[outlet]]\nname = "X"\nkind = "blog"\nfeeds = ["http://x.example/rss"]\n')
    result = run("feeds", "import", str(broken))
    assert result.exit_code == 2 and "unknown outlet kind 'blog'" in result.output


def test_ingest_once_summary_and_stats(db, feed_server):
    good = feed_server.add("/good", rss([{"title": f"T{n}", "link": f"http://ex.com/{n}"} for n in range(3)]))
    bad = feed_server.add("/bad", "nope", status=503, headers={"Retry-After": "120"})
    run("feeds", "add", good, "--outlet", "Good")
    run("feeds", "add", bad, "--outlet", "Bad")
    result = run("ingest", "--once", "--no-fulltext")
    assert result.exit_code == 0
    assert "2 feeds: 3 new, 0 updated, 0 unchanged articles; 1 feeds failed" in result.output
    assert "HTTP 503" in result.output
    stats = json.loads(run("stats", "--json").output)
    assert stats["feeds"] == 2 and stats["articles"] == 3 and stats["failing_feeds"] == 1
    assert {"feeds", "articles", "versions", "stories", "failing_feeds"} <= set(stats)
    listing = run("feeds", "list").output
    assert "error" in listing and "HTTP 503" in listing
    again = run("ingest", "--once")  # nothing is due any more
    assert "0 feeds" in again.output
    plain = run("ingest", "--all", "--no-fulltext")  # --once is optional: ingest always runs once
    assert plain.exit_code == 0 and "2 feeds: 0 new, 0 updated, 3 unchanged articles; 1 feeds failed" in plain.output
    assert "HTTP 503" in plain.output


def test_ingest_summary_lists_only_feeds_with_something_to_say(db, feed_server):
    item = {"title": "T", "link": "http://ex.com/1", "pubDate": "Mon, 20 Oct 2025 10:00:00 GMT"}
    quiet = feed_server.add("/quiet", rss([item]), etag='"v1"')
    bad = feed_server.add("/bad", "nope", status=503)
    run("feeds", "add", quiet, "--outlet", "Quiet")
    run("feeds", "add", bad, "--outlet", "Bad")
    first = run("ingest", "--all", "--no-fulltext").output
    assert "/quiet" in first and "/bad" in first  # new items, and an error: both rows of the table
    second = run("ingest", "--all", "--no-fulltext").output  # the quiet feed answers 304
    assert "/bad" in second and "HTTP 503" in second and "/quiet" not in second
    assert "1 feeds with nothing new: 1 not modified" in second


def test_ingest_through_a_step_leaves_the_rest_to_the_next_run(db, feed_server, monkeypatch):
    monkeypatch.setenv("STORYDIFF_FULLTEXT", "0")  # the feed's text is the article: nothing waits for a page
    items = [
        {"title": f"Harbour ferry strike enters day {n}", "link": f"http://ex.com/{n}", "description": "Ferries stop."}
        for n in range(3)
    ]
    run("feeds", "add", feed_server.add("/a", rss(items)), "--outlet", "A")
    first = run("ingest", "--all", "--through", "ingest")
    assert first.exit_code == 0 and "1 feeds: 3 new" in first.output
    assert "stopped after ingest" in first.output and "stories:" not in first.output
    assert json.loads(run("stats", "--json").output)["stories"] == 0  # stored, not clustered yet
    second = run("ingest", "--all", "--through", "cluster")  # the next run clusters them
    assert "stories: 3 articles clustered" in second.output and "reports:" not in second.output
    assert json.loads(run("stats", "--json").output)["stories"] >= 1
    assert run("ingest", "--through", "nowhere").exit_code == 2  # an unknown step is a usage error


def test_console_script_is_installed(tmp_path):
    env = {**os.environ, "STORYDIFF_DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "storydiff.cli", "stats", "--json"], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout)["feeds"] == 0


def test_compare_command_offline_json_markdown_and_bad_input(tmp_path):
    """`storydiff compare` as a user runs it: a real subprocess, no database, network or shared data."""
    flood = os.path.join(os.path.dirname(__file__), "fixtures", "flood_toll.jsonl")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["STORYDIFF_SHARED_DATA"] = str(tmp_path / "nowhere")
    env["STORYDIFF_DATA_DIR"] = str(tmp_path / "data")

    def storydiff(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "storydiff.cli", *args], capture_output=True, text=True, env=env, timeout=120
        )

    out = storydiff("compare", flood, "--min-outlets", "2", "--format", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["schema"] == 1 and len(result["stories"]) == 1
    types = {d["type"] for d in result["stories"][0]["divergences"]}
    assert {"numeric", "quote", "attribution", "contradiction", "framing", "omission", "exclusive"} <= types
    assert not (tmp_path / "data").exists()  # nothing written: no database was opened
    markdown = storydiff("compare", flood, "--format", "markdown")
    assert markdown.returncode == 0 and "**HIGH · numeric**" in markdown.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"outlet": "A", "text": "Fine."}\n{"outlet": "B", "text": "x", "published": "yesterday"}\n')
    failed = storydiff("compare", str(bad))
    assert failed.returncode == 2 and "line 2: 'published'" in failed.stderr
    not_json = tmp_path / "not.jsonl"
    not_json.write_text("<html>\n")
    failed = storydiff("compare", str(not_json))
    assert failed.returncode == 2 and "line 1: not valid JSON" in failed.stderr


FOLDED_STORY = [  # invented: one outlet carries five facts with names and numbers the others never mention
    (
        "Alpha Post",
        "Mayor Lena Ortiz told the Harbour Council on Monday that the ferry pier would close. Engineer Tomas Brandt "
        "found 14 cracked pilings under the pier. Contractor Vela Marine bid 2.3 million euros for the repairs. "
        "Diver Anke Sommer inspected 40 metres of the seawall. Ferry operator Nordlys Lines cancelled 12 sailings "
        "this week. Harbour Master Jonas Weber of Eastport moved the ferries to the north quay.",
    ),
    (
        "Beta Daily",
        "Mayor Lena Ortiz said the ferry pier will shut, the Harbour Council heard. Councillors gathered at the town "
        "hall on Monday evening. Weber declined to comment. The public gallery was full for the debate.",
    ),
    (
        "Gamma News",
        "The Harbour Council was told by Mayor Lena Ortiz that the pier is closing. The harbour town council debated "
        "the budget on Monday. The vote is due next week. Local shops stayed open.",
    ),
]


def test_the_text_report_folds_each_outlets_omissions_and_exclusives_and_names_what_the_others_lack(tmp_path):
    story = tmp_path / "pier.jsonl"
    story.write_text(
        "".join(
            json.dumps({"outlet": outlet, "title": "Pier to close", "text": text, "published": f"2026-03-02T0{n}:00Z"})
            + "\n"
            for n, (outlet, text) in enumerate(FOLDED_STORY)
        )
    )

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # a pipe: lines as long as they need

    def compare(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "storydiff.cli", "compare", str(story), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    text = compare()
    assert "No number, quote, source, name or contradiction differs" in text
    assert " Only Alpha Post reports: 5\n" in text and "+2 more (--all lists every one)" in text
    shown = [line for line in text.splitlines() if line.startswith(" exclusive ") and "Alpha Post" in line]
    assert len(shown) == 3  # the first three of Alpha Post's fold
    assert "[never mentioned by the others: Tomas Brandt; 14 cracked]" in shown[0]
    assert "Engineer" not in shown[0].split("[never", 1)[1]  # the sentence's opening word is not a name
    everything = compare("--all")
    assert "more (--all" not in everything
    weber = next(line for line in everything.splitlines() if "Jonas Weber" in line)
    assert "never mentioned" not in weber  # Beta Daily names Weber
    assert "Nordlys Lines; 12 sailings" in everything
    markdown = compare("--format", "markdown")  # a document: every item, each with what the others lack
    assert markdown.count("Only Alpha Post reports") == 5
    assert "_(never mentioned by the others: Tomas Brandt; 14 cracked)_" in markdown


def test_a_database_that_does_not_answer_is_one_line_with_its_url_and_no_password(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://reader:hunter2@127.0.0.1:1/news"}  # nothing listens on port 1
    sqlite_dir = tmp_path / "not-a-file.db"
    sqlite_dir.mkdir()  # a directory where the SQLite file should be: it cannot be opened
    for url in (env["DATABASE_URL"], f"sqlite:///{sqlite_dir}"):
        for command in (["stats"], ["stories"]):
            done = subprocess.run(
                [sys.executable, "-m", "storydiff.cli", *command],
                capture_output=True,
                text=True,
                timeout=120,
                env={**env, "DATABASE_URL": url},
                cwd=tmp_path,
            )
            assert done.returncode == 2, done.stderr[-2000:]
            assert "cannot reach the database" in done.stderr and "Traceback" not in done.stderr
            assert "hunter2" not in done.stderr
