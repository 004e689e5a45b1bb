"""The human console format: one readable line per record, tracebacks indented below it.

``2026-11-22T06:28:03.460Z INFO  myapp.api  Something is wrong  accountId=ac42 txnId=…``

Control characters that come from log data are escaped (a log line must never move the
cursor, change colors or ring the bell); colors come only from logmagic itself.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from logmagic._safe import Budget, cap, clean, first_fields, safe_str, to_jsonable
from logmagic.levels import DEBUG, ERR, INFO, NOTICE, WARNING, level_name
from logmagic.record import Record

__all__ = ["ConsoleEncoder", "escape", "render_value"]

# C0 controls, DEL and C1 controls become visible escapes; so do bidi overrides, which can
# make a line read differently from what it holds.
_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x1B: "\\x1b"})
_ESCAPES.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
# Inside a traceback, newlines and tabs are layout, not data.
_BLOCK_ESCAPES = {k: v for k, v in _ESCAPES.items() if k not in (0x09, 0x0A)}

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"


def _level_color(level: int) -> str:
    if level <= ERR:
        return "\x1b[1;31m"
    if level <= WARNING:
        return "\x1b[33m"
    if level <= NOTICE:
        return "\x1b[1m"
    if level <= INFO:
        return "\x1b[32m"
    if level <= DEBUG:
        return "\x1b[36m"
    return "\x1b[2;36m"


def escape(text: str) -> str:
    """Make data safe for a terminal: control characters become visible escapes."""
    return text.translate(_ESCAPES)


def _plain(text: str) -> bool:
    return bool(text) and text.isprintable() and not any(c in text for c in ' "=\\')


def render_value(value: Any, budget: Budget | None = None) -> str:
    """A field value as console text: bare when plain, JSON-quoted when it needs it.

    ``budget``: the record's, shared by its fields (see ``to_jsonable``).
    """
    if type(value) is str:
        text = cap(value, 4096)
        # clean: orjson refuses lone surrogates (never plain, as they are not printable)
        return text if _plain(text) else escape(orjson.dumps(clean(text)).decode("utf-8"))
    if value is None or type(value) in (bool, int, float):
        return safe_str(orjson.dumps(to_jsonable(value)).decode("utf-8"))
    try:
        return escape(orjson.dumps(to_jsonable(value, 4096, budget)).decode("utf-8"))
    except Exception:
        return escape(safe_str(value, 4096))


class ConsoleEncoder:
    """Encode a record as a readable line, colored by level when ``color`` is true."""

    __slots__ = ("color",)

    def __init__(self, color: bool = False) -> None:
        self.color = color

    def encode(self, rec: Record) -> bytes:
        """The record as console text (UTF-8, newline-terminated). Never raises."""
        try:
            return self._encode(rec).encode("utf-8", "backslashreplace")
        except Exception as exc:
            return f"<logmagic: unprintable record: {safe_str(exc)}>\n".encode("utf-8", "backslashreplace")

    def _encode(self, rec: Record) -> str:
        ts = rec.timestamp
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
        name = f"{level_name(rec.level):<5}"
        if self.color:
            name = f"{_level_color(rec.level)}{name}{_RESET}"
            stamp = f"{_DIM}{stamp}{_RESET}"
        parts = [stamp, " ", name, " ", escape(rec.facility), "  ", escape(cap(safe_str(rec.msg), 4096))]
        fields = rec.fields
        if fields:
            parts.append(" ")
            budget = Budget()
            shown, dropped = first_fields(fields)
            for k, v in shown:
                parts.append(f" {escape(safe_str(k, 256))}={render_value(v, budget)}")
            if dropped:
                parts.append(f" …[{dropped} more fields]")
        if rec.full_message:
            block = cap(safe_str(rec.full_message)).translate(_BLOCK_ESCAPES).rstrip("\n")
            parts.append("\n    " + block.replace("\n", "\n    "))
        parts.append("\n")
        return "".join(parts)
