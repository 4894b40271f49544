"""`storydiff stories` and `storydiff report STORY_ID`: the stored stories and reports on the
command line; the text form is rendered with rich (a colour per divergence type, the differing
words highlighted, quote diffs struck through / underlined). Where colours cannot show (the output
is a file or a pipe, or NO_COLOR is set) the same text carries `git diff --word-diff` markers:
[-removed-]{+added+} and {=marked=}."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import click
from rich.console import Console

from storydiff.compare.schema import FOLD_SHOWN, folded, folds
from storydiff.settings import DEFAULT_MIN_OUTLETS

UNLIMITED_WIDTH = 100_000  # a pipe or a file has no width: nothing is wrapped or cut

TYPE_STYLES = {
    "numeric": "bold white on dark_orange3",
    "quote": "bold white on purple",
    "attribution": "bold white on dodger_blue3",
    "contradiction": "bold white on red3",
    "framing": "bold white on yellow4",
    "omission": "bold white on grey42",
    "exclusive": "bold white on green4",
}
ALL_HELP = (
    "Text form: list every low-severity omission and exclusive (by default the first "
    f"{FOLD_SHOWN} of each outlet, then how many more)."
)
SEVERITY_STYLES = {"high": "bold red", "medium": "yellow", "low": "dim"}


def command_factory():  # type: ignore[no-untyped-def]
    """Session factory of the configured database; its pool is closed when the command ends."""
    from storydiff.store import open_database

    engine, factory = open_database()
    click.get_current_context().call_on_close(engine.dispose)
    return factory


def make_console(stderr: bool = False) -> Console:
    """The console of a command: the terminal's width on a terminal; in a pipe or a file no width
    limit (unless COLUMNS is set), so tables and lines are never cut or wrapped there."""
    console = Console(stderr=stderr)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console = Console(stderr=stderr, width=UNLIMITED_WIDTH)
    return console


def uses_markers(console: Console) -> bool:
    """Textual diff markers instead of styles: the output is no terminal, or NO_COLOR is set."""
    return not console.is_terminal or console.no_color


def _divergence_text(d: dict[str, Any], console: Console, markers: bool) -> None:
    """One divergence: type, severity and summary, the quote's word diff, and the evidence of each
    outlet with the differing words marked (an omission or exclusive: the names and numbers that
    the other side never mentions, after its summary)."""
    from rich.text import Text

    from storydiff.compare.render import highlight, never_mentioned
    from storydiff.web.views import quote_diff  # (lazy: `storydiff --help` stays fast)

    line = Text()
    line.append(f" {d['type']} ", style=TYPE_STYLES.get(d["type"], "bold"))
    line.append(f" {d['severity']} ", style=SEVERITY_STYLES[d["severity"]])
    line.append(d["summary"])
    if folded(d):
        lacking, unmentioned = never_mentioned(d)
        if unmentioned:
            line.append(f"  [never mentioned by {lacking}: {'; '.join(unmentioned)}]", style="cyan")
    console.print(line)
    if d["diff"]:
        diff = Text("    word diff: ")
        previous = None
        for op, words in quote_diff(d["diff"]):
            if markers and op != "equal":  # git diff --word-diff=plain: [-old-]{+new+}
                words = f"[-{words}-]" if op == "del" else f"{{+{words}+}}"
            joined = previous is None or (markers and previous == "del" and op == "ins")
            diff.append(
                ("" if joined else " ") + words,
                style={"del": "strike red", "ins": "bold green underline"}.get(op, ""),
            )
            previous = op
        console.print(diff)
    if d["type"] in ("omission", "exclusive"):
        return
    for claim in d["claims"]:
        evidence = Text(f"    {claim['outlet']}: ", style="bold")
        for piece, marked in highlight(claim):
            evidence.append(
                f"{{={piece}=}}" if marked and markers else piece, style="black on yellow" if marked else ""
            )
        console.print(evidence)


def report_text(report: dict[str, Any], console: Console, show_all: bool = False) -> None:
    from rich.table import Table
    from rich.text import Text

    markers = uses_markers(console)
    console.print(Text(report["title"], style="bold underline"))
    console.print(
        f"{len(report['outlets'])} outlets · divergence score {report['divergence_score']:.2f} · "
        f"first seen {report['first_seen'] or '—'} · last seen {report['last_seen'] or '—'}",
        style="dim",
        markup=False,
    )
    outlets = Table("outlet", "kind", "country", "published", "note", title="Outlets", title_justify="left")
    for o in report["outlets"]:
        article = next((a for a in o["articles"] if a["id"] == o["account"]), o["articles"][-1])
        outlets.add_row(
            Text(o["name"]), Text(o["kind"] or ""), Text(o["country"] or ""), Text(article["published"] or "—"),
            Text(f"copy of {o['copy_of']}" if o["copy_of"] else ""),
        )  # fmt: skip
    console.print(outlets)
    console.print(Text(f"\nDivergences ({len(report['divergences'])})", style="bold"))
    groups = folds(report["divergences"])
    typed = [d for d in report["divergences"] if not folded(d)]
    if not typed and groups:
        console.print("No number, quote, source, name or contradiction differs between the outlets.", markup=False)
    for d in typed:
        _divergence_text(d, console, markers)
    if groups:
        console.print(
            Text(
                "\nLow-severity omissions and exclusives, per outlet: facts only some outlets carry (often one "
                "tells the same fact in other words, so check before relying on one); first those with names "
                "and numbers the other side never mentions",
                style="bold",
            )
        )
    for label, items in groups.items():
        console.print(Text(f" {label}: {len(items)}", style="bold"))
        shown = items if show_all else items[:FOLD_SHOWN]
        for d in shown:
            _divergence_text(d, console, markers)
        if len(items) > len(shown):
            console.print(f"    +{len(items) - len(shown)} more (--all lists every one)", style="dim", markup=False)
    names = report["agreement"]["outlets"]
    table = Table(
        "", *[n[:18] for n in names], title="Agreement (share of shared claims told alike)", title_justify="left"
    )
    for name, row in zip(names, report["agreement"]["matrix"], strict=True):
        cells = [
            Text(
                "—" if v is None else f"{v:.2f}",
                style="" if v is None else "green" if v >= 0.8 else "red" if v < 0.5 else "yellow",
            )
            for v in row
        ]
        table.add_row(Text(name[:24]), *cells)
    console.print(table)


@click.command("stories")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--sort",
    type=click.Choice(["relevance", "score", "updated", "outlets"]),
    default=None,
    help="Order (descending). Default: relevance with --search, else updated.",
)
@click.option(
    "--min-outlets",
    type=click.IntRange(min=1),
    default=DEFAULT_MIN_OUTLETS,
    show_default=True,
    help="Only stories told by at least this many outlets (1: every story).",
)
@click.option("--type", "kind", default=None, help="Only stories with a divergence of this type.")
@click.option(
    "--search",
    default=None,
    help="Search: every word in the story's title, a member's title or lead, a name they mention or an outlet "
    "(case, accents, plurals ignored; the last word may be unfinished). Ranked best match first.",
)
@click.option("--limit", type=int, default=25, show_default=True)
def stories_command(
    as_json: bool, sort: str | None, min_outlets: int, kind: str | None, search: str | None, limit: int
) -> None:
    """Stories with their outlets, divergence score and divergence types."""
    from rich.table import Column, Table
    from rich.text import Text

    from storydiff.store.stories import StoryFilter, count_below, list_stories

    with command_factory()() as session:
        page, _ = list_stories(session, StoryFilter(type=kind, q=search, min_outlets=min_outlets, sort=sort), limit)
        hidden = count_below(session, min_outlets)
    if as_json:
        click.echo(json.dumps(page, indent=2, ensure_ascii=False))
        return
    if min_outlets > 1:
        note = f"stories told by at least {min_outlets} outlets"
        if hidden and not (kind or search):
            note += f"; {hidden} told by fewer hidden"
        caption = note + " (--min-outlets 1 shows every story)"
    else:
        caption = None
    table = Table(
        "id", Column("story", overflow="fold"), "outlets", "score", "divergences", "updated",
        title="Stories", caption=caption,
    )  # fmt: skip
    for s in page:
        score = "—" if s["divergence_score"] is None else f"{s['divergence_score']:.2f}"
        types = Text()
        for t in s["types"]:
            types.append(f" {t} ", style=TYPE_STYLES.get(t, ""))
            types.append(" ")
        updated = datetime.fromisoformat(s["last_seen"]).strftime("%Y-%m-%d %H:%M") if s["last_seen"] else "—"
        table.add_row(str(s["id"]), Text(s["title"]), str(s["outlets"]), score, types, updated)
    make_console().print(table)


@click.command("report")
@click.argument("story_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("--all", "show_all", is_flag=True, help=ALL_HELP)
def report_command(story_id: int, fmt: str, show_all: bool) -> None:
    """One story's stored report: text (rich), Markdown or JSON (the report schema)."""
    from storydiff.compare.render import report_markdown
    from storydiff.compare.store_reports import load_report

    with command_factory()() as session:
        report, _ = load_report(session, story_id)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(report_markdown(report))
    else:
        report_text(report, make_console(), show_all)
