"""Issue 14, the first hour with storydiff: what a new user meets, run as they run it — the
installed command in a real subprocess, the README's commands verbatim, real files and servers."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import need
from tests.webserver import free_port

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
FLOOD = ROOT / "tests" / "fixtures" / "flood_toll.jsonl"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a new user: a fresh HOME, no storydiff variables, no colours forced."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STORYDIFF_")
        and k not in ("DATABASE_URL", "REDIS_URL", "XDG_DATA_HOME", "NO_COLOR", "FORCE_COLOR", "COLUMNS")
    }
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir(exist_ok=True)
    env.update(extra)
    return env


def storydiff(*args: str, env: dict[str, str], cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "storydiff"), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=180, **kw
    )


@contextmanager
def running_demo(env: dict[str, str], cwd: Path, *args: str) -> Iterator[tuple[subprocess.Popen, list[str], int]]:
    """`storydiff demo --no-browser` in a subprocess; yields it once it serves, with its output lines."""
    port = free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "storydiff"), "demo", "--no-browser", "--port", str(port), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while not any(line.startswith("demo: open") for line in lines):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            lines.append(line)
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
                time.sleep(0.3)
        yield proc, lines, port
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def readme_block(section: str, n: int = 0) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", part, re.S)[n]


def checkout_copy(tmp_path: Path) -> Path:
    """A working directory that looks like the checkout (its .venv and tests), so the README's
    relative paths resolve and files the commands write land in the test's tmp dir."""
    need((ROOT / ".venv" / "bin" / "activate").exists(), "the README's .venv is missing (run scripts/test.sh)")
    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    (work / "tests").symlink_to(ROOT / "tests")
    return work


# --- 1. the demo's database is in a stated place; the README's "Using it" works verbatim ------


def test_demo_keeps_its_database_in_the_user_data_dir_and_the_readme_commands_work(tmp_path):
    work = checkout_copy(tmp_path)
    env = clean_env(tmp_path)
    expected = tmp_path / "home" / ".local" / "share" / "storydiff" / "demo"
    with running_demo(env, work) as (_, lines, _port):
        out = "".join(lines)
        assert f"database {expected / 'storydiff.db'}" in out, out
        assert f"export STORYDIFF_DATA_DIR={expected}" in out, out
        printed = [line.strip() for line in lines if line.startswith("  ")]
        # the printed commands, run as printed, read the demo's database
        shown = subprocess.run(
            ["bash", "-c", "\n".join(printed[:2])], cwd=work, env=env, capture_output=True, text=True, timeout=120
        )
        assert shown.returncode == 0, shown.stderr
        assert "US-Russia foreign ministers" in shown.stdout
        # the README's "Using it" block, verbatim, in a shell like the user's
        block = readme_block("Using it")
        assert "source .venv/bin/activate" in block and "STORYDIFF_DATA_DIR" in block
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "US-Russia foreign ministers' meeting put on hold" in result.stdout
        assert "[-" in result.stdout and "{+" in result.stdout  # the report in a pipe keeps its diff
        assert "Courier Wire" in result.stdout  # feeds list
        assert "# US-Russia foreign ministers" in (work / "story-13.md").read_text(encoding="utf-8")
        assert json.loads((work / "flood.json").read_text(encoding="utf-8"))["stories"]
    # kept after the demo stopped, in the place it named; the CLI still reads it
    assert (expected / "storydiff.db").is_file()
    stats = storydiff("stats", "--json", env=env | {"STORYDIFF_DATA_DIR": str(expected)})
    assert json.loads(stats.stdout)["stories"] >= 20
    # XDG_DATA_HOME is honoured
    xdg = tmp_path / "xdg"
    with running_demo(env | {"XDG_DATA_HOME": str(xdg)}, work) as (_, lines, _port):
        assert f"export STORYDIFF_DATA_DIR={xdg / 'storydiff' / 'demo'}" in "".join(lines)
    assert (xdg / "storydiff" / "demo" / "storydiff.db").is_file()


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(args: list[str], env: dict[str, str], columns: int = 80) -> tuple[int, str, str]:
    """Run a command on a real pseudo-terminal of the given width; (exit code, text, raw output)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, columns, 0, 0))
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env | {"TERM": "xterm-256color"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=120)
    raw = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return proc.returncode, ANSI.sub("", raw), raw


def table_cells(text: str) -> list[list[list[str]]]:
    """The body rows of a rich table (show_lines=True): per row, per column, the cell's lines."""
    rows: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if line.startswith(("├", "└", "┡")):
            if current:
                rows.append(current)
            current = []
            continue
        if line.startswith("│") and current is not None:
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if not current:
                current = [[] for _ in cells]
            for column, cell in zip(current, cells, strict=True):
                if cell:
                    column.append(cell)
    return rows


@pytest.fixture
def demo_db(tmp_path, monkeypatch):
    """The demo corpus ingested, clustered and compared into a fresh SQLite data dir."""
    from storydiff.store import open_database
    from tests.demo_story import ingest_demo

    data = tmp_path / "demo-data"
    monkeypatch.setenv("STORYDIFF_DATA_DIR", str(data))
    engine, factory = open_database()
    story_id = ingest_demo(factory)
    engine.dispose()
    return data, story_id


# --- 2. one min-outlets default everywhere, and the lists say what they hide --------------------


def test_single_outlet_stories_are_hidden_everywhere_and_the_lists_say_so(demo_db, tmp_path):
    data, story_id = demo_db
    env = clean_env(tmp_path, STORYDIFF_DATA_DIR=str(data))
    listed = storydiff("stories", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "US-Russia foreign ministers" in listed.stdout and "Chain Bridge" not in listed.stdout
    assert "told by fewer hidden (--min-outlets 1 shows every story)" in listed.stdout
    assert json.loads(storydiff("stories", "--json", env=env).stdout)[0]["id"] == story_id
    assert len(json.loads(storydiff("stories", "--json", "--min-outlets", "1", env=env).stdout)) == 24
    # compare (offline): the same default, and a note on what it left out
    flood = storydiff("compare", str(FLOOD), "--format", "json", env=env)
    result = json.loads(flood.stdout)
    assert result["min_outlets"] == 2 and all(len(s["outlets"]) >= 2 for s in result["stories"])
    mixed = tmp_path / "mixed.jsonl"
    extra = {
        "outlet": "Lone Gazette",
        "title": "Village fete draws record crowd",
        "text": "The village fete drew a record crowd of 900 on Sunday, organisers said.",
    }
    mixed.write_text(FLOOD.read_text(encoding="utf-8") + json.dumps(extra) + "\n", encoding="utf-8")
    text = storydiff("compare", str(mixed), env=env)
    hidden = result["hidden_stories"] + 1  # the fixture has single-outlet stories of its own
    assert f"{hidden} stories told by fewer than 2 outlets not shown (--min-outlets 1 shows every story)" in text.stdout
    assert "Village fete" not in text.stdout
    assert "Village fete" in storydiff("compare", str(mixed), "--min-outlets", "1", env=env).stdout


def test_api_lists_default_to_two_outlets(demo_db):
    from storydiff.store import open_database
    from tests.webserver import serve_app

    _, story_id = demo_db
    engine, factory = open_database()
    with serve_app(factory) as base:
        body = json.load(urllib.request.urlopen(base + "/api/stories"))
        assert body["min_outlets"] == 2 and [s["id"] for s in body["stories"]] == [story_id]
        every = json.load(urllib.request.urlopen(base + "/api/stories?min_outlets=1&limit=100"))
        assert len(every["stories"]) == 24
        page = urllib.request.urlopen(base + "/").read().decode()
        assert "23 stories told by fewer are hidden" in page and 'href="/?min_outlets=1"' in page
    engine.dispose()


# --- 3. compare prints the readable report by default ----------------------------------------


def test_compare_defaults_to_the_text_report_and_json_on_request(tmp_path):
    env = clean_env(tmp_path, STORYDIFF_DATA_DIR=str(tmp_path / "data"))
    text = storydiff("compare", str(FLOOD), env=env)
    assert text.returncode == 0, text.stderr
    assert not text.stdout.lstrip().startswith("{")
    assert "Divergences (" in text.stdout and "Agreement" in text.stdout
    assert re.search(r"\[-[^\]]+-\]\{\+[^}]+\+\}", text.stdout)  # the quote diff, readable in a pipe
    as_json = json.loads(storydiff("compare", str(FLOOD), "--format", "json", env=env).stdout)
    assert as_json["schema"] == 1
    # on a terminal: the same renderer as `storydiff report`, in colour, no markers
    code, shown, raw = in_terminal([str(VENV_BIN / "storydiff"), "compare", str(FLOOD)], env, columns=120)
    assert code == 0 and "Divergences (" in shown and "[-" not in shown and "\x1b[" in raw


# --- 4. output that is piped or narrow keeps everything -----------------------------------------


def test_report_in_a_pipe_has_word_diff_markers_and_colour_on_a_terminal(demo_db, tmp_path):
    data, story_id = demo_db
    env = clean_env(tmp_path, STORYDIFF_DATA_DIR=str(data))
    piped = storydiff("report", str(story_id), env=env)
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout
    assert "word diff: we are [-prepared-]{+ready+} to" in piped.stdout
    assert "killed {=21 civilians=}" in piped.stdout and "killed {=18 civilians=}" in piped.stdout
    code, shown, raw = in_terminal([str(VENV_BIN / "storydiff"), "report", str(story_id)], env, columns=120)
    assert code == 0 and "[-prepared-]" not in shown
    assert re.search(r"\x1b\[(?:\d+;)*9(?:;\d+)*m", raw)  # strike-through on the terminal
    code, shown, raw = in_terminal([str(VENV_BIN / "storydiff"), "report", str(story_id)], env | {"NO_COLOR": "1"})
    assert code == 0 and "[-prepared-]{+ready+}" in shown


def test_feeds_list_and_ingest_summary_cut_nothing_at_80_columns(tmp_path, feed_server):
    from tests.feedserver import rss

    env = clean_env(tmp_path, STORYDIFF_DATA_DIR=str(tmp_path / "data"), STORYDIFF_ALLOW_PRIVATE_URLS="1")
    good = feed_server.add(
        "/feeds/world/top-stories/international-edition.rss", rss([{"title": "One", "link": "http://ex.com/1"}])
    )
    gone = feed_server.add("/feeds/regional/archive/closed-section-feed.rss", "gone", status=410)
    names = {good: "Courier Wire International Edition", gone: "Northwind Regional Broadcasting Service"}
    for url, name in names.items():
        assert storydiff("feeds", "add", url, "--outlet", name, env=env).returncode == 0
    ingest = storydiff("ingest", "--no-fulltext", env=env | {"COLUMNS": "80"})
    assert ingest.returncode == 0  # one feed failed, one worked: a normal run
    error = json.loads(storydiff("feeds", "list", "--json", env=env).stdout)
    message = next(f["last_error"] for f in error if f["url"] == gone)
    assert len(message) > 40

    def squeezed(value: str) -> str:
        return re.sub(r"\s", "", value)

    listing = in_terminal([str(VENV_BIN / "storydiff"), "feeds", "list"], env)[1]
    for text in (ingest.stdout, listing):
        assert "…" not in text
        assert max(len(line) for line in text.splitlines()) <= 80
        cells = [squeezed("".join(column)) for row in table_cells(text) for column in row]
        for url in names:
            assert any(url in cell for cell in cells), (url, text)
        assert any(squeezed(message) in cell for cell in cells), (message, text)
    for name in names.values():
        assert any(squeezed(name) in cell for cell in (squeezed("".join(c)) for r in table_cells(listing) for c in r))
    piped = storydiff("feeds", "list", env=env)  # a pipe has no width: one line per feed field
    assert all(url in piped.stdout and name in piped.stdout for url, name in names.items())


# --- 5. no network: say what was added, what failed and why ---------------------------------------


def offline(*args: str) -> list[str]:
    """The command in a new network namespace with no network at all (not even DNS)."""
    return ["unshare", "--net", "--", *args]


def test_offline_first_run_says_what_happened(tmp_path, monkeypatch):
    need(
        shutil.which("unshare") and subprocess.run(offline("true")).returncode == 0, "unshare --net (util-linux, root)"
    )
    data = tmp_path / "data"
    env = clean_env(tmp_path, STORYDIFF_DATA_DIR=str(data), STORYDIFF_SCHEDULER_TICK="3600", STORYDIFF_FULLTEXT="0")
    port = free_port()
    proc = subprocess.Popen(
        offline(str(VENV_BIN / "storydiff"), "serve", "--port", str(port)),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while not any("every feed failed" in line for line in lines):
            line = proc.stdout.readline()
            assert (line or proc.poll() is None) and time.monotonic() < deadline, "".join(lines)
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    out = "".join(lines)
    assert re.search(r"the database had no feeds, so \d+ default feeds of \d+ outlets were added \(.*CNN", out), out
    assert "STORYDIFF_DEFAULT_FEEDS=0 turns this off" in out
    assert "no host name could be resolved — no answer from DNS: is this machine offline" in out
    # each feed's error blames the network, not the URL
    feeds = json.loads(storydiff("feeds", "list", "--json", env=env).stdout)
    assert feeds and all(f["status"] == "error" for f in feeds)
    assert all("no answer from DNS: is this machine offline" in f["last_error"] for f in feeds), feeds[0]
    assert not any("check the URL" in f["last_error"] for f in feeds)
    # the empty stories page says why it is empty and where to look, not "lower Outlets at least"
    from storydiff.store import open_database
    from tests.webserver import serve_app

    monkeypatch.setenv("STORYDIFF_DATA_DIR", str(data))
    engine, factory = open_database()
    with serve_app(factory) as base:
        page = urllib.request.urlopen(base + "/").read().decode()
        assert f"No articles yet: {len(feeds)} feeds, <b>{len(feeds)} failing</b>" in page
        assert 'href="/feeds"' in page and "Outlets at least” to 1" not in page
    engine.dispose()
    # ingest: every feed failed is a failure (exit 1) with the likely cause
    run = subprocess.run(
        offline(str(VENV_BIN / "storydiff"), "ingest", "--all"), env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "every feed failed" in run.stderr and "is this machine offline" in run.stderr


# --- 6. API and pages: paging, links, full story fields, any-case outlets, JSON errors, docs ---------


def test_api_and_pages_link_page_and_explain(demo_db, tmp_path):
    import httpx

    from storydiff.store import open_database
    from tests.webserver import serve_app

    _, story_id = demo_db
    engine, factory = open_database()
    with serve_app(factory) as base, httpx.Client(base_url=base) as client:
        # the story detail carries every field of its list item, and divergence counts by type
        item = client.get("/api/stories").json()["stories"][0]
        detail = client.get(f"/api/stories/{story_id}").json()
        assert {k: detail[k] for k in item} == item
        assert detail["counts"]["numeric"] >= 1 and sum(detail["counts"].values()) == detail["divergences"]
        assert "Courier Wire" in detail["outlet_names"] and len(detail["outlet_names"]) == detail["outlets"]
        # an outlet in another letter case is the same outlet; an unknown one is an error that lists them
        for name in ("courier wire", "COURIER WIRE", "Courier Wire"):
            assert [s["id"] for s in client.get("/api/stories", params={"outlet": name}).json()["stories"]] == [
                story_id
            ]
        unknown = client.get("/api/stories", params={"outlet": "Courier"})
        assert unknown.status_code == 400 and "no outlet is named 'Courier'" in unknown.json()["error"]
        assert "Courier Wire" in unknown.json()["error"]
        assert story_id and f'href="/stories/{story_id}"' in client.get("/", params={"outlet": "courier wire"}).text
        # unknown routes and methods answer as documented
        for path, status in (("/api/nothing", 404), ("/api/stories/1/nothing", 404)):
            response = client.get(path)
            assert response.status_code == status and set(response.json()) == {"error"}, response.text
        assert client.post("/api/stories").json()["error"] == "POST is not allowed on /api/stories"
        page = client.get("/no-such-page")
        assert (
            page.status_code == 404
            and "text/html" in page.headers["content-type"]
            and "nothing at /no-such-page" in page.text
        )
        # articles: pages of 50, each linked to its story; a copy names its original, not an id
        first = client.get("/api/articles", params={"limit": 10}).json()
        assert first["next_cursor"] and all("story_id" in a for a in first["articles"])
        html = client.get("/articles").text
        assert "copy of #" not in html and "copy of Courier Wire: " in html
        assert html.count('class="story-link"') >= 20 and f'href="/stories/{story_id}"' in html
        everything = client.get("/api/articles", params={"limit": 500}).json()["articles"]
        assert len(everything) == 29
        paged = client.get("/api/articles", params={"limit": 20}).json()
        second = client.get("/api/articles", params={"limit": 20, "cursor": paged["next_cursor"]}).json()
        assert [a["id"] for a in paged["articles"] + second["articles"]] == [a["id"] for a in everything]
        small = client.get("/articles", params={"cursor": paged["next_cursor"]}).text
        assert "« newest" in small and everything[20]["title"].split()[0] in small
        # the docs state defaults, limits and response schemas
        docs = client.get("/docs").text
        assert "<code>2</code>" in docs and "≤ 200" in docs and "≥ 1" in docs and "at most 200 characters" in docs
        assert 'id="schema-StoryDetail"' in docs and "Divergences by type." in docs and 'id="schema-Error"' in docs
        assert client.get("/openapi.json").json()["paths"]["/api/stories"]["get"]["responses"]["400"]
    engine.dispose()
