"""The storydiff exception tree. Every message says what was wrong and what to do.

StorydiffError
├── ConfigError                 a setting or input file is invalid
│   └── InvalidInput            a record of an input file is malformed (says which line and field)
├── NotFound                    an id or URL that is not in the database
├── FeedError                   a feed could not be fetched or read (stored on the feed)
│   ├── FetchError              the HTTP exchange failed
│   │   ├── BlockedURL          scheme or address refused (private network, not http/https)
│   │   ├── ConnectFailed       DNS, TCP or TLS failure
│   │   ├── FetchTimeout        connect/read/total time limit reached
│   │   ├── TooManyRedirects    more than STORYDIFF_MAX_REDIRECTS hops, or a loop
│   │   ├── BodyTooLarge        body (or its decompressed form) over STORYDIFF_MAX_BODY_BYTES
│   │   └── HTTPStatusError     4xx/5xx answer; carries status and Retry-After
│   └── ParseError              the body is not a feed, or no entry could be read
"""

from __future__ import annotations


class StorydiffError(Exception):
    """Base class of every error storydiff raises on purpose."""


class ConfigError(StorydiffError):
    pass


class InvalidInput(ConfigError):
    pass


class NotFound(StorydiffError):
    pass


class FeedError(StorydiffError):
    pass


class FetchError(FeedError):
    pass


class BlockedURL(FetchError):
    pass


class ConnectFailed(FetchError):
    pass


class FetchTimeout(FetchError):
    pass


class TooManyRedirects(FetchError):
    pass


class BodyTooLarge(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(FeedError):
    pass
