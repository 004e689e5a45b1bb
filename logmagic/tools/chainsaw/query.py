"""gelf-chainsaw's query language: terms ANDed together, and the byte prefilter they imply.

Terms: ``field=value`` (exact; only ``*`` is special, it globs), ``field!=value``,
``field~regex``, ``field>N``, ``>=``, ``<``, ``<=`` (numeric), ``field?`` (present). Names may be
dotted for nested objects. A name matches the field itself or its GELF form: ``txnId`` also
finds ``_txnId``, ``a.b`` also finds GELF's flattened ``_a_b``; ``message`` finds
``short_message``. ``level`` takes numbers or names (``level<=err``, ``level=3`` finds
``"level":"err"``) and uses ``_exact_level`` when a GELF line has it (trace levels).

``=`` compares numbers as numbers (``duration=0.00001`` finds ``1e-05``, ``status=200`` finds
``200.0``) and everything else as text (``ok=true``, ``acct=null``).

Before any JSON is parsed, the query is turned into a byte test that every matching line must
pass (a literal value such as the txnId, or a level pattern); only lines that pass are parsed
and evaluated. This is what makes a search over gigabytes fast. JSON may write any character
of a key or a string as ``\\uXXXX`` (and ``/`` as ``\\/``): the test allows that too, so it
never drops a matching line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from logmagic.levels import FOREIGN_NAMES, LEVELS_BY_NAME
from logmagic.tools.chainsaw.bytescan import (
    EQ,
    GE,
    GT,
    LE,
    LT,
    NE,
    PRESENT,
    PlanTerm,
    escape_lines,
    level_lines,
    level_value,
    lines_with,
    units_of,
)

# Both matched with ``fullmatch``: ``$`` would also accept a trailing newline.
_TERM = re.compile(r"([A-Za-z0-9_@$][A-Za-z0-9_.@$-]*)(!=|>=|<=|=|~|>|<)(.*)", re.DOTALL)
_PRESENT = re.compile(r"([A-Za-z0-9_@$][A-Za-z0-9_.@$-]*)\?")
_NUMERIC_OPS = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}
#: A value written as a JSON number: ``=`` then compares numbers with numbers.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")
#: Integers that every JSON encoder writes with their digits, as an int or as a float (200,
#: 200.0): below 10**15 no encoder switches to an exponent. Only these get a literal prefilter.
_SHORT_INT = re.compile(r"-?[0-9]{1,15}")
#: ISO 8601 date and time: ``T`` or a space between them, seconds optional, ``Z`` or an offset.
_ISO_TIME = r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?([Zz]|[+-](\d\d):?(\d\d))?"
#: Record times are between these unix seconds (years 1 to 9999), as Python's dates are.
_FIRST, _PAST_LAST = -62135596800, 253402300800
_ALIASES = {
    "message": ("message", "short_message", "msg"),
    "msg": ("msg", "short_message", "message"),
    "short_message": ("short_message", "message", "msg"),
    "time": ("timestamp", "time"),
    "timestamp": ("timestamp", "time"),
}
#: JSON's two-character escapes; any character may also be written ``\\uXXXX``.
_SHORT_ESCAPES = {
    '"': r"\\\"",
    "\\": r"\\\\",
    "/": r"\\/",
    "\b": r"\\b",
    "\f": r"\\f",
    "\n": r"\\n",
    "\r": r"\\r",
    "\t": r"\\t",
}
TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:
    from typing import Any

MISSING = object()
#: The level names a query reads, upper case: logmagic's names and aliases, and the names other
#: loggers write for the same levels (``critical``, ``fatal``, ``panic``).
LEVEL_NUMBERS: dict[str, int] = {**LEVELS_BY_NAME, **FOREIGN_NAMES}
#: The same names as ``bytescan.decide`` takes them.
_PLAN_LEVEL_NAMES = tuple((name.encode("ascii"), float(number)) for name, number in LEVEL_NUMBERS.items())
#: How orjson writes the characters of a JSON string that it escapes (json.dumps with
#: ensure_ascii=False writes them the same way); every other character is its UTF-8 bytes.
_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x20)}
_JSON_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"})
Buffer = bytes | bytearray


def json_text(text: str) -> bytes:
    """``text`` as the inside of a JSON string, as orjson writes it (``orjson.dumps(text)[1:-1]``,
    which tests/tools/chainsaw/test_query.py checks), without importing orjson: the byte
    prefilter is made before the files are read, orjson is loaded while they are.
    ``UnicodeEncodeError`` for text that is not Unicode (a lone surrogate)."""
    return text.translate(_JSON_ESCAPES).encode("utf-8")


class QueryError(ValueError):
    """A malformed query; the message says what is wrong in one line."""


def lookup(obj: dict[str, Any], name: str) -> Any:
    """The value of ``name`` in a parsed line (see the module doc for the GELF forms), or MISSING."""
    return getter(name)(obj)


def _keys(name: str) -> tuple[str, ...]:
    """The keys ``lookup`` tries for ``name`` at the top of a record, in order."""
    keys = ["_exact_level"] if name == "level" else []
    for candidate in _ALIASES.get(name, (name,)):
        keys += [candidate, "_" + candidate]
    return tuple(keys)


@functools.cache
def getter(name: str) -> Callable[[dict[str, Any]], Any]:
    """``lookup`` for one name, with the keys to try worked out once: it runs for every line."""
    tried = _keys(name)

    def get(obj: dict[str, Any]) -> Any:
        for key in tried:
            value = obj.get(key, MISSING)
            if value is not MISSING:
                return value
        return MISSING

    if "." not in name:
        return get
    first, *rest = name.split(".")
    flat = "_" + name.replace(".", "_")  # GELF's flattened form

    def get_nested(obj: dict[str, Any]) -> Any:
        value = get(obj)
        if value is not MISSING:
            return value
        cur: Any = obj.get(first, obj.get("_" + first, MISSING))
        for part in rest:
            cur = cur.get(part, MISSING) if isinstance(cur, dict) else MISSING
        return cur if cur is not MISSING else obj.get(flat, MISSING)

    return get_nested


def as_text(value: Any) -> str:
    """A JSON value as text: ``200``, ``true``, ``null``, the string; objects as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        import orjson  # imported when needed: a search that finds nothing parses no JSON

        return orjson.dumps(value).decode()
    return str(value)


def as_number(value: Any, is_level: bool = False) -> float | None:
    """A JSON value as a number (level names count for ``level``), or None.

    Text counts only when it is written as a JSON number: Python's ``float()`` would also take
    ``1_000``, ``Infinity``, ``nan`` and spaces around the digits.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if is_level and value.upper() in LEVEL_NUMBERS:
            return float(LEVEL_NUMBERS[value.upper()])
        return float(value) if _NUMBER.fullmatch(value) else None
    return None


def _is_level_value(value: str) -> bool:
    """A level name or a number: ``level=`` then compares levels, not text."""
    return value.upper() in LEVEL_NUMBERS or _NUMBER.fullmatch(value) is not None


class Term:
    """One condition on a record: ``name op value``, and ``test``, which tells whether a value
    found under the name satisfies it. (A plain class rather than a dataclass: every run of
    gelf-chainsaw defines it, and a dataclass costs a fraction of a millisecond to make.)"""

    __slots__ = ("compare", "get", "name", "op", "test", "value")

    def __init__(
        self,
        name: str,
        op: str,
        value: str,
        test: Callable[[Any], bool],
        compare: tuple[Callable[[float, float], bool], float] | None = None,
    ) -> None:
        self.name = name
        self.op = op
        self.value = value
        self.test = test
        self.compare = compare  # a numeric term: the comparison and its bound
        self.get = getter(name)

    def __repr__(self) -> str:
        return f"Term({self.name!r}, {self.op!r}, {self.value!r})"

    def source(self, i: int, names: dict[str, Any]) -> list[str]:
        """The lines of ``Query.timeless``'s generated function that test this term (the ``i``-th)
        on ``obj``: return False when it fails, else go on. Data (names, values, bounds) goes in
        ``names``, never into the code."""
        if "." in self.name:
            names[f"matches{i}"] = self.matches
            return [f"    if not matches{i}(obj):", "        return False"]
        keys = _keys(self.name)
        names.update({f"key{i}_{j}": key for j, key in enumerate(keys)})
        names[f"test{i}"] = self.test
        lines = [f"    v = get(key{i}_0, MISSING)"]
        lines += [f"    if v is MISSING:\n        v = get(key{i}_{j}, MISSING)" for j in range(1, len(keys))]
        if self.op == "!=":  # a missing field is "not equal" to anything: the term holds
            return [*lines, f"    if v is not MISSING and not test{i}(v):", "        return False"]
        lines += ["    if v is MISSING:", "        return False"]
        if self.compare is not None:  # a number is compared as a float; text is read once
            cmp, bound = self.compare
            names[f"cmp{i}"], names[f"bound{i}"], names[f"texts{i}"] = cmp, bound, {}
            names[f"level{i}"] = self.name == "level"
            return [
                *lines,
                "    kind = type(v)",
                "    if kind is int or kind is float:",
                f"        if not cmp{i}(float(v), bound{i}):",
                "            return False",
                "    else:",
                f"        n = texts{i}.get(v, MISSING) if kind is str else MISSING",
                "        if n is MISSING:",
                f"            n = as_number(v, level{i})",
                f"            if kind is str and len(texts{i}) < 4096:",
                f"                texts{i}[v] = n",
                f"        if n is None or not cmp{i}(n, bound{i}):",
                "            return False",
            ]
        if self.op == "=" and "*" not in self.value and not (self.name == "level" and _is_level_value(self.value)):
            names[f"value{i}"] = self.value  # text against text: no call
            return [
                *lines,
                "    if type(v) is str:",
                f"        if v != value{i}:",
                "            return False",
                f"    elif not test{i}(v):",
                "        return False",
            ]
        return [*lines, f"    if not test{i}(v):", "        return False"]

    def matches(self, obj: dict[str, Any]) -> bool:
        """Whether the parsed line ``obj`` satisfies this term."""
        found = self.get(obj)
        if found is MISSING:
            return self.op == "!="  # a missing field is "not equal" to anything
        return self.test(found)

    def literal(self) -> str | None:
        """Text that every matching line holds, as a JSON string's content or a number's digits.

        Only for ``=`` without a glob, and not for ``level`` (``level=err`` finds ``"level":3``).
        A number only when it is a short integer: 1e16 or 0.00001 may be written another way
        (``1e+16``, ``1e-05``), but 200 is ``200`` or ``200.0``, or the string ``"200"``.
        """
        if self.op != "=" or "*" in self.value or not self.value or self.name == "level":
            return None
        if _NUMBER.fullmatch(self.value):
            return self.value.lstrip("-") if _SHORT_INT.fullmatch(self.value) else None  # -0 == 0
        return self.value

    def is_level_range(self) -> bool:
        """A numeric condition on ``level`` that a level pattern can stand for."""
        if self.name != "level" or self.op not in ("=", "<", "<=", ">", ">="):
            return False
        return self.op != "=" or ("*" not in self.value and _is_level_value(self.value))


def _equality(name: str, value: str) -> Callable[[Any], bool]:
    """The test of ``name=value`` (see the module doc)."""
    if "*" in value:
        rx = re.compile(".*".join(re.escape(part) for part in value.split("*")), re.DOTALL)
        return lambda v: rx.fullmatch(as_text(v)) is not None
    if name == "level" and _is_level_value(value):
        want = as_number(value, True)
        return lambda v: as_number(v, True) == want
    numeric = _NUMBER.fullmatch(value) is not None
    as_float = float(value) if numeric else None
    as_int = int(value) if numeric and _INTEGER.fullmatch(value) else None

    def equal(v: Any) -> bool:
        if isinstance(v, str):
            return v == value
        if v is None or isinstance(v, bool):
            return as_text(v) == value
        if isinstance(v, int) and as_int is not None:
            return v == as_int  # exact, beyond float precision
        if isinstance(v, (int, float)):
            return as_float is not None and float(v) == as_float
        return False  # objects and arrays

    return equal


def _near_level(name: str) -> bool:
    """Whether ``name`` looks like a slip for ``level`` (``levl``, ``Level``, ``_level``, ``lvl``)."""
    import difflib  # only for this message

    return difflib.SequenceMatcher(None, name.lower().lstrip("_@$"), "level").ratio() >= 0.6


def parse_term(text: str) -> Term:
    """One command-line term; ``QueryError`` says what is wrong with a bad one."""
    m = _PRESENT.fullmatch(text)
    if m:
        return Term(m[1], "?", "", lambda v: True)
    m = _TERM.fullmatch(text)
    if not m:
        raise QueryError(
            f"bad query term {text!r}: expected field=value, field!=value, field~regex, field>N, field? ..."
        )
    name, op, value = m[1], m[2], m[3]
    if op in ("=", "!="):
        eq = _equality(name, value)
        return Term(name, op, value, eq if op == "=" else (lambda v: not eq(v)))
    if op == "~":
        try:
            rx = re.compile(value)
        except (re.error, OverflowError) as exc:  # OverflowError: a{99999999999}
            raise QueryError(f"bad regular expression in {text!r}: {exc}") from None
        except RecursionError:  # the parser recurses once per level of nesting
            raise QueryError(f"bad regular expression in {text!r}: groups too deeply nested") from None
        return Term(name, op, value, lambda v: rx.search(as_text(v)) is not None)
    is_level = name == "level"
    bound = as_number(value, is_level)
    if bound is None:
        number = LEVEL_NUMBERS.get(value.upper())
        if number is not None:  # a level name under another field
            if _near_level(name):
                raise QueryError(
                    f"bad query term {text!r}: only level takes level names (did you mean level{op}{value}?)"
                )
            raise QueryError(
                f"bad query term {text!r}: only level takes level names; {value} is {number} ({name}{op}{number})"
            )
        kind = "a number or a level name" if is_level else "a number"
        raise QueryError(f"bad query term {text!r}: {op} needs {kind}, not {value!r}")
    compare = _NUMERIC_OPS[op]

    def numeric(v: Any) -> bool:
        n = as_number(v, is_level)
        return n is not None and compare(n, bound)

    return Term(name, op, value, numeric, (compare, bound))


class Query:
    """All terms (ANDed) and the time window."""

    __slots__ = ("since", "terms", "until")

    def __init__(self, terms: list[Term], since: float | None = None, until: float | None = None) -> None:
        self.terms = terms
        self.since = since
        self.until = until

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

    def timeless(self) -> Callable[[dict[str, Any]], bool] | None:
        """``matches`` for a query without a time window, as one function of the object; None
        when the query has a window.

        The function is generated from the terms (``Term.source``): the keys each term tries
        and its test, one after the other in one frame, a record's usual values (a number for a
        comparison, text for ``=``) taken without a call. A scan calls it for every line that
        passes the prefilter, where a loop over the terms' ``matches`` costs a third more. It
        answers as ``matches`` does (tests/tools/chainsaw/test_properties.py).
        """
        if self.since is not None or self.until is not None:
            return None
        names: dict[str, Any] = {"MISSING": MISSING, "as_number": as_number, "float": float, "type": type}
        code = ["def test(obj):", "    get = obj.get"]
        for i, term in enumerate(self.terms):
            code += term.source(i, names)
        code.append("    return True")
        exec(compile("\n".join(code), "<gelf-chainsaw query>", "exec"), names)  # code from the terms; data in names
        test: Callable[[dict[str, Any]], bool] = names["test"]
        return test

    def plan(self) -> tuple[PlanTerm, ...] | None:
        """The terms as ``bytescan.decide`` takes them, or None when one of them is not a kind it
        decides (a regular expression, a glob, a dotted name, ``level=`` with a level) or the
        query has a time window.

        Each term: the keys ``lookup`` tries, in order, as bytes; its kind; for ``=`` and ``!=``
        the value as UTF-8 and whether it is written as a JSON number (numbers then compare as
        numbers, which ``decide`` leaves to the parser); for a comparison its bound, and on
        ``level`` the level names with their numbers (``as_number``'s, for text).
        """
        if self.since is not None or self.until is not None or len(self.terms) > 16:
            return None
        kinds = {"?": PRESENT, "=": EQ, "!=": NE, ">": GT, ">=": GE, "<": LT, "<=": LE}
        out: list[PlanTerm] = []
        for t in self.terms:
            if "." in t.name or t.op not in kinds:
                return None
            value, bound = b"", 0.0
            if t.op in ("=", "!="):
                if "*" in t.value or (t.name == "level" and _is_level_value(t.value)):
                    return None
                try:
                    value = t.value.encode("utf-8")
                except UnicodeEncodeError:  # a lone surrogate: no line holds it
                    return None
            elif t.compare is not None:
                bound = t.compare[1]
            keys = tuple(key.encode("ascii") for key in _keys(t.name))
            names = _PLAN_LEVEL_NAMES if t.name == "level" and t.compare is not None else ()
            out.append((keys, kinds[t.op], value, _NUMBER.fullmatch(t.value) is not None, bound, names))
        return tuple(out)

    def prefilter(self) -> LineFilter | None:
        """The most selective byte test the terms allow, or None when every line must be parsed.

        A literal value (the txnId, ``status=503``) first, the longest one; else a level pattern.
        Every matching line is among the lines the test lets through.
        """
        literals = [lit for t in self.terms if (lit := t.literal()) is not None]
        for text in sorted(literals, key=len, reverse=True):
            found = LineFilter.for_literal(text)
            if found is not None:
                return found
        levels = [t for t in self.terms if t.is_level_range()]
        if levels:
            return LineFilter.for_levels(levels)
        return None


def record_time(obj: dict[str, Any], prefix_time: float | None) -> float | None:
    """The record's time: its ``timestamp`` (or ``time``), else the svlogd prefix's.

    A time is unix seconds or ISO 8601 text, as structlog writes it (``2026-11-23T10:00:00Z``,
    an offset, or no zone: UTC). Anything else is no time, and so is a number outside the
    years 1 to 9999 (nanoseconds since the epoch, say), which no date can show.
    """
    for key in ("timestamp", "time", "ts", "_timestamp"):
        value = obj.get(key)
        if isinstance(value, str):
            when = _iso_seconds(value)
            if when is not None:
                return when
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and _FIRST <= value < _PAST_LAST:
            return float(value)
    return prefix_time


@functools.cache
def _iso_time() -> re.Pattern[str]:
    """``_ISO_TIME`` compiled, at its first use: most logs have no time written as text."""
    return re.compile(_ISO_TIME, re.ASCII)


def _iso_seconds(text: str) -> float | None:
    """Unix seconds of an ISO 8601 date and time, None if ``text`` is not one.

    By hand rather than ``datetime.fromisoformat``, which before Python 3.11 takes neither
    ``Z`` nor fractions of other than 3 or 6 digits.
    """
    m = _iso_time().fullmatch(text)
    if m is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(m[i] or 0) for i in range(1, 7))
        import datetime  # only for times written as text

        when = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
    except ValueError:  # no such day or hour
        return None
    seconds = when.timestamp() + (float(m[7]) if m[7] else 0.0)
    if m[8] and m[8] not in "Zz":  # an offset: the time is local to it
        seconds -= (1 if m[8][0] == "+" else -1) * (int(m[9]) * 3600 + int(m[10]) * 60)
    return seconds


class LineFilter:
    """Finds the lines of a buffer that may match, before any JSON is parsed.

    Two searches, both in C: ``plain`` (a literal, with ``bytes.find``, or a regular expression)
    for the bytes as common encoders write them, and then ``bytescan.escape_lines`` for the
    lines that write one of the searched characters as a JSON escape (``\\u0041``, or ``\\/``
    for ``/``): the code units of ``units`` (a bitmap, see ``bytescan.units_of``) and the
    bytes of ``short``. Only those lines are tested again, with ``escaped``: the same bytes
    with any character written raw or escaped. A line that holds neither is not parsed.
    The first search runs over every byte, so it is kept as cheap as ``bytes.find`` allows;
    after a hit it goes on at the next line.
    """

    def __init__(self, plain: bytes | re.Pattern[bytes], escaped: bytes, units: bytes, short: bytes) -> None:
        self.plain = plain
        self.escaped_pattern = escaped  # compiled when a line with such an escape is met: most files have none
        self.units = units
        self.short = short
        self.levels: tuple[tuple[bytes, ...], tuple[bytes, ...]] | None = None  # a level filter's ints and names

    @functools.cached_property
    def escaped(self) -> re.Pattern[bytes]:
        """The byte pattern of the searched text with any character raw or escaped."""
        return re.compile(self.escaped_pattern)

    @classmethod
    def for_literal(cls, text: str) -> LineFilter | None:
        """Lines holding ``text`` inside a JSON string (or as a number's digits); None if
        ``text`` cannot be written in UTF-8 (a lone surrogate from a mangled argument)."""
        try:
            plain = json_text(text)  # as orjson and json.dumps(ensure_ascii=False) write it
            escaped = _json_text_pattern(text)
        except UnicodeEncodeError:
            return None
        return cls(plain, escaped, units_of(text), b"/" if "/" in text else b"")

    @classmethod
    def for_levels(cls, terms: list[Term]) -> LineFilter | None:
        """Lines where a key ending in ``level`` (``level``, ``_exact_level``) may hold a level
        that passes ``terms``: an allowed integer, a level name that passes (in any case), or a
        value written another way, which the full evaluation then decides: a float, a negative
        or big number, text that may be a number (``"3"``), text with an escape or a byte
        beyond ASCII (``"\\u0065rr"``; ``str.upper`` makes ``"ınfo"`` ``INFO``). A value that
        cannot be a level (``true``, ``null``, an object, other text) does not pass.

        None when so many integers pass that the pattern would let most lines through.
        """
        allowed = [n for n in range(100) if all(t.test(n) for t in terms)]
        if len(allowed) > 40:
            return None
        ints = tuple(str(n).encode() for n in allowed)
        names = tuple(
            sorted((n.encode() for n in LEVEL_NUMBERS if all(t.test(n) for t in terms)), key=len, reverse=True)
        )
        value = level_value(ints, names)
        found = cls(re.compile(b"level" + value), _json_text_pattern("level") + value, units_of("level"), b"")
        found.levels = ints, names
        return found

    def spans(self, buf: Buffer, end: int, escapes: list[int] | None = None) -> list[int]:
        """``[start0, stop0, start1, stop1, ...]``: each candidate line in ``buf[:end]``, in
        order, without its newline. ``escapes``: ``escape_lines`` of the same buffer for this
        filter's ``units`` and ``short``, when the caller has it already."""
        plain = self.plain
        if isinstance(plain, bytes):
            out = lines_with(buf, 0, end, plain)
        elif self.levels is not None:
            out = level_lines(buf, 0, end, *self.levels)
        else:
            find, rfind = buf.find, buf.rfind
            out = []
            search = plain.search
            m = search(buf, 0, end)
            while m is not None:
                pos = m.start()
                stop = find(b"\n", pos, end)
                if stop < 0:
                    stop = end
                out += (rfind(b"\n", 0, pos) + 1, stop)
                m = search(buf, stop, end)
        escaped = escape_lines(buf, 0, end, self.units, self.short) if escapes is None else escapes
        if escaped:
            search = self.escaped.search
            more = [
                (escaped[i], escaped[i + 1])
                for i in range(0, len(escaped), 2)
                if search(buf, escaped[i], escaped[i + 1]) is not None
            ]
            if more:
                pairs = sorted({*zip(out[::2], out[1::2], strict=True), *more})
                out = [n for pair in pairs for n in pair]
        return out


def _hex4(code: int) -> str:
    """A pattern for ``\\uXXXX`` of one UTF-16 code unit, hex letters in either case."""
    return r"\\u" + "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in f"{code:04x}")


def _json_text_pattern(text: str) -> bytes:
    """A pattern for ``text`` inside a JSON string, each character raw or escaped as JSON allows."""
    parts = []
    for ch in text:
        code = ord(ch)
        alternatives = [] if ch in '"\\' or code < 0x20 else [re.escape(ch)]
        if ch in _SHORT_ESCAPES:
            alternatives.append(_SHORT_ESCAPES[ch])
        if code > 0xFFFF:  # a surrogate pair
            code -= 0x10000
            alternatives.append(_hex4(0xD800 + (code >> 10)) + _hex4(0xDC00 + (code & 0x3FF)))
        else:
            alternatives.append(_hex4(code))
        parts.append("(?:" + "|".join(alternatives) + ")")
    return "".join(parts).encode()
