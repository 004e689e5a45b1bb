"""How gelf-chainsaw prints a matching line: pretty, json, raw or chosen fields.

Output meant for a person (pretty lines, columns, counts) is made safe for a terminal by the
console encoder, the one the console sink uses; it is imported when such output is asked
for, so that a search piped into ``jq`` loads no encoder at all.

Every renderer takes the parsed object, the line as read, the line without its svlogd prefix,
the prefix's time and where the line came from (``source``: the file or svlogd directory, as
``--with-filename`` shows it), and gives the bytes to print, newline included.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

from logmagic.levels import INFO
from logmagic.record import Record
from logmagic.tools.chainsaw.query import (
    MISSING,
    QueryError,
    as_number,
    as_text,
    json_text,
    lookup,
    record_time,
)

__all__ = [
    "TIME_NAMES",
    "Columns",
    "Pretty",
    "Renderer",
    "counts",
    "iso_time",
    "json_line",
    "json_with_source",
    "raw_line",
    "raw_with_source",
]

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:
    from typing import Any

#: (object, line as read, line without prefix, prefix time, source) -> bytes, newline included.
Renderer = Callable[[dict[str, "Any"], bytes, bytes, "float | None", str], bytes]

#: Keys shown in the line head (or not at all) rather than among the fields.
_HEAD_KEYS = frozenset(
    (
        "version",
        "host",
        "short_message",
        "message",
        "msg",
        "full_message",
        "timestamp",
        "time",
        "level",
        "_exact_level",
        "level_name",
        "facility",
        "_facility",
    )
)
#: Column names that show the record's time as ISO 8601 (``name:raw`` shows the value as written).
TIME_NAMES = frozenset(("timestamp", "time"))
#: grep's colors for a file name and the colon after it.
_NAME_COLOR, _COLON_COLOR, _RESET = "\x1b[35m", "\x1b[36m", "\x1b[0m"


def iso_time(seconds: float) -> str:
    """``2026-11-22T06:28:03.460Z``: a time as pretty output and ``--fields timestamp`` show it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


def _level(obj: dict[str, Any]) -> int:
    """The record's level read as queries read it (``3``, ``3.0``, ``"3"``, ``"err"``); INFO if none."""
    level = as_number(lookup(obj, "level"), is_level=True)
    return int(level) if level is not None and level.is_integer() else INFO


class Pretty:
    """Readable lines: time, colored level, facility, message, fields; tracebacks indented.

    A record without a time is shown without one. With ``with_source``, each record starts
    with where it came from and a colon, as ``grep -H`` writes it.
    """

    def __init__(self, color: bool, with_source: bool = False) -> None:
        from logmagic.encode.console import ConsoleEncoder, escape

        self.encoder = ConsoleEncoder(color)
        self.color = color
        self.escape = escape
        self.with_source = with_source
        # What the encoder writes for the time, so that a record without one can be shown without it.
        probe = self.encoder.encode(Record("-", INFO, "", {}, 0.0))
        self.no_time = probe[: probe.index(b" ") + 1]

    def __call__(self, obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None, source: str) -> bytes:
        msg = lookup(obj, "message")
        facility = lookup(obj, "facility")
        fields = {(k[1:] if k.startswith("_") else k): v for k, v in obj.items() if k not in _HEAD_KEYS}
        full = obj.get("full_message")
        when = record_time(obj, prefix_time)
        rec = Record(
            "-" if facility is MISSING else as_text(facility),
            _level(obj),
            "" if msg is MISSING else as_text(msg),
            fields,
            0.0 if when is None else when,
            full if isinstance(full, str) else None,
        )
        line = self.encoder.encode(rec)
        if when is None and line.startswith(self.no_time):
            line = line[len(self.no_time) :]
        if self.with_source:
            name = self.escape(source)
            head = f"{_NAME_COLOR}{name}{_RESET}{_COLON_COLOR}:{_RESET} " if self.color else f"{name}: "
            line = head.encode("utf-8", "backslashreplace") + line
        return line


def json_line(obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None, source: str) -> bytes:
    """The JSON object of the line, svlogd prefix removed."""
    return body + b"\n"


def json_with_source(obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None, source: str) -> bytes:
    """The JSON object of the line with a ``_source`` field added last (where it came from).

    The object's text is kept as it was written; the field goes before its closing brace. A
    record that has a ``_source`` of its own then has two: readers keep the last (jq,
    Python's json, orjson). A name that is not UTF-8 has its bytes written as ``\\xff``.
    """
    name = json_text(source.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))
    text = body.strip(b" \t\r\n")
    return text[:-1] + (b',"_source":"' if obj else b'"_source":"') + name + b'"}\n'


def raw_line(obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None, source: str) -> bytes:
    """The line exactly as read."""
    return raw + b"\n"


def raw_with_source(obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None, source: str) -> bytes:
    """The line as read, after where it came from and a colon (``grep -H``)."""
    return source.encode("utf-8", "surrogateescape") + b":" + raw + b"\n"


class Columns:
    """Chosen fields, tab-separated; ``-`` for a missing one. Data is escaped for the terminal.

    ``timestamp`` and ``time`` show the record's time (as queries and pretty output read it)
    in ISO 8601; ``timestamp:raw`` shows the value as the line has it. With ``with_source``,
    the first column is where the line came from.
    """

    def __init__(self, spec: list[str], with_source: bool = False) -> None:
        from logmagic.encode.console import escape

        self.columns: list[tuple[str, bool]] = []  # (name, as written)
        for item in spec:
            name, _, form = item.partition(":")
            if form not in ("", "raw"):
                raise QueryError(f"--fields {item!r}: unknown form {form!r} (name:raw shows a value as written)")
            self.columns.append((name, form == "raw"))
        self.escape = escape
        self.with_source = with_source

    def __call__(self, obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None, source: str) -> bytes:
        cells = [self.escape(source)] if self.with_source else []
        for name, as_written in self.columns:
            if name in TIME_NAMES and not as_written:
                when = record_time(obj, prefix_time)
                cells.append("-" if when is None else iso_time(when))
                continue
            value = lookup(obj, name)
            if value is MISSING:
                cells.append("-")
            elif isinstance(value, (dict, list)):
                cells.append(self.escape(as_text(value)))
            else:
                cells.append(self.escape(as_text(value)))
        return ("\t".join(cells) + "\n").encode("utf-8", "backslashreplace")


def counts(by: Counter[str | None], missing: str) -> Iterator[bytes]:
    """``--count --by``: ``N<TAB>value`` lines, most common first; values escaped as columns
    are, records without the field on a ``missing`` line."""
    from logmagic.encode.console import escape

    for value, n in by.most_common():
        label = missing if value is None else escape(value)
        yield f"{n}\t{label}\n".encode("utf-8", "backslashreplace")
