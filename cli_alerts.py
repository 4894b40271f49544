"""CLI commands for tokens, feed changes and alerts: `storydiff tokens …`, `feeds remove|update`,
`storydiff subscribe …`, `storydiff subscriptions list|show|mute|unmute|remove|test`,
`storydiff alerts run`. They call the same functions as the API."""

from __future__ import annotations

import json

import click
from rich.console import Console

from storydiff import settings
from storydiff.cli_stories import command_factory
from storydiff.ingest.urls import redact_url


@click.group()
def tokens() -> None:
    """API tokens for the write API (stored as hashes; a token is shown once)."""


@tokens.command("create")
@click.argument("name")
def tokens_create(name: str) -> None:
    """Create a token called NAME and print it (the only time it is shown)."""
    from storydiff.store.tokens import create_token

    with command_factory()() as session:
        token = create_token(session, name)
    click.echo(token)
    click.echo(f"token {name!r} created; send it as 'Authorization: Bearer <token>'. It is not stored.", err=True)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
def tokens_list(as_json: bool) -> None:
    """Tokens (names, when created and last used, revoked or not); never the tokens themselves."""
    from rich.table import Table

    from storydiff.store.tokens import list_tokens

    with command_factory()() as session:
        rows = list_tokens(session)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "created", "last used", "state")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["name"],
            r["created_at"],
            r["last_used_at"] or "never",
            "revoked" if r["revoked"] else "active",
        )
    Console().print(table)


@tokens.command("revoke")
@click.argument("name_or_id")
def tokens_revoke(name_or_id: str) -> None:
    """Revoke a token: every request with it is refused (403) from now on."""
    from storydiff.store.tokens import revoke_token

    with command_factory()() as session:
        revoke_token(session, name_or_id)
    click.echo(f"revoked {name_or_id}")


def feeds_remove(id_or_url: str) -> None:
    """Stop following the feed ID or URL (its articles and stories stay)."""
    from storydiff.ingest.feeds import remove_feed

    with command_factory().begin() as session:
        feed = remove_feed(session, id_or_url)
        click.echo(f"removed: feed {feed.id} {redact_url(feed.url)}")


def feeds_update(
    id_or_url: str, outlet: str | None, kind: str | None, country: str | None, paused: bool | None
) -> None:
    """Change the outlet, kind or country of feed ID or URL, or pause/resume it."""
    from storydiff.ingest.feeds import update_feed

    changes = {
        k: v for k, v in {"outlet": outlet, "kind": kind, "country": country, "paused": paused}.items() if v is not None
    }
    if not changes:
        raise click.UsageError("nothing to change: give --outlet, --kind, --country, --pause or --resume")
    with command_factory().begin() as session:
        feed = update_feed(session, id_or_url, changes)
        click.echo(
            f"updated: feed {feed.id} {redact_url(feed.url)} ({feed.outlet.name}, {feed.outlet.kind}{', paused' if feed.paused else ''})"
        )


def register_feed_commands(feeds: click.Group) -> None:
    feeds.command("remove")(click.argument("id_or_url")(feeds_remove))
    command = click.option("--resume", "paused", flag_value=False, default=None, help="Fetch it again.")(feeds_update)
    command = click.option("--pause", "paused", flag_value=True, default=None, help="Stop fetching, keep it.")(command)
    command = click.option("--country", default=None)(command)
    command = click.option("--kind", default=None)(command)
    command = click.option("--outlet", default=None)(command)
    feeds.command("update")(click.argument("id_or_url")(command))


@click.command("subscribe")
@click.argument("name")
@click.option("--webhook", "webhook_url", default=None, help="POST signed JSON alerts to this URL.")
@click.option(
    "--apprise", "apprise_url", default=None, help="Send alerts to this Apprise URL (mailto://, slack://, ntfy://, …)."
)
@click.option("--words", default="", help="Words or names that must all appear in the story.")
@click.option("--outlet", "outlets", multiple=True, help="Only divergences involving this outlet (repeatable).")
@click.option("--kind", "kinds", multiple=True, help="Only divergences involving outlets of this kind (repeatable).")
@click.option(
    "--type", "types", multiple=True, help="Divergence types (repeatable); default all but omission/exclusive."
)
@click.option("--min-severity", default="medium", show_default=True, type=click.Choice(["low", "medium", "high"]))
@click.option("--min-score", type=float, default=None, help="Minimum story divergence score (0–1).")
@click.option(
    "--digest", "digest_minutes", type=int, default=None, help="Send a digest every N minutes instead of each alert."
)
def subscribe(
    name: str,
    webhook_url: str | None,
    apprise_url: str | None,
    words: str,
    outlets: tuple[str, ...],
    kinds: tuple[str, ...],
    types: tuple[str, ...],
    min_severity: str,
    min_score: float | None,
    digest_minutes: int | None,
) -> None:
    """Subscribe NAME to divergence alerts (without --webhook/--apprise: the private Atom feed only)."""
    from storydiff.alerts.subscriptions import SubscriptionSpec, as_dict, create

    if webhook_url and apprise_url:
        raise click.UsageError("one channel per subscription: --webhook or --apprise")
    channel, target = (
        ("webhook", webhook_url) if webhook_url else ("apprise", apprise_url) if apprise_url else ("atom", "")
    )
    spec = SubscriptionSpec(
        name, channel, target or "", words, ",".join(outlets), ",".join(kinds), ",".join(types), min_severity, min_score,
        "digest" if digest_minutes else "immediate", digest_minutes or 60,
    )  # fmt: skip
    with command_factory()() as session:
        sub = as_dict(session, create(session, spec), settings.get("STORYDIFF_BASE_URL").rstrip("/"), secret=True)
    click.echo(f"subscription {sub['id']} {sub['name']!r}: {channel}{' ' + sub['target'] if sub['target'] else ''}")
    click.echo(f"  private Atom feed: {sub['feed_url']}")
    if channel == "webhook":
        click.echo(f"  signing secret (Standard Webhooks): {sub['secret']}")


@click.group("subscriptions")
def subscriptions() -> None:
    """List, show, mute, remove and test subscriptions."""


@subscriptions.command("list")
@click.option("--json", "as_json", is_flag=True)
def subscriptions_list(as_json: bool) -> None:
    from rich.table import Table
    from sqlalchemy import select

    from storydiff.alerts.subscriptions import as_dict
    from storydiff.store.models import Subscription

    base = settings.get("STORYDIFF_BASE_URL").rstrip("/")
    with command_factory()() as session:
        rows = [as_dict(session, s, base) for s in session.scalars(select(Subscription).order_by(Subscription.id))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "name", "channel", "filters", "mode", "alerts", "delivered/failed", "state")
    for r in rows:
        filters = " ".join(
            f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in r.items()
            if k in ("words", "outlets", "kinds", "types") and v
        ) + f" ≥{r['min_severity']}"  # fmt: skip
        state = "muted" if r["muted"] else ("FAILING since " + r["failing_since"]) if r["flagged"] else "ok"
        table.add_row(
            str(r["id"]), r["name"], f"{r['channel']} {r['target']}".strip(), filters, r["mode"], str(r["alerts"]),
            f"{r['deliveries']['delivered']}/{r['deliveries']['failed']}", state,
        )  # fmt: skip
    Console().print(table)


@subscriptions.command("show")
@click.argument("sub_id", type=int)
def subscriptions_show(sub_id: int) -> None:
    """A subscription with its latest alerts and every delivery attempt."""
    from storydiff.alerts.subscriptions import alerts_of, as_dict, get

    base = settings.get("STORYDIFF_BASE_URL").rstrip("/")
    with command_factory()() as session:
        out = as_dict(session, get(session, sub_id), base) | {"latest_alerts": alerts_of(session, sub_id, 20)}
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))


def _set_muted(sub_id: int, muted: bool) -> None:
    from storydiff.alerts.subscriptions import update

    with command_factory()() as session:
        update(session, sub_id, {"muted": muted})
    click.echo(f"subscription {sub_id} {'muted' if muted else 'unmuted'}")


@subscriptions.command("mute")
@click.argument("sub_id", type=int)
def subscriptions_mute(sub_id: int) -> None:
    _set_muted(sub_id, True)


@subscriptions.command("unmute")
@click.argument("sub_id", type=int)
def subscriptions_unmute(sub_id: int) -> None:
    _set_muted(sub_id, False)


@subscriptions.command("remove")
@click.argument("sub_id", type=int)
def subscriptions_remove(sub_id: int) -> None:
    from storydiff.alerts.subscriptions import remove

    with command_factory()() as session:
        remove(session, sub_id)
    click.echo(f"subscription {sub_id} removed")


@subscriptions.command("test")
@click.argument("sub_id", type=int)
def subscriptions_test(sub_id: int) -> None:
    """Send a sample alert through the subscription's channel now and show the outcome."""
    from storydiff.alerts.sample import send_test
    from storydiff.alerts.subscriptions import get

    with command_factory()() as session:
        outcome = send_test(get(session, sub_id))
    click.echo(json.dumps(outcome, indent=2))
    if not outcome["ok"]:
        raise SystemExit(1)


@click.group("alerts")
def alerts() -> None:
    """Run the alerts step by hand."""


@alerts.command("run")
@click.option(
    "--story", "story_ids", type=int, multiple=True, help="Only these stories (default: every story with a report)."
)
def alerts_run(story_ids: tuple[int, ...]) -> None:
    """Match stored reports against the subscriptions, plan digests, deliver what is due."""
    from storydiff.alerts.deliver import run_alerts

    with command_factory()() as session:
        result = run_alerts(session, list(story_ids) or None)
    click.echo(json.dumps(result))
