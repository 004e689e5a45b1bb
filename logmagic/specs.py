"""Sink spec strings: how a sink is named in code and in ``LOGMAGIC_SINKS``.

* ``graylog2-stderr`` / ``gelf-stderr``: GELF lines on stderr (fd 2).
* ``console``: readable lines on stderr, colored on a terminal unless NO_COLOR is set.
* ``stderr://?format=json`` (or ``gelf``, ``console``): stderr in a chosen format.
* ``file:///var/log/app.jsonl?format=gelf`` (default) or ``format=json`` / ``console``.

Other schemes (network forwarders) register themselves in ``SCHEMES``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from logmagic.sinks import ConsoleSink, FdSink, FileSink, Sink, StderrSink

#: Built-in sink names and how to make each. ``gelf-stderr`` is an alias of the original name.
BUILTIN: dict[str, Callable[[], Sink]] = {
    "graylog2-stderr": StderrSink,
    "gelf-stderr": StderrSink,
    "console": ConsoleSink,
}


def _options(query: str, spec: str, allowed: set[str]) -> dict[str, str]:
    opts = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    unknown = set(opts) - allowed
    if unknown:
        raise ValueError(f"sink {spec!r}: unknown option(s) {', '.join(sorted(unknown))}")
    return opts


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
    opts = _options(parts.query, spec, {"format"})
    return FdSink(2, _format(opts, spec))


def _format(opts: dict[str, str], spec: str) -> str:
    fmt = opts.get("format", "gelf")
    if fmt not in ("gelf", "json", "console"):
        raise ValueError(f"sink {spec!r}: format must be gelf, json or console, not {fmt!r}")
    return fmt


#: URL scheme -> factory taking the whole spec string.
SCHEMES: dict[str, Callable[[str], Sink]] = {"file": _file, "stderr": _stderr}


def sink_from_spec(spec: str) -> Sink:
    """Make a sink from a spec string; a bad spec raises ``ValueError`` saying what is wrong."""
    spec = spec.strip()
    if spec in BUILTIN:
        return BUILTIN[spec]()
    scheme, sep, _ = spec.partition("://")
    factory = SCHEMES.get(scheme.lower()) if sep else None
    if factory is None:
        known = ", ".join([*BUILTIN, *(f"{s}://" for s in SCHEMES)])
        raise ValueError(f"unknown sink spec {spec!r}: expected one of {known}")
    return factory(spec)
