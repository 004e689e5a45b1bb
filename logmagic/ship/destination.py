"""Where the shipper sends lines: the same Scribe and HTTP clients as logmagic's network sinks.

``send(category, lines)`` returns once the collector acknowledged the lines and raises
``Retry`` (try the same lines again later) or ``Reject`` (the collector refused them for good).
The sinks' own queues and worker threads are not used: the shipper waits for each
acknowledgment itself, which is what lets it record a position only for delivered lines.
"""

from __future__ import annotations

from typing import Protocol

from logmagic.sinks.queued import Reject, Retry
from logmagic.specs import scribe_address

__all__ = ["Destination", "Reject", "Retry", "open_destination"]


class Destination(Protocol):
    """A collector the shipper sends batches of lines to."""

    #: The category used when a source has none of its own (Scribe); "" when the URL has none.
    category: str

    def send(self, category: str, lines: list[bytes]) -> None: ...

    def close(self) -> None: ...


class _Scribe:
    def __init__(self, url: str) -> None:
        from logmagic.sinks.scribe import ScribeClient

        host, port, self.category, timeout, _ = scribe_address(url)
        self.client = ScribeClient(host, port, timeout)

    def send(self, category: str, lines: list[bytes]) -> None:
        self.client.send(category, lines)

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"scribe://{self.client.host}:{self.client.port}/{self.category}"


class _Http:
    category = ""

    def __init__(self, url: str) -> None:
        from logmagic.sinks.http import HttpSink
        from logmagic.specs import sink_from_spec

        sink = sink_from_spec(url)  # the sink's URL grammar and options; its queue is never used
        assert isinstance(sink, HttpSink)
        self.sink = sink

    def send(self, category: str, lines: list[bytes]) -> None:
        self.sink.deliver(lines)

    def close(self) -> None:
        self.sink.close_connection()

    def __repr__(self) -> str:
        return repr(self.sink)


def open_destination(url: str) -> Destination:
    """The destination for ``scribe://host:port[/category]`` or ``http(s)://…`` (sink options apply)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "scribe":
        return _Scribe(url)
    if scheme in ("http", "https"):
        return _Http(url)
    raise ValueError(f"--to {url!r}: expected scribe://host:port[/category] or http(s)://host/path")
