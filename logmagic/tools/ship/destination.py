"""Where the shipper sends lines: the Scribe and HTTP clients of ``logmagic.transport``.

``send(category, lines)`` returns once the collector acknowledged the lines and raises
``Retry`` (try the same lines again later) or ``Reject`` (the collector refused them for good).
These are the clients the network sinks deliver through, used without a sink's queue or
worker thread: the shipper waits for each acknowledgment itself, which is what lets it record
a position only for delivered lines. ``--to`` takes the sinks' URLs and their client options
(``logmagic.transport.urls``), not their queue options: the shipper does its own batching.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from logmagic.transport.retry import Reject, Retry
from logmagic.transport.urls import CollectorUrl, parse_collector_url

__all__ = ["Destination", "Reject", "Retry", "open_destination", "shown_url"]

#: The schemes ``--to`` takes: collectors that acknowledge what they took.
SCHEMES = ("scribe", "http", "https")


class Destination(Protocol):
    """A collector the shipper sends batches of lines to."""

    #: The category used when a source has none of its own (Scribe); "" when the URL has none.
    category: str
    #: ``--to`` as the user gave it, a password in it hidden (``shown_url``): what the log and
    #: ``--status`` name.
    url: str

    def send(self, category: str, lines: list[bytes]) -> None: ...

    def close(self) -> None: ...


class _Scribe:
    url = ""

    def __init__(self, url: CollectorUrl) -> None:
        from logmagic.transport.scribe import ScribeClient

        self.category = url.path
        self.client = ScribeClient(url.host, url.port, url.path, url.timeout)

    def send(self, category: str, lines: list[bytes]) -> None:
        self.client.send(lines, category)

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"scribe://{self.client.host}:{self.client.port}/{self.category}"


class _Http:
    category = ""
    url = ""

    def __init__(self, url: CollectorUrl) -> None:
        from logmagic.transport.http import HttpClient, safe_url

        self.client = HttpClient(
            url.url, format=url.format, gzip_body=url.gzip, ca=url.ca, verify=url.verify, timeout=url.timeout
        )
        self.where = safe_url(url.url)  # never a password in the URL, nor header values

    def send(self, category: str, lines: list[bytes]) -> None:
        self.client.send(lines)

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return self.where


def shown_url(url: str) -> str:
    """``url`` as given, with the password of a ``user:password@`` part replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    where = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{where}"))


def open_destination(url: str) -> Destination:
    """The destination for ``scribe://host:port[/category]`` or ``http(s)://…`` (with their options)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise ValueError(f"--to {url!r}: expected scribe://host:port[/category] or http(s)://host/path")
    parsed = parse_collector_url(url, label="--to")
    try:
        destination: Destination = _Scribe(parsed) if scheme == "scribe" else _Http(parsed)
    except ValueError as exc:
        raise ValueError(f"--to {url!r}: {exc}") from None
    destination.url = shown_url(url)
    return destination
