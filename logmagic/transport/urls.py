"""Collector URLs taken apart: one grammar for the network sinks and for ``logmagic ship --to``.

* ``scribe://host:1463/category?timeout=S``
* ``http://host/path`` or ``https://…``, with ``format=gelf``, ``gzip=1``, ``ca=/path``,
  ``verify=0``, ``timeout=S``
* ``gelf+udp://host:12201``, ``gelf+tcp://host:12201?timeout=S``,
  ``gelf+tls://host:12201?ca=/path&timeout=S``

Each scheme takes its own options; a caller names the options it adds (the sinks: their queue
options) and gets those back as text. An unknown option, a port that is not a number or a
timeout that is not a number of seconds above 0 is a ``ValueError`` that names the URL, raised
before anything connects. Whether a CA file exists or a format is known is the client's check.
"""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["DEFAULT_PORTS", "DEFAULT_TIMEOUT", "SCHEME_OPTIONS", "CollectorUrl", "parse_collector_url", "query_options"]

_HTTP = frozenset(("format", "gzip", "ca", "verify", "timeout"))
#: The options each scheme takes in its query string.
SCHEME_OPTIONS: dict[str, frozenset[str]] = {
    "scribe": frozenset(("timeout",)),
    "http": _HTTP,
    "https": _HTTP,
    "gelf+udp": frozenset(),
    "gelf+tcp": frozenset(("ca", "timeout")),
    "gelf+tls": frozenset(("ca", "timeout")),
}
#: The port of a scheme whose URL has none.
DEFAULT_PORTS = {"scribe": 1463, "http": 80, "https": 443, "gelf+udp": 12201, "gelf+tcp": 12201, "gelf+tls": 12201}
#: Seconds a connection or an answer may take without a ``timeout`` option.
DEFAULT_TIMEOUT = 10.0


class CollectorUrl(NamedTuple):
    """A collector URL, its options checked; what the clients of this package are made from."""

    scheme: str
    #: The URL without its query string: what an HTTP client posts to.
    url: str
    host: str
    port: int
    #: The path without its slashes at either end, unquoted: a Scribe URL's category.
    path: str
    timeout: float
    #: HTTP: ``ndjson`` (the default) or ``gelf``, checked by the client.
    format: str
    gzip: bool
    ca: str | None
    verify: bool
    #: The options of the caller's own ``extra`` that the URL gave, as text.
    extra: dict[str, str]


def query_options(query: str, url: str, allowed: AbstractSet[str], label: str = "sink") -> dict[str, str]:
    """The options of a query string (the last value of a repeated one); any not in ``allowed``
    is a ``ValueError`` saying ``<label> <url>: unknown option(s) ...``."""
    opts = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(opts) - allowed
    if unknown:
        raise ValueError(f"{label} {url!r}: unknown option(s) {', '.join(sorted(unknown))}")
    return opts


def parse_collector_url(url: str, extra: AbstractSet[str] = frozenset(), label: str = "sink") -> CollectorUrl:
    """Take ``url`` apart; ``extra`` names the options the caller adds to the scheme's own.

    ``label`` starts every error message (``sink``; ``--to`` for the shipper).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEME_OPTIONS:
        known = ", ".join(f"{s}://" for s in SCHEME_OPTIONS)
        raise ValueError(f"{label} {url!r}: expected one of {known}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError(f"{label} {url!r}: the port is not a number") from None
    if not parts.hostname and scheme not in ("http", "https"):  # the HTTP client says why it needs one
        raise ValueError(f"{label} {url!r}: expected host:port")
    opts = query_options(parts.query, url, {*SCHEME_OPTIONS[scheme], *extra}, label)
    return CollectorUrl(
        scheme=scheme,
        url=url.split("?", 1)[0],
        host=parts.hostname or "",
        port=port,
        path=unquote(parts.path.strip("/")),
        timeout=_timeout(opts, url, label),
        format=opts.get("format", "ndjson"),
        gzip=opts.get("gzip", "0") in ("1", "true", "yes"),
        ca=opts.get("ca"),
        verify=opts.get("verify", "1") not in ("0", "false", "no"),
        extra={name: value for name, value in opts.items() if name in extra},
    )


def _timeout(opts: dict[str, str], url: str, label: str) -> float:
    """The ``timeout`` option in seconds (10 without one): a finite number above 0.

    A timeout of 0 or less, or an infinite one, would make every send fail at once or never
    fail, and be retried forever: it is refused here, when the client is made.
    """
    text = opts.get("timeout")
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        timeout = float(text)
    except ValueError:
        timeout = math.nan
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"{label} {url!r}: timeout must be a number of seconds above 0, not {text!r}")
    return timeout
