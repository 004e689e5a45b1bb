"""Turning arbitrary Python values into text and JSON-safe data without ever raising.

These helpers are the slow path: encoders try ``orjson`` first and come here only for values
it refuses (unknown types, ints beyond 64 bits, lone surrogates, cycles) or for lines that are
too long.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import itertools
import math
import uuid
from collections.abc import Callable, Mapping, Sized
from decimal import Decimal
from typing import Any

#: Longest string kept in a record, in characters; longer ones are cut with a marker.
MAX_STRING = 32 * 1024
#: Longest encoded line, in bytes, newline included.
MAX_LINE = 1024 * 1024
#: Caps tried, in order, on every string of a line longer than ``MAX_LINE``, before fields go.
SHRINK_CAPS = (4096, 512, 64)
#: Deepest nesting converted before the rest is replaced by a marker.
MAX_DEPTH = 32
#: Most keys and items one record's walk visits (every container, every depth, together),
#: in the redactor and in each encoder; what is left is summarized by a marker with its count.
MAX_ITEMS = 10_000
#: Most fields one record writes: GELF's additional fields (nested ones flattened included),
#: the top-level fields of a JSON or console line.
MAX_FIELDS = 1_000
#: The key of the marker put in a mapping cut short: ``{"…": "[990000 more keys]"}``.
MORE = "…"

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1
#: Ints up to this many bits (4,300 digits, Python's default ``int_max_str_digits``) are written
#: with all their digits; longer ones as their first ``INT_PREFIX_DIGITS`` digits and a count.
_ALL_DIGITS_BITS = 14_285
INT_PREFIX_DIGITS = 40
#: Up to this many bits (about 39,000 digits) the digit count is exact; it takes a power of ten
#: as large as the number (about 2 ms here). Past it, the count is estimated from the bit length.
_EXACT_COUNT_BITS = 2**17


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
            text = int_text(obj) if isinstance(obj, int) else repr(obj)  # str() refuses huge ints
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


def int_text(value: int) -> str:
    """An int as text, at bounded cost: all its digits, or the first ones and how many there are.

    ``str()`` refuses ints of more than 4,300 digits (``sys.set_int_max_str_digits``) and takes
    time quadratic in their length, so a longer one is written as
    ``"1234…[5000 digits]"`` (40 digits before the ``…``), and one of more than
    ``_EXACT_COUNT_BITS`` bits as ``"<int of about 1000000 digits>"``.
    """
    value = int(value)
    bits = value.bit_length()
    if bits <= _ALL_DIGITS_BITS:
        try:
            return str(value)
        except ValueError:  # the interpreter's limit was lowered below its default
            pass
    size = abs(value)
    if bits > _EXACT_COUNT_BITS:
        return f"<{'negative ' if value < 0 else ''}int of about {math.floor(math.log10(size)) + 1} digits>"
    # 2**(bits-1) <= size < 2**bits: the count is ``low`` or ``low + 1``.
    low = int(bits * math.log10(2))
    count = low + 1 if size >= 10**low else low
    head = size // 10 ** (count - INT_PREFIX_DIGITS)  # a short quotient: linear in the size
    return f"{'-' if value < 0 else ''}{head}…[{count} digits]"


def safe_number(value: int | float) -> int | float | str:
    """Keep ints in JSON's 64-bit range and finite floats; others become their text."""
    if isinstance(value, float):
        value = float(value)  # a subclass (numpy's float64) is not something orjson writes
        return value if value - value == 0 else repr(value)
    if _INT_MIN <= value <= _INT_MAX:
        return int(value)
    return int_text(value)


class Omitted(str):
    """The marker a walk leaves where it stopped: ``"…[990000 more items]"``, ``"[9 more keys]"``.

    Text in every output. It carries its count (``missing``), so a later walk that cuts the same container
    shorter (an encoder after the redactor) passes the marker on uncounted and adds its count
    to its own: the number shown is always what the caller's value held beyond the cut.
    """

    missing: int


def omitted(count: int, what: str) -> Omitted:
    """The marker for ``count`` left-out ``what`` ("items" at the end of a list, "keys" under ``MORE``)."""
    marker = Omitted(f"…[{count} more items]" if what == "items" else f"[{count} more {what}]")
    marker.missing = count
    return marker


def left_out(container: Sized, done: int, marker: object) -> int:
    """How many entries a cut after ``done`` of them leaves out of ``container``, counting
    those an earlier cut left out (``marker``: the container's ``MORE`` value or last item)."""
    count = len(container) - done
    return count + marker.missing - 1 if type(marker) is Omitted else count


def last_item(seq: Any) -> Any:
    """The last item of a list or tuple (where an earlier cut left its marker), else None."""
    return seq[-1] if isinstance(seq, (list, tuple)) and seq else None


class Budget:
    """How many more keys and items one record's walk may visit, shared by all of its steps, so
    that no shape of nested containers makes one record cost more than ``MAX_ITEMS`` visits."""

    __slots__ = ("left",)

    def __init__(self, left: int = MAX_ITEMS) -> None:
        self.left = left


def keep_txn_id(out: dict[Any, Any], source: Mapping[Any, Any], convert: Callable[[Any], Any]) -> None:
    """Put the ``txnId`` of ``source`` back into ``out``, a copy of it cut short that left the
    id out (the key to every other record of the request), and take it off the marker's count."""
    marker = out.get(MORE)
    if type(marker) is not Omitted or "txnId" in out or "txnId" not in source:
        return
    del out[MORE]
    out["txnId"] = convert(source["txnId"])
    if marker.missing > 1:
        out[MORE] = omitted(marker.missing - 1, "keys")


def first_fields(fields: Mapping[Any, Any]) -> tuple[Any, int]:
    """A record's fields as a JSON or console line writes them: at most ``MAX_FIELDS`` of them,
    its ``txnId`` kept when it comes later, and how many were left out (an earlier cut's too)."""
    if len(fields) <= MAX_FIELDS:
        return fields.items(), 0
    items = list(itertools.islice(fields.items(), MAX_FIELDS))
    count = left_out(fields, MAX_FIELDS, fields.get(MORE))
    if "txnId" in fields and all(k != "txnId" for k, _ in items):
        items.append(("txnId", fields["txnId"]))
        count -= 1
    return items, count


def object_fields(obj: object) -> dict[str, Any] | None:
    """The fields by name of a dataclass, pydantic model (1 or 2) or attrs instance, else None.

    Encoders and the redactor read such an object like a mapping, so a field such as
    ``password`` inside one is masked like a key of a dict, never shown through the class's
    ``repr`` (pydantic's ``str()`` is ``user='bob' password='hunter2'``). The fields are read
    with ``getattr``, as for a dataclass: no ``model_dump()`` or other code of the class runs
    but its properties. Nothing here imports pydantic or attrs: the kinds are told by shape.
    """
    if isinstance(obj, type):
        return None
    if dataclasses.is_dataclass(obj):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    cls = type(obj)
    names = getattr(cls, "model_fields", None) if hasattr(cls, "model_dump") else None  # pydantic 2
    if names is None and hasattr(cls, "dict") and hasattr(cls, "__fields__"):  # pydantic 1
        names = cls.__fields__
    if names is None and hasattr(cls, "__attrs_attrs__"):  # attrs
        names = [a.name for a in cls.__attrs_attrs__]
    if names is None or isinstance(names, (str, bytes)):
        return None
    return {name: getattr(obj, name) for name in names if type(name) is str}


def to_jsonable(obj: Any, limit: int = MAX_STRING, budget: Budget | None = None) -> Any:
    """Return a copy of ``obj`` that ``orjson.dumps`` accepts: cycles, depth and size bounded.

    ``budget`` is the record's, when one record makes several calls; without it the call has
    ``MAX_ITEMS`` visits of its own.
    """
    return _convert(obj, limit, 0, set(), Budget() if budget is None else budget)


def _convert(obj: Any, limit: int, depth: int, active: set[int], budget: Budget) -> Any:
    try:
        return _convert_value(obj, limit, depth, active, budget)
    except Exception as exc:  # a hostile ``__class__`` or ``__instancecheck__``: this value only
        return f"<unreadable value: {describe_exception(exc)}>"


def _convert_value(obj: Any, limit: int, depth: int, active: set[int], budget: Budget) -> Any:
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
            fields = object_fields(obj)
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
            return _convert_mapping(obj, limit, depth, active, budget)
        out = []
        for i, item in enumerate(obj):
            if type(item) is Omitted:  # an earlier cut's marker: passed on, not counted
                out.append(item)
                continue
            if budget.left <= 0:
                out.append(omitted(left_out(obj, i, last_item(obj)), "items"))
                break
            budget.left -= 1
            out.append(_convert(item, limit, depth + 1, active, budget))
        return out
    except Exception as exc:  # a container whose iteration raises
        return f"<unreadable {t.__name__}: {describe_exception(exc)}>"
    finally:
        active.discard(key)


def _convert_mapping(
    obj: Mapping[Any, Any], limit: int, depth: int, active: set[int], budget: Budget
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, (key, value) in enumerate(obj.items()):
        if type(value) is Omitted:  # an earlier cut's marker: passed on, not counted
            out[safe_key(key)] = value
            continue
        if budget.left <= 0:
            out.pop(MORE, None)  # the marker goes last
            out[MORE] = omitted(left_out(obj, i, obj.get(MORE)), "keys")
            break
        budget.left -= 1
        out[safe_key(key)] = _convert(value, limit, depth + 1, active, budget)
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
