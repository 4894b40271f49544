"""`storydiff demo`: local feed server + fresh SQLite + real ingestion + the service."""

from __future__ import annotations

import os
import shlex
import sys
import threading
import tomllib
import webbrowser
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from storydiff.demo.server import ROOT, DemoFeedServer


def add_demo_feeds(session: Session, base_url: str) -> int:
    from storydiff.ingest.feeds import FeedSpec, add_feed

    config = tomllib.loads((ROOT / "outlets.toml").read_text(encoding="utf-8"))
    count = 0
    for outlet in config["outlet"]:
        for path in outlet["feeds"]:
            add_feed(session, FeedSpec(base_url + path, outlet["name"], outlet["kind"], outlet.get("country")))
            count += 1
    return count


def load_demo(factory: sessionmaker[Session], base_url: str, through: str = "ingest") -> list:
    """Register the demo feeds and run the real pipeline on them (by default only fetch → parse →
    store → full text; "compare" also clusters and compares); returns the feeds' refresh results."""
    from storydiff.pipeline import run_once

    with factory.begin() as session:
        add_demo_feeds(session, base_url)
    return run_once(factory, fulltext=True, through=through).refreshed


def default_data_dir() -> Path:
    """Where the demo keeps its database unless told otherwise: $XDG_DATA_HOME/storydiff/demo
    (~/.local/share/storydiff/demo). Kept after the demo stops, so the CLI can read it."""
    from storydiff import settings

    return settings.user_data_dir() / "demo"


def cli_command() -> str:
    """How to call the storydiff command that is running now: the script beside this Python
    (relative to the working directory when it is below it), else `python -m storydiff.cli`."""
    script = Path(sys.executable).parent / "storydiff"
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m storydiff.cli"
    try:
        relative = script.relative_to(Path.cwd())
    except ValueError:
        return shlex.quote(str(script))
    return shlex.quote(str(relative))


def usage_lines(data_dir: Path) -> list[str]:
    """The lines the demo prints: where its database is and the exact commands to use the CLI on it."""
    command = cli_command()
    return [
        f"demo: database {data_dir / 'storydiff.db'} (kept when the demo stops; the next demo replaces it)",
        "demo: to use the command line on it, run in another terminal:",
        f"  export STORYDIFF_DATA_DIR={shlex.quote(str(data_dir))}",
        f"  {command} stories",
        f"  {command} report ID        # ID from the stories list",
    ]


def run_demo(port: int = 8000, open_browser: bool = True, data_dir: Path | None = None) -> None:
    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    db_file = data_dir / "storydiff.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    os.environ.update(
        STORYDIFF_DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{db_file}",
        STORYDIFF_ALLOW_PRIVATE_URLS="1",
        STORYDIFF_DEFAULT_FEEDS="0",
        STORYDIFF_HOST_DELAY="0",
    )
    os.environ.pop("REDIS_URL", None)
    from storydiff.service import serve
    from storydiff.store import open_database

    feeds = DemoFeedServer().start()
    _, factory = open_database()
    results = load_demo(factory, feeds.base_url, through="compare")
    new = sum(r.new for r in results)
    print(f"demo: served {len(results)} feeds from {feeds.base_url}, stored {new} articles")
    for line in usage_lines(data_dir):
        print(line)
    url = f"http://127.0.0.1:{port}/"
    print(f"demo: open {url}  (Ctrl-C stops)", flush=True)
    if open_browser:
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    try:
        serve(factory, "127.0.0.1", port)
    finally:
        feeds.stop()
