"""gelf-chainsaw's query language: terms ANDed together, and the byte prefilter they imply.

Terms: ``field=value`` (exact; ``*`` globs), ``field!=value``, ``field~regex``, ``field>N``,
``>=``, ``<``, ``<=`` (numeric), ``field?`` (present). Names may be dotted for nested objects.
A name matches the field itself or its GELF form: ``txnId`` also finds ``_txnId``, ``a.b``
also finds GELF's flattened ``_a_b``; ``message`` finds ``short_message``. ``level`` takes
numbers or names (``level<=err``) and uses ``_exact_level`` when a GELF line has it (trace).

Before any JSON is parsed, the query is turned into a byte test that every matching line must
pass (the txnId's bytes, a literal value's bytes, a level pattern); only lines that pass are
parsed and evaluated. This is what makes a search over gigabytes fast.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logmagic.levels import LEVELS_BY_NAME

_TERM = re.compile(r"^([A-Za-z0-9_@$][A-Za-z0-9_.@$-]*)(!=|>=|<=|=|~|>|<)(.*)$", re.DOTALL)
_PRESENT = re.compile(r"^([A-Za-z0-9_@$][A-Za-z0-9_.@$-]*)\?$")
_NUMERIC_OPS = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}
#: Values whose JSON form is their own bytes: a literal prefilter is safe for them.
_LITERAL_SAFE = re.compile(r"^[A-Za-z0-9._:+=-]+$")
_ALIASES = {
    "message": ("message", "short_message", "msg"),
    "msg": ("msg", "short_message", "message"),
    "short_message": ("short_message", "message", "msg"),
    "time": ("timestamp", "time"),
    "timestamp": ("timestamp", "time"),
}
MISSING = object()


class QueryError(ValueError):
    """A malformed query; the message says what is wrong in one line."""


def lookup(obj: dict[str, Any], name: str) -> Any:
    """The value of ``name`` in a parsed line (see the module doc for the GELF forms), or MISSING."""
    if name == "level":
        exact = obj.get("_exact_level", MISSING)
        if exact is not MISSING:
            return exact
    for candidate in _ALIASES.get(name, (name,)):
        for key in (candidate, "_" + candidate):
            value = obj.get(key, MISSING)
            if value is not MISSING:
                return value
    if "." in name:
        first, *rest = name.split(".")
        cur: Any = obj.get(first, obj.get("_" + first, MISSING))
        for part in rest:
            cur = cur.get(part, MISSING) if isinstance(cur, dict) else MISSING
        if cur is not MISSING:
            return cur
        return obj.get("_" + name.replace(".", "_"), MISSING)  # GELF's flattened form
    return MISSING


def as_text(value: Any) -> str:
    """A JSON value as the text ``=`` compares against: ``200``, ``true``, ``null``, the string."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_number(value: Any, is_level: bool = False) -> float | None:
    """A JSON value as a number (level names count for ``level``), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if is_level and value.upper() in LEVELS_BY_NAME:
            return float(LEVELS_BY_NAME[value.upper()])
        try:
            return float(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Term:
    """One condition on a record."""

    name: str
    op: str
    value: str
    test: Callable[[Any], bool]

    def matches(self, obj: dict[str, Any]) -> bool:
        """Whether the parsed line ``obj`` satisfies this term."""
        found = lookup(obj, self.name)
        if found is MISSING:
            return self.op == "!="  # a missing field is "not equal" to anything
        return self.test(found)

    def literal(self) -> bytes | None:
        """Bytes every matching line must contain, when this term implies some."""
        if self.op == "=" and "*" not in self.value and _LITERAL_SAFE.match(self.value):
            return self.value.encode()
        return None


def parse_term(text: str) -> Term:
    """One command-line term; ``QueryError`` says what is wrong with a bad one."""
    m = _PRESENT.match(text)
    if m:
        return Term(m[1], "?", "", lambda v: True)
    m = _TERM.match(text)
    if not m:
        raise QueryError(
            f"bad query term {text!r}: expected field=value, field!=value, field~regex, field>N, field? ..."
        )
    name, op, value = m[1], m[2], m[3]
    if op in ("=", "!="):
        if "*" in value:
            rx = re.compile(fnmatch.translate(value))
            eq: Callable[[Any], bool] = lambda v: rx.match(as_text(v)) is not None  # noqa: E731
        elif name == "level" and value.upper() in LEVELS_BY_NAME:
            want = float(LEVELS_BY_NAME[value.upper()])
            eq = lambda v: as_number(v, True) == want  # noqa: E731
        else:
            eq = lambda v: as_text(v) == value  # noqa: E731
        return Term(name, op, value, eq if op == "=" else (lambda v: not eq(v)))
    if op == "~":
        try:
            rx = re.compile(value)
        except re.error as exc:
            raise QueryError(f"bad regular expression in {text!r}: {exc}") from None
        return Term(name, op, value, lambda v: rx.search(as_text(v)) is not None)
    is_level = name == "level"
    bound = as_number(value, is_level)
    if bound is None:
        kind = "a number or a level name" if is_level else "a number"
        raise QueryError(f"bad query term {text!r}: {op} needs {kind}, not {value!r}")
    compare = _NUMERIC_OPS[op]

    def numeric(v: Any) -> bool:
        n = as_number(v, is_level)
        return n is not None and compare(n, bound)

    return Term(name, op, value, numeric)


@dataclass
class Query:
    """All terms (ANDed), the time window and the txnId of ``--txn``."""

    terms: list[Term]
    since: float | None = None
    until: float | None = None

    def matches(self, obj: dict[str, Any], prefix_time: float | None) -> bool:
        """Whether a parsed line matches; ``prefix_time`` is the svlogd stamp, if any."""
        for term in self.terms:
            if not term.matches(obj):
                return False
        if self.since is not None or self.until is not None:
            ts = record_time(obj, prefix_time)
            if ts is None:
                return False
            if self.since is not None and ts < self.since:
                return False
            if self.until is not None and ts > self.until:
                return False
        return True

    def prefilter(self) -> Callable[[bytes], list[tuple[int, int]]] | None:
        """A function giving the (start, end) of candidate lines in a chunk, or None (all lines).

        The most selective byte test the terms allow: a literal value (the txnId) first,
        else a level pattern. Every matching line is among the candidates.
        """
        literals = [lit for t in self.terms if (lit := t.literal()) is not None]
        if literals:
            needle = max(literals, key=len)
            return lambda chunk: _lines_containing(chunk, needle)
        levels = [
            t for t in self.terms if t.name == "level" and t.op in ("=", "<", "<=", ">", ">=") and "*" not in t.value
        ]
        if levels:
            pattern = _level_pattern(levels)
            if pattern is not None:
                return lambda chunk: _lines_matching(chunk, pattern)
        return None


def record_time(obj: dict[str, Any], prefix_time: float | None) -> float | None:
    """The record's time: its ``timestamp`` (or ``time``), else the svlogd prefix's."""
    for key in ("timestamp", "time", "ts", "_timestamp"):
        value = obj.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return prefix_time


def _lines_containing(chunk: bytes, needle: bytes) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    find, rfind = chunk.find, chunk.rfind
    pos = find(needle)
    while pos >= 0:
        start = rfind(b"\n", 0, pos) + 1
        end = find(b"\n", pos)
        if end < 0:
            end = len(chunk)
        out.append((start, end))
        pos = find(needle, end)
    return out


def _lines_matching(chunk: bytes, pattern: re.Pattern[bytes]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    find, rfind = chunk.find, chunk.rfind
    end = -1
    for m in pattern.finditer(chunk):
        pos = m.start()
        if pos < end:
            continue  # another hit in a line already taken
        start = rfind(b"\n", 0, pos) + 1
        end = find(b"\n", pos)
        if end < 0:
            end = len(chunk)
        out.append((start, end))
    return out


def _level_pattern(terms: list[Term]) -> re.Pattern[bytes] | None:
    """Bytes a line with a matching level must hold: ``level": N`` with an allowed N.

    Levels written as strings, negative or fractional numbers are always candidates; the full
    evaluation decides. Built only when the allowed integers are few (levels are 0..15).
    """
    allowed = [n for n in range(0, 100) if all(t.test(n) for t in terms)]
    if len(allowed) > 40:
        return None
    choices = b"|".join(str(n).encode() for n in allowed) or b"(?!)"
    return re.compile(rb'level"\s*:\s*(?:(?:' + choices + rb")(?![0-9.eE])|[^0-9\s]|[0-9]+[.eE]|[0-9]{3,})")
