"""URLs (pure): canonical URLs (the same article reached through tracking links is one article),
and redaction (credentials in a URL are never shown)."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, unquote_plus, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset({"fbclid", "gclid", "gclsrc", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMS


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """Absolute http(s) URL without fragment, tracking parameters or default port; else None.

    >>> canonical_url("HTTPS://Example.com:443/a?utm_source=x&id=3#top")
    'https://example.com/a?id=3'
    """
    if not url:
        return None
    url = url.strip()
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}{':' + parts.password if parts.password else ''}@{host}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query, doseq=True), ""))


# Redaction (pure): secrets people put in URLs — userinfo, API keys and tokens in the query — never
# leave in a page, an API answer, an export, a log line or an error message. The stored URL is kept
# as given and is what is fetched; only what is shown is redacted.
MASK = "***"
SECRET_PARAMS = frozenset(
    {
        "key", "token", "api_key", "apikey", "access_token", "auth_token", "refresh_token", "id_token",
        "client_secret", "secret", "sig", "signature", "password", "passwd", "pass", "pwd", "auth",
        "authorization", "session", "sessionid", "session_id", "phpsessid", "jsessionid", "jwt", "bearer",
        "credential", "credentials", "private_token", "hmac",
    }
)  # fmt: skip
SECRET_SUFFIXES = (
    "_key", "_token", "_secret", "_password", "_passwd", "_signature", "_sig", "_credential", "_session",
    "token", "secret", "password", "apikey",
)  # fmt: skip
_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>"'`]+""")
_TRAILING = ".,;:!?)]}"


def is_secret_param(name: str) -> bool:
    """A query parameter whose value is a credential: key, token, api_key, sig, password, session…
    (case and -/_ ignored; also *_token, *_key, X-Amz-Signature and the like)."""
    lowered = unquote_plus(name).strip().lower().replace("-", "_")
    return lowered in SECRET_PARAMS or lowered.endswith(SECRET_SUFFIXES)


def _redact_params(text: str) -> str:
    out = []
    for part in text.split("&"):
        name, eq, value = part.partition("=")
        out.append(f"{name}={MASK}" if eq and value and is_secret_param(name) else part)
    return "&".join(out)


def redact_url(url: str, *, keep_path: bool = True) -> str:
    """The URL as it may be shown: userinfo becomes ``***``, values of secret-looking query (and
    fragment) parameters become ``***``, everything else stays as written. keep_path=False also
    drops path and query (for targets whose path is the credential, like webhook URLs).

    >>> redact_url("https://user:pw@feeds.example/x.xml?api_key=abc&lang=en")
    'https://***@feeds.example/x.xml?api_key=***&lang=en'
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL we can take apart (a broken IPv6 literal): mask what looks secret
        return re.sub(r"//[^/@\s]*@", f"//{MASK}@", _redact_params(url))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    if not keep_path:
        return f"{parts.scheme}://{netloc}/…" if netloc else f"{parts.scheme}://…"
    query = _redact_params(parts.query)
    fragment = _redact_params(parts.fragment) if "=" in parts.fragment else parts.fragment
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # nothing secret: exactly as written
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_text(text: str | None) -> str | None:
    """Every URL in a message (an error, a log line) passed through redact_url."""
    if not text or "://" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        core = found.rstrip(_TRAILING)
        return redact_url(core) + found[len(core) :]

    return _URL_IN_TEXT.sub(one, text)


class RedactURLs(logging.Filter):
    """A logging filter masking credentials in the URLs of a record's message (httpx logs every
    request's full URL at INFO: ``HTTP Request: GET https://user:pw@…?token=…``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
