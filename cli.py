"""The `storydiff` command line. Each command calls the same pipeline functions as the
worker and the in-process scheduler."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from storydiff import allocator, logs, settings
from storydiff.cli_alerts import alerts, register_feed_commands, subscribe, subscriptions, tokens
from storydiff.cli_stories import ALL_HELP, command_factory, make_console, report_command, report_text, stories_command
from storydiff.errors import StorydiffError
from storydiff.evals.cli import eval_group  # the eval commands live beside the evaluations
from storydiff.settings import DEFAULT_MIN_OUTLETS

if TYPE_CHECKING:
    from rich.table import Table

err_console = make_console(stderr=True)
log = logging.getLogger("storydiff.cli")


def shown_database_url() -> str:
    """DATABASE_URL as it may be shown or logged: its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url()).render_as_string(hide_password=True)


class Group(click.Group):
    """Turns StorydiffError into a one-line message and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except StorydiffError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            sys.exit(2)
        except Exception as exc:
            if not _database_unreachable(exc):
                raise
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            from rich.markup import escape

            err_console.print(
                f"[red]error:[/red] cannot reach the database {escape(shown_database_url())}: {escape(reason)} "
                "(is it running? DATABASE_URL says where it is)",
                highlight=False,
            )
            sys.exit(2)


def _database_unreachable(exc: BaseException) -> bool:
    """A database driver's (or SQLAlchemy's) OperationalError: the server refused or dropped the
    connection, or the file cannot be opened — a one-line message, not a traceback."""
    return any(
        cls.__name__ == "OperationalError" and cls.__module__.split(".")[0] in ("sqlalchemy", "psycopg", "sqlite3")
        for cls in type(exc).__mro__
    )


@click.group(cls=Group)
@click.option("-v", "--verbose", is_flag=True, help="Log progress (INFO) too, not only warnings.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """storydiff: where news outlets' accounts of a story differ.

    Logs go to stderr (STORYDIFF_LOG_FORMAT text or json); serve and demo log at
    STORYDIFF_LOG_LEVEL (default INFO), the other commands warnings only unless -v."""
    logs.configure(logs.cli_level(verbose, service=ctx.invoked_subcommand in ("serve", "demo")))
    allocator.tune()  # before any thread starts (fetch threads, the server's)


@main.group()
def feeds() -> None:
    """Add, list, import and export feeds."""


@feeds.command("add")
@click.argument("url")
@click.option("--outlet", required=True, help="Outlet name, e.g. Reuters.")
@click.option(
    "--kind",
    default="newspaper",
    show_default=True,
    type=click.Choice(["wire", "broadcaster", "newspaper", "state_media", "government", "aggregator"]),
)
@click.option("--country", default=None, help="Two-letter country code.")
def feeds_add(url: str, outlet: str, kind: str, country: str | None) -> None:
    """Add the feed at URL."""
    from storydiff.ingest.feeds import FeedSpec, add_feed
    from storydiff.ingest.urls import redact_url

    with command_factory().begin() as session:
        feed, created = add_feed(session, FeedSpec(url, outlet, kind, country))
        shown = redact_url(feed.url)
        make_console().print(f"{'added' if created else 'already known'}: feed {feed.id} {shown}", soft_wrap=True)


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def feeds_list(as_json: bool) -> None:
    """Feeds with their health: last fetch, status, error count, next check."""
    from storydiff.ingest.feeds import feed_health_shown

    with command_factory()() as session:
        rows = feed_health_shown(session)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    console = make_console()
    console.print(feeds_table(rows, wide=console.width >= WIDE_TABLE))


WIDE_TABLE = 140  # narrower consoles get the compact feeds table (4 columns, several lines a feed)
STATUS_STYLES = {"ok": "green", "not_modified": "green", "warning": "yellow", "error": "bold red"}


def feeds_table(rows: list[dict], wide: bool) -> Table:  # type: ignore[type-arg]
    """Feeds health as a table that never cuts a name, URL or error: cells wrap (and fold long
    words) instead. Wide: one column per field; compact: outlet, URL and last error stacked in one
    cell, status with the error count, last and next check stacked."""
    from rich.table import Column, Table
    from rich.text import Text

    def when(value: str | None) -> str:
        return (value or "never")[:16].replace("T", " ")

    if wide:
        table = Table(
            "id", Column("outlet", overflow="fold"), "kind", Column("url", overflow="fold"), "status",
            "last fetch", "errors", "next check", Column("last error", overflow="fold"), show_lines=True,
        )  # fmt: skip
    else:
        table = Table(
            "id", Column("feed", overflow="fold", ratio=1), Column("status", overflow="fold"),
            Column("last / next check", overflow="fold"), show_lines=True,
        )  # fmt: skip
    for r in rows:
        status = Text(r["status"], style=STATUS_STYLES.get(r["status"], ""))
        if wide:
            table.add_row(
                str(r["id"]), Text(r["outlet"]), Text(r["kind"]), Text(r["url"]), status, when(r["last_fetch"]),
                str(r["error_count"]), when(r["next_check"]), Text(r["last_error"] or ""),
            )  # fmt: skip
            continue
        feed = Text(r["outlet"], style="bold")
        feed.append(f" ({r['kind']}{', ' + r['country'] if r['country'] else ''})", style="")
        feed.append("\n" + r["url"])
        if r["last_error"]:
            feed.append("\n" + r["last_error"], style="red")
        status.append(f"\n{r['error_count']} errors", style="")
        table.add_row(str(r["id"]), feed, status, f"{when(r['last_fetch'])}\n{when(r['next_check'])}")
    return table


@feeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def feeds_import(path: Path) -> None:
    """Import feeds from an OPML or TOML file."""
    from storydiff.ingest.feeds import import_file

    with command_factory().begin() as session:
        added, known = import_file(session, path)
    make_console().print(f"imported {added} new feeds ({known} already known)")


@feeds.command("export")
@click.option(
    "--opml", "as_opml", is_flag=True, hidden=True, help="Accepted for compatibility: OPML is the only format."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@click.option(
    "--with-secrets",
    is_flag=True,
    help="Keep credentials in feed URLs (user:password@, key=, token=…) for a backup to import; "
    "by default they are redacted to ***.",
)
def feeds_export(as_opml: bool, output: Path | None, with_secrets: bool) -> None:
    """Export every feed with its outlet metadata (OPML). Credentials in feed URLs are redacted
    unless --with-secrets; a file written with them is readable by its owner only."""
    from sqlalchemy import select

    from storydiff.ingest.feeds import export_opml
    from storydiff.ingest.urls import redact_url
    from storydiff.store.models import Feed

    with command_factory()() as session:
        text = export_opml(session, with_secrets=with_secrets)
        redacted = sum(redact_url(url) != url for url in session.scalars(select(Feed.url)))
    if output:
        if with_secrets:  # the file holds credentials: its owner's only
            os.close(os.open(output, os.O_WRONLY | os.O_CREAT, 0o600))
            output.chmod(0o600)
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if redacted and not with_secrets:
        err_console.print(
            f"{redacted} feed URL(s) carry credentials, exported as ***: "
            "use --with-secrets for a backup you can import again"
        )


@main.command()
@click.option("--once", is_flag=True, hidden=True, help="Accepted for compatibility: ingest always runs once.")
@click.option("--all", "all_feeds", is_flag=True, help="Refresh every feed, due or not.")
@click.option("--no-fulltext", is_flag=True, help="Skip fetching article pages of summary-only items.")
@click.option(
    "--through",
    type=click.Choice(["ingest", "cluster", "compare", "alerts"]),
    default="alerts",
    show_default=True,
    help="Stop after this step; the next run (or the service) does the rest.",
)
def ingest(once: bool, all_feeds: bool, no_fulltext: bool, through: str) -> None:
    """Run the pipeline once: refresh due feeds (progress bar, per-feed summary), extract full
    text, cluster new articles into stories, recompute stale reports, match them against alert
    subscriptions (`--through` stops earlier). Exit status 1 when every feed of the run failed
    (some failing is 0: their errors are in the summary)."""
    from sqlalchemy import select

    from storydiff.ingest.refresh import due_feed_ids
    from storydiff.pipeline import run_once
    from storydiff.store.models import Feed

    factory = command_factory()
    with factory() as session:
        ids = list(session.scalars(select(Feed.id))) if all_feeds else due_feed_ids(session)
    fulltext = False if no_fulltext else None
    if err_console.is_terminal:
        # the bar is drawn only on a terminal (redrawn 4 times a second: at rich's default of 10 its
        # rendering thread took ~6 % of a cold ingest's CPU); piped, rich.progress is not even imported
        from rich.progress import Progress  # ~25 ms to import

        with Progress(console=err_console, transient=True, refresh_per_second=4) as progress:
            task = progress.add_task("fetching feeds", total=len(ids))
            run = run_once(
                factory,
                ids,
                fulltext=fulltext,
                on_result=lambda _: progress.advance(task),
                through=through,
                one_shot=True,
            )
    else:
        run = run_once(factory, ids, fulltext=fulltext, through=through, one_shot=True)
    results = run.refreshed
    out = make_console()
    # the table lists the feeds with something to say (items stored, a warning, an error); the
    # unchanged ones are one count (120 rows of "not_modified 0 0 0" hid the failures, and drawing
    # them took a tenth of an unchanged re-run). Nothing is cut: the URL and error share a wrapping cell.
    quiet = Counter(r.status for r in results if not (r.new or r.updated or r.status not in ("ok", "not_modified")))
    shown = [r for r in results if r.new or r.updated or r.status not in ("ok", "not_modified")]
    if shown:
        from rich.table import Column, Table
        from rich.text import Text

        table = Table(
            Column("feed", overflow="fold", ratio=1), "status", "new", "updated", "unchanged",
            title="ingest summary", show_lines=True,
        )  # fmt: skip
        for r in shown:
            feed = Text(r.url)
            if r.error:
                feed.append("\n" + r.error, style="red")
            table.add_row(
                feed,
                Text(r.status, style=STATUS_STYLES.get(r.status, "")),
                str(r.new),
                str(r.updated),
                str(r.unchanged),
            )
        out.print(table)
    if quiet:
        names = {"ok": "fetched, nothing new", "not_modified": "not modified"}
        out.print(
            f"{sum(quiet.values())} feeds with nothing new: "
            + ", ".join(f"{n} {names.get(status, status)}" for status, n in sorted(quiet.items()))
        )
    failed = sum(r.status == "error" for r in results)
    out.print(
        f"{len(results)} feeds: {sum(r.new for r in results)} new, {sum(r.updated for r in results)} updated, "
        f"{sum(r.unchanged for r in results)} unchanged articles; {failed} feeds failed"
    )
    if run.fulltext:
        out.print("full text: " + ", ".join(f"{v} {k}" for k, v in sorted(run.fulltext.items())))
    steps = ("ingest", "cluster", "compare", "alerts")
    if steps.index(through) >= 1:
        c = run.clustering
        out.print(
            f"stories: {c.articles} articles clustered, {c.new_stories} new stories, {c.merged} merged, "
            f"{c.closed} closed"
        )
    if steps.index(through) >= 2:
        out.print(f"reports: {len(run.compared)} stories compared")
    if through != "alerts":
        out.print(f"stopped after {through}: the next run or the service does the rest")
    if results and failed == len(results):  # a run where nothing could be fetched is a failure
        from storydiff.pipeline import all_failed_message

        err_console.print(f"[red]error:[/red] {all_failed_message(results)}", markup=True, highlight=False)
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(as_json: bool) -> None:
    """Counts of feeds, articles, versions, stories and failing feeds."""
    from storydiff.store.counts import quick_stats

    counts = quick_stats(settings.database_url())  # the driver alone, on a database at the newest schema
    if counts is None:  # a new or older database (or a URL with options): migrate first
        from storydiff.store import make_engine, migrate
        from storydiff.store.counts import stats as get_stats

        engine = make_engine()  # Core only: no session, no ORM to import
        try:
            migrate(engine)
            with engine.connect() as conn:
                counts = get_stats(conn)
        finally:
            engine.dispose()
    if as_json:
        click.echo(json.dumps(counts))
    else:
        for key, value in counts.items():
            make_console().print(f"{key:>14}: {value}")


@main.command()
def reindex() -> None:
    """Rebuild the stories' search index (it is kept current on its own; this is for repairs)."""
    from storydiff.compare.search_index import reindex as rebuild

    with command_factory()() as session:
        stories, rows = rebuild(session)
    make_console().print(f"search index rebuilt: {stories} stories, {rows} terms")


@main.command()
@click.option("--host", default=None, help="Bind address (default $STORYDIFF_HOST).")
@click.option("--port", type=int, default=None, help="Port (default $STORYDIFF_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web app; without REDIS_URL also the in-process scheduler."""
    from sqlalchemy import func, select

    from storydiff.ingest.feeds import DEFAULT_FEEDS, import_file
    from storydiff.service import serve as run
    from storydiff.store.models import Feed, Outlet

    factory = command_factory()
    with factory.begin() as session:
        feeds = session.scalar(select(func.count()).select_from(Feed)) or 0
        if not feeds and settings.get_bool("STORYDIFF_DEFAULT_FEEDS"):
            added, _ = import_file(session, DEFAULT_FEEDS)
            names = sorted(set(session.scalars(select(Outlet.name))))
            log.info(
                "serve: the database had no feeds, so %d default feeds of %d outlets were added (%s) from %s; "
                "STORYDIFF_DEFAULT_FEEDS=0 turns this off, `storydiff feeds list` shows their health.",
                added, len(names), ", ".join(names), DEFAULT_FEEDS,
            )  # fmt: skip
        elif not feeds:
            log.warning(
                "serve: no feeds yet (STORYDIFF_DEFAULT_FEEDS=0); add some with `storydiff feeds add URL --outlet NAME`."
            )
    log.info("serve: database %s", shown_database_url())
    run(factory, host or settings.get("STORYDIFF_HOST"), port or settings.get_int("STORYDIFF_PORT"))


@main.command()
@click.option("--port", type=int, default=8000, show_default=True, help="Port of the web app.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the demo database, kept after the demo stops "
    "(default: $XDG_DATA_HOME/storydiff/demo, i.e. ~/.local/share/storydiff/demo).",
)
def demo(port: int, no_browser: bool, data_dir: Path | None) -> None:
    """Serve the bundled demo feeds on 127.0.0.1, ingest them into a fresh SQLite database
    through the real fetch path, and start the service. Prints where the database is and the
    command to use the CLI on it (export STORYDIFF_DATA_DIR=...)."""
    from storydiff.demo.run import run_demo

    run_demo(port=port, open_browser=not no_browser, data_dir=data_dir)


@main.command("compare")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="text: the report as `storydiff report` prints it (colours on a terminal, [-old-]{+new+} markers "
    "in a pipe); json: the report schema.",
)
@click.option(
    "--min-outlets",
    type=click.IntRange(min=1),
    default=DEFAULT_MIN_OUTLETS,
    show_default=True,
    help="Only report stories told by at least this many outlets (1: every story).",
)
@click.option("--all", "show_all", is_flag=True, help=ALL_HELP)
def compare_command(file: TextIO, fmt: str, min_outlets: int, show_all: bool) -> None:
    """Cluster the articles of a JSONL file (one {"outlet", "title", "text", "published", "url",
    "kind"} per line; "-" reads stdin) into stories and print each story's report. Needs no
    database, network or shared data."""
    from storydiff.compare import embed
    from storydiff.compare.offline import compare_articles, read_articles
    from storydiff.compare.render import report_markdown

    semantic = embed.enabled(settings.get("STORYDIFF_SEMANTIC"))
    result = compare_articles(read_articles(file), min_outlets=min_outlets, semantic=semantic)
    hidden = result["hidden_stories"]
    note = (
        f"{hidden} {'story' if hidden == 1 else 'stories'} told by fewer than {min_outlets} outlets not shown "
        "(--min-outlets 1 shows every story)"
        if hidden
        else ""
    )
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    elif fmt == "markdown":
        parts = [report_markdown(r) for r in result["stories"]]
        click.echo("\n---\n\n".join(parts) or "No stories.")
        if note:
            click.echo(f"\n_{note}._")
    else:
        console = make_console()
        for n, report in enumerate(result["stories"]):
            if n:
                console.rule()
            report_text(report, console, show_all)
        if not result["stories"]:
            console.print("No stories.")
        if note:
            console.print(note + ".", style="dim", markup=False)


main.add_command(eval_group)
main.add_command(tokens)
main.add_command(subscribe)
main.add_command(subscriptions)
main.add_command(alerts)
register_feed_commands(feeds)
main.add_command(stories_command)
main.add_command(report_command)


if __name__ == "__main__":
    main()
