"""SSRF: every outgoing connection (feeds, redirects, article pages, webhooks) is resolved once, its
addresses checked, and the socket pinned to a checked address; non-public forms are refused with
a clear message. Real HTTP(S) servers on 127.0.0.1 and 127.0.0.2; the DNS is a test double that
replaces ``netguard.resolve`` (the one lookup), so a rebinding resolver can be scripted without
any traffic leaving the machine."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from storydiff.alerts import apprise_channel, webhook
from storydiff.alerts.channel import DeliveryError, Message
from storydiff.errors import BlockedURL, ConnectFailed
from storydiff.ingest import netguard
from storydiff.ingest.feeds import FeedSpec, add_feed
from storydiff.ingest.fetch import fetch, make_client
from storydiff.ingest.netguard import GuardedClient, refusal
from storydiff.ingest.refresh import refresh_due_feeds
from storydiff.store.models import Feed
from tests.conftest import need
from tests.feedserver import FeedServer


class DNS:
    """A DNS double: each name answers from its script of answers, one per lookup (the last one
    repeats); unknown names do not exist. Every lookup is recorded."""

    def __init__(self, **answers: list[list[str]]) -> None:
        self.answers = {name.replace("_", "."): list(script) for name, script in answers.items()}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        script = self.answers.get(host)
        if script is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return script.pop(0) if len(script) > 1 else script[0]


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production policy, with 127.0.0.1 (only) allowed: the stand-in for a public server."""
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "0")
    monkeypatch.setenv("STORYDIFF_ALLOWED_NETWORKS", "127.0.0.1/32")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def install(**answers: list[list[str]]) -> DNS:
        double = DNS(**answers)
        monkeypatch.setattr(netguard, "resolve", double)
        return double

    return install


@pytest.fixture
def two_servers():  # type: ignore[no-untyped-def]
    """'outside' on 127.0.0.1 (allowed) and 'inside' on 127.0.0.2 (refused), on one port, each
    serving /feed: a connection that went to the wrong one shows in the body and the requests."""
    outside = FeedServer("127.0.0.1")
    try:
        inside = FeedServer("127.0.0.2", outside.port)
    except OSError as exc:
        outside.close()
        need(False, f"cannot listen on 127.0.0.2:{outside.port} ({exc})")
    outside.add("/feed", "outside: the page that was checked")
    inside.add("/feed", "inside: an internal page")
    yield outside, inside
    outside.close()
    inside.close()


def test_a_rebinding_resolver_gets_one_lookup_and_the_connection_goes_to_the_checked_address(guarded, dns, two_servers):
    outside, inside = two_servers
    resolver = dns(news_test=[["127.0.0.1"], ["127.0.0.2"]])  # checked answer first, inward after
    url = f"http://news.test:{outside.port}/feed"
    with make_client() as client:
        first = fetch(url, client)
        again = fetch(url, client)  # the kept-alive connection: still the checked address
    assert first.body == again.body == b"outside: the page that was checked"
    assert resolver.lookups == ["news.test"]  # one lookup: httpx did not resolve a second time
    assert [r.headers["host"] for r in outside.requests] == [f"news.test:{outside.port}"] * 2  # Host stays the name
    assert inside.requests == []
    with make_client() as client, pytest.raises(BlockedURL) as refused:
        fetch(url, client)  # a new connection: a new lookup, checked again, now inward
    assert resolver.lookups == ["news.test", "news.test"]
    assert "news.test resolves to the non-public address 127.0.0.2 (a loopback address)" in str(refused.value)
    assert str(refused.value).startswith(f"refused {url}: ")
    assert inside.requests == []


def test_https_keeps_the_name_for_sni_certificate_and_host_while_connecting_to_the_pinned_address(
    guarded, dns, tmp_path: Path
):
    need(shutil.which("openssl"), "the openssl command (makes the test certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=feeds.test",
         "-addext", "subjectAltName=DNS:feeds.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment]
    server = FeedServer("127.0.0.1", tls=server_tls)
    try:
        server.add("/feed", "over TLS")
        resolver = dns(feeds_test=[["127.0.0.1"], ["127.0.0.2"]])
        trust = ssl.create_default_context(cafile=str(cert))
        with GuardedClient(verify=trust) as client:
            result = fetch(f"https://feeds.test:{server.port}/feed", client)
        assert result.body == b"over TLS"
        assert sni == ["feeds.test"]  # SNI and the certificate check used the name, not 127.0.0.1
        assert server.requests[0].headers["host"] == f"feeds.test:{server.port}"
        assert resolver.lookups == ["feeds.test"]
        with GuardedClient(verify=trust) as client, pytest.raises(ConnectFailed):
            fetch(f"https://127.0.0.1:{server.port}/feed", client)  # the certificate is not for 127.0.0.1
    finally:
        server.close()


def test_one_non_public_address_in_an_answer_refuses_the_host_before_any_connection(guarded, dns, two_servers):
    outside, inside = two_servers
    dns(mixed_test=[["127.0.0.1", "127.0.0.2"]], public_and_loopback_test=[["93.184.216.34", "127.0.0.2"]])
    with make_client() as client:
        with pytest.raises(BlockedURL, match=r"resolves to the non-public address 127\.0\.0\.2"):
            fetch(f"http://mixed.test:{outside.port}/feed", client)
        with pytest.raises(BlockedURL, match=r"resolves to the non-public address 127\.0\.0\.2"):
            fetch(f"http://public.and.loopback.test:{outside.port}/feed", client)
    assert outside.requests == inside.requests == []


NON_PUBLIC = [
    ("64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1, a loopback address"),
    ("64:ff9b::a00:1", "a NAT64 address embedding 10.0.0.1, a private or special-purpose address"),
    ("2002:7f00:1::", "a 6to4 address embedding 127.0.0.1, a loopback address"),
    ("2002:a9fe:a9fe::1", "a 6to4 address embedding 169.254.169.254, a link-local address"),
    ("::127.0.0.1", "an IPv4-compatible IPv6 address, of 127.0.0.1"),
    ("::ffff:127.0.0.1", "an IPv4-mapped IPv6 address, of 127.0.0.1"),
    ("::ffff:8.8.8.8", "an IPv4-mapped IPv6 address, of 8.8.8.8"),
    ("::ffff:0:7f00:1", "an IPv4-translated IPv6 address, of 127.0.0.1"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("ff0e::1", "a multicast address"),
    ("0.0.0.0", "the unspecified address"),
    ("::", "the unspecified address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "the broadcast address"),
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("169.254.169.254", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("10.1.2.3", "a private or special-purpose address"),
    ("fd00::1", "a private or special-purpose address"),
    ("2001:db8::1", "a private or special-purpose address"),
    ("127.0.0.1", "a loopback address"),
    ("::1", "a loopback address"),
]


@pytest.mark.parametrize(("address", "why"), NON_PUBLIC)
def test_each_non_public_form_is_refused_as_a_literal_and_as_a_dns_answer(address, why, dns, monkeypatch):
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "0")
    host = f"[{address}]" if ":" in address else address
    with make_client() as client:
        with pytest.raises(BlockedURL) as literal:
            fetch(f"http://{host}:8080/feed", client)
        dns(evil_test=[[address]])
        with pytest.raises(BlockedURL) as answered:
            fetch("http://evil.test:8080/feed", client)
    assert f"refused http://{host}:8080/feed: the non-public address {address} ({why}" in str(literal.value)
    assert f"evil.test resolves to the non-public address {address} ({why}" in str(answered.value)
    for message in (str(literal.value), str(answered.value)):
        assert "STORYDIFF_ALLOW_PRIVATE_URLS=1" in message and "STORYDIFF_ALLOWED_NETWORKS" in message


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:4700:4700::1111", "64:ff9b::5db8:d822", "2002:5db8:d822::1", "1.1.1.1"],
)
def test_global_unicast_addresses_and_transition_forms_of_public_ones_pass(address):
    assert refusal(ipaddress.ip_address(address)) is None


def test_redirects_to_private_addresses_are_refused_on_every_hop(db, guarded, dns, two_servers):
    from tests.test_hostile_feeds import redirect_to

    outside, inside = two_servers
    port = outside.port
    dns(outside_test=[["127.0.0.1"]], inside_test=[["127.0.0.1"], ["127.0.0.2"]])
    outside.add("/to-literal", handler=redirect_to(f"http://127.0.0.2:{port}/feed"))
    outside.add("/to-name", handler=redirect_to(f"http://inside.test:{port}/feed"))
    outside.add("/to-mapped", handler=redirect_to(f"http://[::ffff:127.0.0.2]:{port}/feed"))
    with make_client() as client:
        assert fetch(f"http://inside.test:{port}/feed", client).body.startswith(b"outside")  # first answer: allowed
    refused = {
        "/to-literal": f"refused http://127.0.0.2:{port}/feed: the non-public address 127.0.0.2 (a loopback address)",
        "/to-name": f"refused http://inside.test:{port}/feed: inside.test resolves to the non-public address 127.0.0.2",
        "/to-mapped": f"refused http://[::ffff:127.0.0.2]:{port}/feed: the non-public address ::ffff:127.0.0.2",
    }
    with db.begin() as s:
        for path in refused:
            add_feed(s, FeedSpec(f"http://outside.test:{port}{path}", "Outside", "newspaper"))
    results = {r.url.rsplit("/", 1)[1]: r for r in refresh_due_feeds(db)}
    for path, message in refused.items():
        result = results[path.lstrip("/")]
        assert result.status == "error" and message in (result.error or ""), result.error
    with db() as s:
        assert all(message in (f.last_error or "") for f, message in zip(
            s.scalars(select(Feed).order_by(Feed.id)), refused.values(), strict=True
        ))  # fmt: skip
    assert inside.requests == []
    assert len(outside.requests_to("/to-literal")) == len(outside.requests_to("/to-name")) == 1


def test_a_normal_fetch_from_127_0_0_1_works_when_private_urls_are_allowed(feed_server, dns):
    resolver = dns(local_test=[["127.0.0.1"], ["127.0.0.2"]])
    feed_server.add("/feed", "a local feed")
    with make_client() as client:
        assert fetch(feed_server.url("/feed"), client).body == b"a local feed"
        assert fetch(f"http://local.test:{feed_server.port}/feed", client).body == b"a local feed"
    assert resolver.lookups == ["local.test"]  # a literal address is never looked up


def test_a_name_that_does_not_resolve_is_a_clear_connect_failure(dns, monkeypatch):
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "0")
    dns()
    with (
        make_client() as client,
        pytest.raises(ConnectFailed, match=r"cannot resolve host .nowhere\.test. .*no such host"),
    ):
        fetch("http://nowhere.test/feed", client)


def test_fetch_refuses_a_client_without_the_guard(feed_server):
    import httpx

    with httpx.Client() as plain, pytest.raises(TypeError, match="make_client"):
        fetch(feed_server.add("/feed", "x"), plain)


def message() -> Message:
    return Message("msg-1", {"type": "divergence"}, "A title", "A body", "http://127.0.0.1:8000/stories/1")


def test_a_webhook_connection_is_pinned_and_checked_too(guarded, dns, two_servers):
    outside, inside = two_servers
    resolver = dns(hook_test=[["127.0.0.1"], ["127.0.0.2"]])
    target = f"http://hook.test:{outside.port}/feed"
    assert webhook.send(message(), target, webhook.new_secret()) == 200
    assert [r.headers["host"] for r in outside.requests] == [f"hook.test:{outside.port}"]
    with pytest.raises(DeliveryError) as refused:
        webhook.send(message(), target, webhook.new_secret())  # the next delivery: a new lookup, inward
    assert refused.value.permanent
    assert "hook.test resolves to the non-public address 127.0.0.2" in str(refused.value)
    assert resolver.lookups == ["hook.test", "hook.test"] and inside.requests == []


def test_apprise_targets_are_checked_before_apprise_connects(dns, monkeypatch):
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "0")
    dns(notify_test=[["10.0.0.7"]])
    with pytest.raises(DeliveryError) as refused:
        apprise_channel.send(message(), "json://notify.test:9/")
    assert refused.value.permanent
    assert "notify.test resolves to the non-public address 10.0.0.7 (a private or special-purpose address)" in str(
        refused.value
    )


def test_a_bad_allowed_networks_setting_is_a_clear_error(monkeypatch, feed_server):
    from storydiff.errors import ConfigError

    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "0")
    monkeypatch.setenv("STORYDIFF_ALLOWED_NETWORKS", "10.0.0.0/8, intranet")
    with make_client() as client, pytest.raises(ConfigError, match="'intranet' is not an address or network"):
        fetch(feed_server.add("/feed", "x"), client)
    assert feed_server.requests == []


def test_article_pages_go_through_the_same_guard(db, guarded, dns, two_servers):
    from storydiff.ingest.fulltext import extract_pending
    from storydiff.store.models import Article
    from tests.feedserver import rss

    outside, inside = two_servers
    dns(outside_test=[["127.0.0.1"]], pages_test=[["127.0.0.2"]])
    link, date = f"http://pages.test:{outside.port}/feed", "Tue, 21 Oct 2025 10:00:00 +0000"
    item = {"title": "Talks", "link": link, "guid": "1", "date": date, "description": "Short."}
    outside.add("/rss", rss([item]))
    with db.begin() as s:
        add_feed(s, FeedSpec(f"http://outside.test:{outside.port}/rss", "Outside", "newspaper"))
    [result] = refresh_due_feeds(db)
    assert result.status == "ok" and result.new == 1
    with db() as s:
        assert extract_pending(s) == {"failed": 1}
        error = s.scalars(select(Article.fulltext_error)).one() or ""
    assert "pages.test resolves to the non-public address 127.0.0.2 (a loopback address)" in error
    assert inside.requests == []


def test_apprise_checks_the_hosts_apprise_connects_to_and_never_looks_up_a_token(dns, monkeypatch):
    from storydiff.alerts.apprise_channel import network_hosts, plugin

    assert network_hosts(plugin("slack://T0KENA/B0KEN/C0KEN")) == []  # fixed service: its "host" is a token
    assert network_hosts(plugin("tgram://123456:ABCDEF/987")) == []
    assert network_hosts(plugin("discord://1234/abcd")) == []
    assert network_hosts(plugin("json://hooks.example:8080/x")) == ["hooks.example"]
    assert network_hosts(plugin("mailtos://user:pw@mail.example?smtp=smtp.internal")) == [
        "mail.example",
        "smtp.internal",
    ]
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "0")
    resolver = dns(mail_example=[["93.184.216.34"]], smtp_internal=[["10.0.0.7"]])
    with pytest.raises(DeliveryError) as refused:  # refused before Apprise opens any connection
        apprise_channel.send(message(), "mailtos://user:pw@mail.example?smtp=smtp.internal")
    assert refused.value.permanent
    assert "smtp.internal resolves to the non-public address 10.0.0.7" in str(refused.value)
    assert resolver.lookups == ["mail.example", "smtp.internal"]
