"""Outgoing connections that DNS cannot turn inward (the SSRF guard of feeds, article pages and webhooks).

A host is resolved once per connection (``resolve``, the one DNS lookup, which tests replace with a
DNS double), every address of the answer is checked, and the socket connects to a checked address.
TLS still verifies the certificate and sends SNI for the name, and the Host header stays the name:
httpx sets both from the URL, only the TCP connect is ours (an httpcore network backend). Without
this, httpx resolves a second time when it connects, and a resolver answering a public address to
the check and 127.0.0.1 to the connect (DNS rebinding) gets an internal page fetched.

The address policy: every address, and every IPv4 address embedded in an IPv6 one (NAT64
64:ff9b::/96, 6to4 2002::/16), must be global unicast. IPv4-mapped (::ffff:a.b.c.d),
IPv4-compatible (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d) forms are refused whatever
they embed, as are multicast, unspecified, reserved, loopback, link-local, private, shared (CGNAT)
and documentation addresses. STORYDIFF_ALLOW_PRIVATE_URLS=1 lifts the policy;
STORYDIFF_ALLOWED_NETWORKS lets chosen networks through (an internal feed server) and keeps the rest.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from storydiff import settings
from storydiff.errors import BlockedURL, ConfigError
from storydiff.ingest.urls import RedactURLs

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are IPv4
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")  # RFC 3056: bits 16-48 are IPv4
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 (deprecated): the last 32 bits are IPv4
IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765 SIIT
SHARED_V4 = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT
BROADCAST_V4 = ipaddress.IPv4Address("255.255.255.255")
HINT = "set STORYDIFF_ALLOW_PRIVATE_URLS=1 to allow private networks, or list the network in STORYDIFF_ALLOWED_NETWORKS"


def resolve(host: str, port: int) -> list[str]:
    """The DNS lookup: the host's addresses in the resolver's order, each once. The one place a
    name becomes addresses (tests replace this function with a DNS double)."""
    addresses: list[str] = []
    for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP):
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally (``127.0.0.1``, ``::1``, ``[::1]``, ``fe80::1%eth0``), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _kind(ip: IPAddress) -> str | None:
    """What kind of non-public address ip is; None for a global unicast address."""
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address"
    if ip == BROADCAST_V4:
        return "the broadcast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in SHARED_V4:
        return "a shared (carrier-grade NAT) address"
    if isinstance(ip, ipaddress.IPv4Address) and ip.is_reserved:  # 240/4 (IPv6's "reserved" is checked below)
        return "a reserved address"
    if ip.is_private:
        return "a private or special-purpose address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global or (isinstance(ip, ipaddress.IPv6Address) and ip not in GLOBAL_UNICAST_V6):
        return "not a global unicast address"
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why connecting to ip is refused ("a NAT64 address embedding 127.0.0.1, a loopback address"),
    or None when it is global unicast and so is any IPv4 address it embeds."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _kind(ip)
    ip = ipaddress.IPv6Address(int(ip))  # without a %zone
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return f"an IPv4-mapped IPv6 address, of {ip.ipv4_mapped}: such forms are refused"
    if ip in IPV4_TRANSLATED:
        return f"an IPv4-translated IPv6 address, of {low32}: such forms are refused"
    if ip in IPV4_COMPATIBLE and int(ip) > 1:
        return f"an IPv4-compatible IPv6 address, of {low32}: such forms are refused"
    embedded = {NAT64: ("a NAT64", low32), SIX_TO_FOUR: ("a 6to4", ip.sixtofour)}
    for network, (label, v4) in embedded.items():
        if ip in network and v4 is not None:
            kind = _kind(v4)
            return f"{label} address embedding {v4}, {kind}" if kind else None
    return _kind(ip)


def allowed_networks() -> list[IPNetwork]:
    """STORYDIFF_ALLOWED_NETWORKS: addresses or CIDR networks, separated by commas or spaces."""
    networks = []
    for item in settings.get("STORYDIFF_ALLOWED_NETWORKS").replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"STORYDIFF_ALLOWED_NETWORKS: {item!r} is not an address or network ({exc})") from exc
    return networks


def address_refusal(ip: IPAddress, networks: Iterable[IPNetwork] = ()) -> str | None:
    """refusal() under the settings: None when private URLs are allowed or ip is in an allowed network."""
    if settings.get_bool("STORYDIFF_ALLOW_PRIVATE_URLS"):
        return None
    bare = ip if isinstance(ip, ipaddress.IPv4Address) else ipaddress.IPv6Address(int(ip))  # no %zone
    if any(bare.version == net.version and bare in net for net in networks):
        return None
    return refusal(bare)


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve host once and check every address of the answer (one refused address refuses
    the host: a name that also points inward is not trusted). Raises BlockedURL with the reason,
    socket.gaierror when the name does not resolve."""
    literal = literal_address(host)
    addresses = [host.strip("[]")] if literal is not None else resolve(host, port)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "the resolver returned no address")
    networks = allowed_networks()
    for address in addresses:
        ip = literal_address(address)
        if ip is None:
            raise BlockedURL(f"{host} resolves to {address!r}, which is not an IP address")
        reason = address_refusal(ip, networks)
        if reason:
            where = "" if literal is not None else f"{host} resolves to "
            raise BlockedURL(f"{where}the non-public address {address} ({reason}); {HINT}")
    return addresses


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, except that connect_tcp resolves the host itself, once, checks
    the answer, and connects to a checked address (never to a second lookup's answer)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(host, port)
        except (OSError, UnicodeError) as exc:  # the lookup failed: httpx's ConnectError, the cause kept
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        failure: Exception | None = None
        for address in addresses:  # the parent connects to a literal address: no second lookup
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure


@functools.lru_cache(maxsize=1)
def default_tls() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once per process (a load takes ~40 ms, and a
    CLI command used to load them four times: two clients, each building the parent's pool too).
    An SSLContext is safe to share between clients and threads."""
    return httpx.create_ssl_context(verify=True, trust_env=False)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose connections go through PinnedBackend."""

    def __init__(self, verify: ssl.SSLContext | bool = True, limits: httpx.Limits | None = None) -> None:
        context = default_tls() if verify is True else httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=context, trust_env=False)
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        self._pool = httpcore.ConnectionPool(  # replaces the parent's pool, built the same way but for the backend
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(),
        )


_HTTPX_LOG = logging.getLogger("httpx")  # logs each request's URL at INFO: credentials masked first
if not any(isinstance(f, RedactURLs) for f in _HTTPX_LOG.filters):
    _HTTPX_LOG.addFilter(RedactURLs())


class GuardedClient(httpx.Client):
    """An httpx client whose every connection is resolved once, checked and pinned (no proxies,
    no environment). ingest.fetch.fetch() and the webhook channel take only this kind."""

    def __init__(self, verify: ssl.SSLContext | bool = True, **kwargs: Any) -> None:
        super().__init__(transport=PinnedTransport(verify), trust_env=False, **kwargs)
