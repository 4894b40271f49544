"""Apprise channel: any Apprise URL (mailto://, slack://, matrix://, tgram://, discord://, ntfy://,
json://…). The message is shaped to the service's limits (its title and body lengths): a title, a
short body and the report link. A network target's host goes through the same address check as
feed fetching before Apprise connects. That check cannot be pinned: Apprise (requests, SMTP…) opens
its own connections and resolves the name again, so a rebinding DNS could still answer another
address to Apprise; only our own connections (feeds, pages, webhooks) are pinned to the checked address."""

from __future__ import annotations

from typing import Any

from storydiff.alerts.channel import DeliveryError, Message
from storydiff.errors import BlockedURL, FetchError
from storydiff.ingest.fetch import check_url_allowed


def plugin(url: str) -> Any:
    """The Apprise plugin for a URL; DeliveryError (permanent) when Apprise does not know it."""
    import apprise

    found = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not found:
        raise DeliveryError(
            "not an Apprise URL Apprise can use (see https://github.com/caronc/apprise/wiki)", permanent=True
        )
    return found


def shape(message: Message, title_max: int, body_max: int) -> tuple[str, str]:
    """Title and body within the service's limits; the link always survives."""
    title = message.title if len(message.title) <= title_max else message.title[: max(0, title_max - 1)] + "…"
    tail = f"\n\n{message.link}"
    room = max(0, body_max - len(tail))
    body = message.body if len(message.body) <= room else message.body[: max(0, room - 1)] + "…"
    return title, body + tail


def network_hosts(target: Any) -> list[str]:
    """The hosts Apprise will connect to that the URL chose (so a subscriber could point them
    inward): the plugin's host when the plugin takes one (its URL template has a host: json://,
    mailto://, matrix://, gotify://…) and an e-mail plugin's SMTP server (?smtp=). Services at
    fixed addresses (slack://, tgram://, discord://) put tokens where a host would be: those are
    never looked up (that would send the token to the DNS)."""
    hosts = []
    if "host" in (getattr(target, "template_tokens", None) or {}) and getattr(target, "host", None):
        hosts.append(str(target.host))
    smtp = getattr(target, "smtp_host", None)
    if smtp and str(smtp) not in hosts:
        hosts.append(str(smtp))
    return hosts


def send(message: Message, url: str) -> None:
    import apprise

    target = plugin(url)
    for host in network_hosts(target):
        try:
            check_url_allowed(f"http://[{host}]/" if ":" in host else f"http://{host}/")
        except FetchError as exc:
            raise DeliveryError(str(exc), permanent=isinstance(exc, BlockedURL)) from exc
    title_max = getattr(target, "title_maxlen", 250) or 250
    body_max = getattr(target, "body_maxlen", 32768) or 32768
    title, body = shape(message, title_max, min(body_max, 4000))
    notifier = apprise.Apprise()
    notifier.add(target)
    if not notifier.notify(title=title, body=body):
        raise DeliveryError(f"Apprise could not deliver to {target.service_name or 'the service'} (see the log)")
