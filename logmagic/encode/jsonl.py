"""Plain JSON lines: the record's fields kept nested, for tools that read JSON rather than GELF.

One object per line: ``timestamp`` (float seconds), ``level`` (0..15), ``level_name``,
``host``, ``facility``, ``message``, ``full_message`` when present, then the fields at the top
level. A field whose name collides with one of those keys is written as ``_<name>``. At most
``MAX_FIELDS`` fields are written (the txnId always), then ``_dropped_fields`` with how many
were left out; nested containers are cut after ``MAX_ITEMS`` keys and items per record, with
a marker (``"…": "[990000 more keys]"``).
"""

from __future__ import annotations

from typing import Any

import orjson

from logmagic._identity import IDENTITY
from logmagic._safe import (
    MAX_LINE,
    MAX_STRING,
    SHRINK_CAPS,
    Budget,
    clean,
    first_fields,
    keep_txn_id,
    readable_parts,
    safe_key,
    scalar_text,
    to_jsonable,
)
from logmagic.levels import ERR, level_name
from logmagic.record import Record

__all__ = ["JsonEncoder"]

# No OPT_NON_STR_KEYS: it writes the keys 1 and "1" as two members with the same name. Without
# it, non-string keys in nested mappings take the safe path, which names them by their text.
_OPTS = orjson.OPT_APPEND_NEWLINE
_RESERVED = frozenset(("timestamp", "level", "level_name", "host", "facility", "message", "full_message"))


class JsonEncoder:
    """Encode a record as one JSON object per line (bytes, newline-terminated)."""

    __slots__ = ()

    def encode(self, rec: Record) -> bytes:
        """The record as a JSON line. Never raises."""
        try:
            return self._encode(rec)
        except Exception as exc:  # a bug or a hostile object beyond what the paths below catch
            return _emergency_line(rec, exc)

    def _encode(self, rec: Record) -> bytes:
        d: dict[str, Any] = {
            "timestamp": int(rec.timestamp * 1000) / 1000,
            "level": rec.level,
            "level_name": level_name(rec.level),
            "host": IDENTITY.host,
            "facility": rec.facility,
            "message": rec.msg,
        }
        if rec.full_message is not None:
            d["full_message"] = rec.full_message
        fields, dropped = first_fields(rec.fields)
        for k, v in fields:
            if type(k) is not str:
                k = safe_key(k)  # as text, so a key that reads "level" is still moved aside
            d["_" + k if k in _RESERVED else k] = v
        if dropped:
            d["_dropped_fields"] = dropped
        budget = Budget()
        try:
            # to_jsonable for what orjson refuses: float subclasses stay numbers, sets become lists,
            # as on the safe path below; one budget for the whole record.
            line = orjson.dumps(d, default=lambda obj: to_jsonable(obj, budget=budget), option=_OPTS)
        except Exception:  # cycles, big ints, lone surrogates, odd keys
            return _bounded(d)
        if len(line) > MAX_STRING:  # only a line this long can hold a string over the cap
            return _bounded(d)
        return line


def _converted(d: dict[str, Any], limit: int = MAX_STRING) -> dict[str, Any]:
    """``to_jsonable(d)``, with the record's txnId kept when the walk's budget ran out before it."""
    out: dict[str, Any] = to_jsonable(d, limit)
    keep_txn_id(out, d, lambda txn: to_jsonable(txn, limit))
    return out


def _bounded(d: dict[str, Any]) -> bytes:
    """Encode through the safe converter, which caps strings, depth, items and cycles."""
    line = orjson.dumps(_converted(d), option=_OPTS)
    for limit in SHRINK_CAPS:
        if len(line) <= MAX_LINE:
            return line
        small = _converted(d, limit)
        small["_truncated"] = True
        line = orjson.dumps(small, option=_OPTS)
    if len(line) <= MAX_LINE:
        return line
    head = {k: d[k] for k in ("timestamp", "level", "level_name", "host", "facility", "message")}
    head = to_jsonable(head, 4096)
    head["_truncated"] = True
    head["_dropped_fields"] = len(d) - len(head) + 1 + (d.get("_dropped_fields") or 0)
    return orjson.dumps(head, option=_OPTS)


def _emergency_line(rec: Record, exc: BaseException) -> bytes:
    """The last resort: a minimal line, with this format's keys, saying the record failed."""
    msg, facility, ts = readable_parts(rec)
    return orjson.dumps(
        {
            "timestamp": ts,
            "level": ERR,
            "level_name": level_name(ERR),
            "host": clean(IDENTITY.host),
            "facility": facility,
            "message": msg,
            "_logmagic_error": scalar_text(exc),
        },
        option=_OPTS,
    )
