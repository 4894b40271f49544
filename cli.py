"""The `storydiff` command line. Each command calls the same pipeline functions as the
worker and the in-process scheduler."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TextIO

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from storydiff import settings
from storydiff.cli_alerts import alerts, register_feed_commands, subscribe, subscriptions, tokens
from storydiff.cli_stories import command_factory, report_command, stories_command
from storydiff.errors import StorydiffError
from storydiff.evals.cli import eval_group  # the eval commands live beside the evaluations

err_console = Console(stderr=True)


class Group(click.Group):
    """Turns StorydiffError into a one-line message and exit code 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except StorydiffError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            sys.exit(2)


@click.group(cls=Group)
@click.option("-v", "--verbose", is_flag=True, help="Log progress and warnings.")
def main(verbose: bool) -> None:
    """storydiff: where news outlets' accounts of a story differ."""
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


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

    with command_factory().begin() as session:
        feed, created = add_feed(session, FeedSpec(url, outlet, kind, country))
        Console().print(f"{'added' if created else 'already known'}: feed {feed.id} {feed.url}")


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def feeds_list(as_json: bool) -> None:
    """Feeds with their health: last fetch, status, error count, next check."""
    from storydiff.store.queries import feed_health

    with command_factory()() as session:
        rows = feed_health(session)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "outlet", "kind", "url", "status", "last fetch", "errors", "next check", "last error")
    styles = {"ok": "green", "not_modified": "green", "warning": "yellow", "error": "bold red"}
    for r in rows:
        style = styles.get(r["status"], "")
        table.add_row(
            str(r["id"]),
            r["outlet"],
            r["kind"],
            r["url"],
            f"[{style}]{r['status']}[/]" if style else r["status"],
            (r["last_fetch"] or "never")[:19],
            str(r["error_count"]),
            r["next_check"][:19],
            (r["last_error"] or "")[:80],
        )
    Console().print(table)


@feeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def feeds_import(path: Path) -> None:
    """Import feeds from an OPML or TOML file."""
    from storydiff.ingest.feeds import import_file

    with command_factory().begin() as session:
        added, known = import_file(session, path)
    Console().print(f"imported {added} new feeds ({known} already known)")


@feeds.command("export")
@click.option(
    "--opml", "as_opml", is_flag=True, hidden=True, help="Accepted for compatibility: OPML is the only format."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
def feeds_export(as_opml: bool, output: Path | None) -> None:
    """Export every feed with its outlet metadata."""
    from storydiff.ingest.feeds import export_opml

    with command_factory()() as session:
        text = export_opml(session)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("--once", is_flag=True, hidden=True, help="Accepted for compatibility: ingest always runs once.")
@click.option("--all", "all_feeds", is_flag=True, help="Refresh every feed, due or not.")
@click.option("--no-fulltext", is_flag=True, help="Skip fetching article pages of summary-only items.")
def ingest(once: bool, all_feeds: bool, no_fulltext: bool) -> None:
    """Run the pipeline once: refresh due feeds (progress bar, per-feed summary), extract full
    text, cluster new articles into stories, recompute stale reports."""
    from sqlalchemy import select

    from storydiff.ingest.refresh import due_feed_ids
    from storydiff.pipeline import run_once
    from storydiff.store.models import Feed

    factory = command_factory()
    with factory() as session:
        ids = list(session.scalars(select(Feed.id))) if all_feeds else due_feed_ids(session)
    fulltext = False if no_fulltext else None
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("fetching feeds", total=len(ids))
        run = run_once(factory, ids, fulltext=fulltext, on_result=lambda _: progress.advance(task))
    results = run.refreshed
    table = Table("feed", "status", "new", "updated", "unchanged", "error", title="ingest summary")
    for r in results:
        table.add_row(r.url, r.status, str(r.new), str(r.updated), str(r.unchanged), (r.error or "")[:90])
    Console().print(table)
    failed = sum(r.status == "error" for r in results)
    Console().print(
        f"{len(results)} feeds: {sum(r.new for r in results)} new, {sum(r.updated for r in results)} updated, "
        f"{sum(r.unchanged for r in results)} unchanged articles; {failed} feeds failed"
    )
    if run.fulltext:
        Console().print("full text: " + ", ".join(f"{v} {k}" for k, v in sorted(run.fulltext.items())))
    c = run.clustering
    Console().print(
        f"stories: {c.articles} articles clustered, {c.new_stories} new stories, {c.merged} merged, {c.closed} closed"
    )
    Console().print(f"reports: {len(run.compared)} stories compared")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(as_json: bool) -> None:
    """Counts of feeds, articles, versions, stories and failing feeds."""
    from storydiff.store.queries import stats as get_stats

    with command_factory()() as session:
        counts = get_stats(session)
    if as_json:
        click.echo(json.dumps(counts))
    else:
        for key, value in counts.items():
            Console().print(f"{key:>14}: {value}")


@main.command()
def reindex() -> None:
    """Rebuild the stories' search index (it is kept current on its own; this is for repairs)."""
    from storydiff.compare.search_index import reindex as rebuild

    with command_factory()() as session:
        stories, rows = rebuild(session)
    Console().print(f"search index rebuilt: {stories} stories, {rows} terms")


@main.command()
@click.option("--host", default=None, help="Bind address (default $STORYDIFF_HOST).")
@click.option("--port", type=int, default=None, help="Port (default $STORYDIFF_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web app; without REDIS_URL also the in-process scheduler."""
    from sqlalchemy import func, select

    from storydiff.ingest.feeds import DEFAULT_FEEDS, import_file
    from storydiff.service import serve as run
    from storydiff.store.models import Feed

    factory = command_factory()
    if settings.get_bool("STORYDIFF_DEFAULT_FEEDS"):
        with factory.begin() as session:
            if not session.scalar(select(func.count()).select_from(Feed)):
                import_file(session, DEFAULT_FEEDS)
    run(factory, host or settings.get("STORYDIFF_HOST"), port or settings.get_int("STORYDIFF_PORT"))


@main.command()
@click.option("--port", type=int, default=8000, show_default=True, help="Port of the web app.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the demo database goes (default: a new temporary folder).",
)
def demo(port: int, no_browser: bool, data_dir: Path | None) -> None:
    """Serve the bundled demo feeds on 127.0.0.1, ingest them into a fresh SQLite database
    through the real fetch path, and start the service."""
    from storydiff.demo.run import run_demo

    run_demo(port=port, open_browser=not no_browser, data_dir=data_dir)


@main.command("compare")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--format", "fmt", type=click.Choice(["json", "markdown"]), default="json", show_default=True)
@click.option(
    "--min-outlets", type=int, default=1, show_default=True, help="Only report stories with this many outlets."
)
def compare_command(file: TextIO, fmt: str, min_outlets: int) -> None:
    """Cluster the articles of a JSONL file (one {"outlet", "title", "text", "published", "url",
    "kind"} per line; "-" reads stdin) into stories and print each story's report. Needs no
    database, network or shared data."""
    from storydiff.compare import embed
    from storydiff.compare.offline import compare_articles, read_articles
    from storydiff.compare.render import report_markdown

    semantic = embed.enabled(settings.get("STORYDIFF_SEMANTIC"))
    result = compare_articles(read_articles(file), min_outlets=min_outlets, semantic=semantic)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo("\n---\n\n".join(report_markdown(r) for r in result["stories"]) or "No stories.")


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
