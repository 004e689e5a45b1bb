"""How gelf-chainsaw prints a matching line: pretty, json, raw or chosen fields.

Output meant for a person (pretty lines, columns, counts) is made safe for a terminal by the
console encoder, the one the console sink uses; it is imported when such output is asked
for, so that a search piped into ``jq`` loads no encoder at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson

from logmagic.levels import INFO
from logmagic.record import Record
from logmagic.tools.chainsaw.query import MISSING, as_number, as_text, lookup, record_time

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


def _level(obj: dict[str, Any]) -> int:
    """The record's level read as queries read it (``3``, ``3.0``, ``"3"``, ``"err"``); INFO if none."""
    level = as_number(lookup(obj, "level"), is_level=True)
    return int(level) if level is not None and level.is_integer() else INFO


class Pretty:
    """Readable lines: time, colored level, facility, message, fields; tracebacks indented."""

    def __init__(self, color: bool) -> None:
        from logmagic.encode.console import ConsoleEncoder

        self.encoder = ConsoleEncoder(color)

    def __call__(self, obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None) -> bytes:
        msg = lookup(obj, "message")
        facility = lookup(obj, "facility")
        fields = {(k[1:] if k.startswith("_") else k): v for k, v in obj.items() if k not in _HEAD_KEYS}
        full = obj.get("full_message")
        rec = Record(
            "-" if facility is MISSING else as_text(facility),
            _level(obj),
            "" if msg is MISSING else as_text(msg),
            fields,
            record_time(obj, prefix_time) or 0.0,
            full if isinstance(full, str) else None,
        )
        return self.encoder.encode(rec)


def json_line(obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None) -> bytes:
    """The JSON object of the line, svlogd prefix removed."""
    return body + b"\n"


def raw_line(obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None) -> bytes:
    """The line exactly as read."""
    return raw + b"\n"


class Columns:
    """Chosen fields, tab-separated; ``-`` for a missing one. Data is escaped for the terminal."""

    def __init__(self, names: list[str]) -> None:
        from logmagic.encode.console import escape

        self.names = names
        self.escape = escape

    def __call__(self, obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None) -> bytes:
        cells = []
        for name in self.names:
            value = lookup(obj, name)
            if value is MISSING:
                cells.append("-")
            elif isinstance(value, (dict, list)):
                cells.append(self.escape(orjson.dumps(value).decode()))
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
