"""Turning arbitrary Python values into text and JSON-safe data without ever raising.

These helpers are the slow path: encoders try ``orjson`` first and come here only for values
it refuses (unknown types, ints beyond 64 bits, lone surrogates, cycles) or for lines that are
too long.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

#: Longest string kept in a record, in characters; longer ones are cut with a marker.
MAX_STRING = 32 * 1024
#: Longest encoded line, in bytes, newline included.
MAX_LINE = 1024 * 1024
#: Deepest nesting converted before the rest is replaced by a marker.
MAX_DEPTH = 32
#: Most items converted from one container before the rest is summarized.
MAX_ITEMS = 10_000

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


def cap(text: str, limit: int = MAX_STRING) -> str:
    """Return ``text`` cut to ``limit`` characters, ending with a marker saying how much went."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated {len(text) - limit} chars]"


def clean(text: str) -> str:
    """Replace lone surrogates (which cannot be UTF-8 encoded) by visible ``\\udxxx`` escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def safe_str(obj: object, limit: int = MAX_STRING) -> str:
    """``str(obj)``, falling back to ``repr`` and then to a type marker; cleaned and capped."""
    try:
        text = obj if type(obj) is str else str(obj)
    except Exception:
        try:
            text = repr(obj)
        except Exception:
            text = f"<unprintable {type(obj).__name__}>"
    return cap(clean(str.__str__(text)), limit)


def describe_exception(exc: BaseException) -> str:
    """``"ValueError: bad thing"``: an exception value as one readable string."""
    return safe_str(f"{type(exc).__name__}: {safe_str(exc)}")


def scalar_text(obj: object) -> str:
    """Text for a value that JSON cannot hold natively (dates, UUIDs, decimals, bytes, ...)."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return cap(bytes(obj).decode("utf-8", "backslashreplace"))
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, (uuid.UUID, Decimal)):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return safe_str(obj.value)
    if isinstance(obj, BaseException):
        return describe_exception(obj)
    return safe_str(obj)


def safe_key(key: object) -> str:
    """A mapping key as a clean string."""
    return clean(key) if type(key) is str else safe_str(key, 256)


def safe_number(value: int | float) -> int | float | str:
    """Keep ints in JSON's 64-bit range and finite floats; others become their text."""
    if isinstance(value, float):
        value = float(value)  # a subclass (numpy's float64) is not something orjson writes
        return value if value - value == 0 else repr(value)
    if _INT_MIN <= value <= _INT_MAX:
        return int(value)
    return str(int(value))


def dataclass_fields(obj: object) -> dict[str, Any] | None:
    """A dataclass instance's fields by name (what orjson writes for it), or None for anything else.

    Encoders and the redactor read a dataclass like a mapping, so a field such as ``password``
    inside one is masked like a key of a dict, never shown through the class's ``repr``.
    """
    if isinstance(obj, type) or not dataclasses.is_dataclass(obj):
        return None
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def to_jsonable(obj: Any, limit: int = MAX_STRING) -> Any:
    """Return a copy of ``obj`` that ``orjson.dumps`` accepts: cycles, depth and size bounded."""
    return _convert(obj, limit, 0, set())


def _convert(obj: Any, limit: int, depth: int, active: set[int]) -> Any:
    try:
        return _convert_value(obj, limit, depth, active)
    except Exception as exc:  # a hostile ``__class__`` or ``__instancecheck__``: this value only
        return f"<unreadable value: {describe_exception(exc)}>"


def _convert_value(obj: Any, limit: int, depth: int, active: set[int]) -> Any:
    t = type(obj)
    if t is str:
        return cap(clean(obj), limit)
    if obj is None or t is bool:
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return safe_number(obj)
    if isinstance(obj, str):
        return cap(clean(str.__str__(obj)), limit)
    is_map = isinstance(obj, Mapping)
    key = id(obj)  # a dataclass is known by itself, not by the dict of its fields made below
    if not is_map and not isinstance(obj, (list, tuple, set, frozenset)):
        try:
            fields = dataclass_fields(obj)
        except Exception as exc:  # a field that cannot be read
            return f"<unreadable {t.__name__}: {describe_exception(exc)}>"
        if fields is None:
            return scalar_text(obj)
        obj, is_map = fields, True
    if key in active:
        return "<cycle>"
    if depth >= MAX_DEPTH:
        return "<max depth>"
    active.add(key)
    try:
        if is_map:
            return _convert_mapping(obj, limit, depth, active)
        out = []
        for i, item in enumerate(obj):
            if i >= MAX_ITEMS:
                out.append(f"…[{len(obj) - MAX_ITEMS} more items]")
                break
            out.append(_convert(item, limit, depth + 1, active))
        return out
    except Exception as exc:  # a container whose iteration raises
        return f"<unreadable {t.__name__}: {describe_exception(exc)}>"
    finally:
        active.discard(key)


def _convert_mapping(obj: Mapping[Any, Any], limit: int, depth: int, active: set[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, (key, value) in enumerate(obj.items()):
        if i >= MAX_ITEMS:
            out["…"] = f"[{len(obj) - MAX_ITEMS} more keys]"
            break
        out[safe_key(key)] = _convert(value, limit, depth + 1, active)
    return out


def readable_parts(rec: Any) -> tuple[str, str, float]:
    """A failed record's message, facility and time for an encoder's last-resort line.

    Each is read on its own, so one unreadable part (an infinite timestamp) does not cost the
    line the other two.
    """
    try:
        msg = cap(clean(rec.msg if isinstance(rec.msg, str) else "<non-text message>"), 1024)
    except Exception:
        msg = "<unreadable message>"
    try:
        facility = clean(str(rec.facility))
    except Exception:
        facility = "logmagic"
    try:
        ts = int(float(rec.timestamp) * 1000) / 1000
    except Exception:
        ts = 0.0
    return msg, facility, ts
