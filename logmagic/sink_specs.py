"""Sink spec strings: how a sink is named in code and in ``LOGMAGIC_SINKS``.

* ``graylog2-stderr`` / ``gelf-stderr``: GELF lines on stderr (fd 2).
* ``console``: readable lines on stderr, colored on a terminal unless NO_COLOR is set.
* ``stderr://?format=json`` (or ``gelf``, ``console``): stderr in a chosen format.
* ``graylog2-stderr?block=100``, ``console?block=100``, ``stderr://?block=100``: on a full
  pipe, wait at most 100 ms, then drop the line and count it; ``block=wait`` (the default)
  waits as long as the reader needs.
* ``stdlib``: records handed to the standard library's ``logging`` (``StdlibSink``).
* ``file:///var/log/app.jsonl?format=gelf`` (default) or ``format=json`` / ``console``.

* ``scribe://host:1463/category``: Scribe over Thrift.
* ``http://host/path`` / ``https://…`` (``?format=gelf``, ``gzip=1``, ``ca=/path``, ``verify=0``).
* ``gelf+udp://host:12201``, ``gelf+tcp://host:12201``, ``gelf+tls://host:12201?ca=/path``.

Network sinks also take ``queue_size`` (records), ``queue_bytes``, ``batch_size``,
``batch_age``, ``block_ms`` and ``max_backoff`` in the query string.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from logmagic.sinks import ConsoleSink, FdSink, FileSink, Sink, StderrSink, StdlibSink
from logmagic.transport.urls import parse_collector_url
from logmagic.transport.urls import query_options as _options

#: Built-in sink names and how to make each. ``gelf-stderr`` is an alias of the original name.
BUILTIN: dict[str, Callable[[], Sink]] = {
    "graylog2-stderr": StderrSink,
    "gelf-stderr": StderrSink,
    "console": ConsoleSink,
    "stdlib": StdlibSink,
}
#: The built-in sinks that write to stderr, and their format.
_STDERR_FORMATS = {"graylog2-stderr": "gelf", "gelf-stderr": "gelf", "console": "console"}


def _file(spec: str) -> Sink:
    parts = urlsplit(spec)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"sink {spec!r}: a file URL needs an absolute path, as in file:///var/log/app.jsonl")
    path = unquote(parts.path)
    if not path or path.endswith("/"):
        raise ValueError(f"sink {spec!r}: no file name in the path")
    opts = _options(parts.query, spec, {"format"})
    return FileSink(path, _format(opts, spec))


def _stderr(spec: str) -> Sink:
    parts = urlsplit(spec)
    opts = _options(parts.query, spec, {"format", "block"})
    return FdSink(2, _format(opts, spec), block=_block(opts, spec))


def _block(opts: dict[str, str], spec: str) -> float | None:
    """The ``block`` option of a stderr sink: milliseconds a write may wait for a full pipe
    before its line is dropped and counted, or ``wait`` (the default) to wait without limit."""
    text = opts.get("block", "wait")
    if text == "wait":
        return None
    try:
        ms = float(text)
    except ValueError:
        ms = math.nan
    if not (math.isfinite(ms) and ms >= 0):
        raise ValueError(f"sink {spec!r}: block must be 'wait' or milliseconds >= 0, not {text!r}")
    return ms


def _builtin(spec: str) -> Sink | None:
    """A built-in sink by name, with options for the stderr ones (``graylog2-stderr?block=100``)."""
    name, sep, query = spec.partition("?")
    if name not in BUILTIN:
        return None
    if not sep:
        return BUILTIN[name]()
    opts = _options(query, spec, {"block"} if name in _STDERR_FORMATS else set())
    return StderrSink(_STDERR_FORMATS[name], block=_block(opts, spec))


def _format(opts: dict[str, str], spec: str) -> str:
    fmt = opts.get("format", "gelf")
    if fmt not in ("gelf", "json", "console"):
        raise ValueError(f"sink {spec!r}: format must be gelf, json or console, not {fmt!r}")
    return fmt


_QUEUE_OPTIONS = {
    "queue_size": int,
    "queue_bytes": int,
    "batch_size": int,
    "batch_age": float,
    "block_ms": float,
    "max_backoff": float,
}


def _queue_options(opts: dict[str, str], spec: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in _QUEUE_OPTIONS.items():
        if name in opts:
            try:
                out[name] = kind(opts[name])
            except ValueError:
                raise ValueError(f"sink {spec!r}: {name} must be a number, not {opts[name]!r}") from None
    return out


def _scribe(spec: str) -> Sink:
    from logmagic.sinks.scribe import ScribeSink

    url = parse_collector_url(spec, _QUEUE_OPTIONS.keys())
    return ScribeSink(url.host, url.port, url.path, timeout=url.timeout, **_queue_options(url.extra, spec))


def _http(spec: str) -> Sink:
    from logmagic.sinks.http import HttpSink

    url = parse_collector_url(spec, _QUEUE_OPTIONS.keys())
    return HttpSink(
        url.url,
        format=url.format,
        gzip_body=url.gzip,
        ca=url.ca,
        verify=url.verify,
        timeout=url.timeout,
        **_queue_options(url.extra, spec),
    )


def _gelf_udp(spec: str) -> Sink:
    from logmagic.sinks.gelf_net import GelfUdpSink

    url = parse_collector_url(spec, _QUEUE_OPTIONS.keys())
    return GelfUdpSink(url.host, url.port, **_queue_options(url.extra, spec))


def _gelf_tcp(spec: str) -> Sink:
    from logmagic.sinks.gelf_net import GelfTcpSink

    url = parse_collector_url(spec, _QUEUE_OPTIONS.keys())
    return GelfTcpSink(
        url.host,
        url.port,
        tls=url.scheme == "gelf+tls",
        ca=url.ca,
        timeout=url.timeout,
        **_queue_options(url.extra, spec),
    )


#: URL scheme -> factory taking the whole spec string.
SCHEMES: dict[str, Callable[[str], Sink]] = {
    "file": _file,
    "stderr": _stderr,
    "scribe": _scribe,
    "http": _http,
    "https": _http,
    "gelf+udp": _gelf_udp,
    "gelf+tcp": _gelf_tcp,
    "gelf+tls": _gelf_tcp,
}


def sink_from_spec(spec: str) -> Sink:
    """Make a sink from a spec string; a bad spec raises ``ValueError`` saying what is wrong."""
    spec = spec.strip()
    builtin = _builtin(spec)
    if builtin is not None:
        return builtin
    scheme, sep, _ = spec.partition("://")
    factory = SCHEMES.get(scheme.lower()) if sep else None
    if factory is None:
        known = ", ".join([*BUILTIN, *(f"{s}://" for s in SCHEMES)])
        raise ValueError(f"unknown sink spec {spec!r}: expected one of {known}")
    return factory(spec)
