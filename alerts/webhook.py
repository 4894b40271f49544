"""Webhook channel: POST the alert as JSON, signed the Standard Webhooks way.

Headers ``webhook-id`` (the delivery's stable id: a retry sends the same one), ``webhook-timestamp``
(Unix seconds) and ``webhook-signature`` = ``v1,`` + base64(HMAC-SHA256(secret, "id.timestamp.body")),
where the secret is the subscription's ``whsec_…`` key, base64-decoded after the prefix. The target
goes through the same guard as feed fetching: the connection is resolved once, every address
checked (no private, loopback, link-local, multicast or embedded-private address unless
STORYDIFF_ALLOW_PRIVATE_URLS=1) and the socket pinned to the checked address; connect/read/total
time limits; a bounded response read; redirects are not followed."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time

import httpx

from storydiff.alerts.channel import DeliveryError, Message, is_permanent_status
from storydiff.errors import BlockedURL, FetchError
from storydiff.ingest.fetch import _read_body, check_scheme, make_client, parse_retry_after, require_guarded
from storydiff.ingest.urls import redact_text, redact_url

RESPONSE_LIMIT = 64 * 1024  # a receiver's answer is read only this far


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, uid: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{uid}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: float = 300.0) -> bool:
    """What a receiver does (and the tests): recompute the signature, compare in constant time,
    refuse a timestamp too far from now (replays)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    uid, stamp = lowered.get("webhook-id", ""), lowered.get("webhook-timestamp", "")
    if not uid or not stamp.isdigit() or abs(time.time() - int(stamp)) > tolerance:
        return False
    expected = sign(secret, uid, int(stamp), body).split(",", 1)[1]
    offered = [s.split(",", 1)[1] for s in lowered.get("webhook-signature", "").split() if "," in s]
    return any(hmac.compare_digest(expected, s) for s in offered)


def send(message: Message, url: str, secret: str, client: httpx.Client | None = None) -> int:
    """POST the message; returns the HTTP status on 2xx, raises DeliveryError otherwise. Errors name
    the target without its path and query (a webhook URL's path is often its credential)."""
    shown = redact_url(url, keep_path=False)
    try:
        check_scheme(url)
    except BlockedURL as exc:
        raise DeliveryError(f"refused {shown}: only http:// and https:// webhook URLs", permanent=True) from exc
    body = json.dumps(message.payload, ensure_ascii=False, sort_keys=True).encode()
    stamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": message.uid,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, message.uid, stamp, body),
    }
    own = client is None
    client = client or make_client()
    require_guarded(client)
    try:
        with client.stream("POST", url, content=body, headers=headers) as response:
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            with contextlib.suppress(FetchError):  # the answer's body is read (bounded), dropped: the status counts
                _read_body(response, shown, RESPONSE_LIMIT, time.monotonic() + 10)
    except BlockedURL as exc:  # the connection's address check: a refused address stays refused
        raise DeliveryError(f"refused {shown}: {exc}", permanent=True) from exc
    except httpx.HTTPError as exc:  # a DNS failure or a refused connection may pass: retried
        raise DeliveryError(f"{shown}: {type(exc).__name__}: {redact_text(str(exc))}") from exc
    finally:
        if own:
            client.close()
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise DeliveryError(
            f"{shown} answered {status}: webhooks do not follow redirects; use the final URL", status=status
        )
    raise DeliveryError(
        f"{shown} answered {status}", status=status, permanent=is_permanent_status(status), retry_after=retry_after
    )
