"""The scans over a buffer of log lines that gelf-chainsaw runs before any JSON is parsed.

* ``lines_with``: the lines holding some bytes (a txnId, a value as encoders write it).
* ``level_lines``: the lines whose level may pass a query (``level_value``, a regular
  expression, is the definition).
* ``escape_lines``: the lines holding a JSON escape (``\\u0041``, ``\\/``) of one of the
  characters of a searched value. The byte prefilter finds a value as encoders write it; a
  line that writes one of its characters as an escape is found here, and only such lines
  are tested again with the pattern that allows escapes (see ``query.LineFilter``).
* ``odd_lines``: the lines that do not start with ``{`` once an svlogd timestamp prefix is
  taken off (blank lines aside). Lines the prefilter skips are never parsed; among them,
  these are the ones counted as "not JSON objects".
* ``marks``: both of the above, in one pass.
* ``bodies``: lines without their svlogd prefix (``prefix.body_start``), before they are parsed;
  ``bodies_at``: the same for the lines at spans of a buffer.
* ``decide``: a query's verdict on each of those lines where it can be given without making
  the line into Python objects (see ``Query.plan``); the others are left to the parser.

The functions below are the definitions. Each costs a Python step per hit, per backslash or per
line, so all are also written in C (``_speedups.c``, compiled when logmagic is installed and a C
compiler is there; see ``hatch_build.py``), where they cost a ``memmem`` or one pass of 16-byte
compares. The names without ``_py`` are the C ones when they were built and load, else these;
both give the same answers (tests/tools/chainsaw/test_bytescan.py compares them). ``LOGMAGIC_PURE_PYTHON=1``
in the environment keeps the Python ones. ``decide`` is the exception: it is a shortcut around
the parser, whose definition is the parser itself (``scan.judge``); its Python twin decides
nothing, since no scanner written in Python is faster than orjson, and the tests hold the C
one's verdicts to ``judge``'s (tests/tools/chainsaw/test_decide.py).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable

from logmagic.tools.logfiles.prefix import body_start, prefix_length

__all__ = [
    "ACCELERATED",
    "UNITS_BYTES",
    "bodies",
    "bodies_at",
    "bodies_at_py",
    "bodies_py",
    "decide",
    "decide_py",
    "escape_lines",
    "escape_lines_py",
    "level_lines",
    "level_lines_py",
    "level_value",
    "lines_with",
    "lines_with_py",
    "marks",
    "marks_py",
    "odd_lines",
    "odd_lines_py",
    "units_of",
]

#: A bitmap of the UTF-16 code units ``\\uXXXX`` may write: one bit for each of 65536.
UNITS_BYTES = 8192
#: A JSON escape as JSON reads one, from left to right: a backslash and the byte after it, or
#: ``\\u`` and four hex digits. (An escape that is not valid JSON is two bytes here: the line
#: does not parse anyway.)
_ESCAPE = re.compile(rb"\\(?:u([0-9A-Fa-f]{4})|(.))", re.DOTALL)
Buffer = bytes | bytearray
LinesWith = Callable[[Buffer, int, int, bytes], list[int]]
EscapeLines = Callable[[Buffer, int, int, bytes, bytes], list[int]]
OddLines = Callable[[Buffer, int, int], list[int]]
LevelLines = Callable[[Buffer, int, int, tuple[bytes, ...], tuple[bytes, ...]], list[int]]
Bodies = Callable[[list[bytes]], list[bytes]]
BodiesAt = Callable[[Buffer, list[int]], list[bytes]]
Marks = Callable[[Buffer, int, int, bytes, bytes], tuple[list[int], list[int]]]
#: A term of ``Query.plan``: (keys tried in order, kind, value as UTF-8, value is a JSON number,
#: bound, level names with their numbers).
PlanTerm = tuple[tuple[bytes, ...], int, bytes, bool, float, tuple[tuple[bytes, float], ...]]
Decide = Callable[[list[bytes], tuple[PlanTerm, ...]], tuple[list[int], list[int]]]
#: The kinds of a plan's terms: ``field?``, ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``.
PRESENT, EQ, NE, GT, GE, LT, LE = range(7)


def units_of(text: str) -> bytes:
    """The bitmap of the code units that ``\\uXXXX`` escapes of ``text``'s characters write: the
    character's own for the Basic Multilingual Plane, the high surrogate of the pair otherwise
    (enough to find the line: the low one follows it)."""
    bits = bytearray(UNITS_BYTES)
    for ch in text:
        code = ord(ch)
        unit = code if code <= 0xFFFF else 0xD800 + ((code - 0x10000) >> 10)
        bits[unit >> 3] |= 1 << (unit & 7)
    return bytes(bits)


def lines_with_py(buf: Buffer, start: int, end: int, needle: bytes) -> list[int]:
    """``[start0, stop0, start1, stop1, ...]``: the lines of ``buf[start:end]`` (each once, in
    order, without the newline) that hold ``needle``."""
    out: list[int] = []
    find, rfind = buf.find, buf.rfind
    pos = find(needle, start, end)
    while pos >= 0:
        stop = find(b"\n", pos, end)
        if stop < 0:
            stop = end
        out += (rfind(b"\n", start, pos) + 1 or start, stop)
        pos = find(needle, stop + 1, end)
    return out


def level_value(ints: tuple[bytes, ...], names: tuple[bytes, ...]) -> bytes:
    """The pattern of what follows a key ending in ``level`` when its value may be a level that
    passes a query: one of the allowed integers ``ints`` (not followed by ``[0-9.eE]``), a
    float, a negative or big number, or text that is one of the allowed ``names`` in any case,
    may be a number (``"3"``), or holds an escape or a byte beyond ASCII (which ``str.upper``
    may make a name: ``"ınfo"`` is ``INFO``)."""
    choices = b"|".join(ints) or b"(?!)"
    text = b'"(?:(?i:' + (b"|".join(names) or b"(?!)") + rb')"|[-0-9]|[^"\\\x80-\xff\n]*[\\\x80-\xff])'
    return rb'"[ \t\r]*:[ \t\r]*(?:(?:' + choices + rb")(?![0-9.eE])|[0-9]+[.eE]|[0-9]{3,}|-|" + text + b")"


def level_lines_py(buf: Buffer, start: int, end: int, ints: tuple[bytes, ...], names: tuple[bytes, ...]) -> list[int]:
    """``[start0, stop0, ...]``: the lines of ``buf[start:end]`` where ``level"`` is followed by
    ``level_value(ints, names)``."""
    search = _level_pattern(ints, names).search
    find, rfind = buf.find, buf.rfind
    out: list[int] = []
    m = search(buf, start, end)
    while m is not None:
        pos = m.start()
        stop = find(b"\n", pos, end)
        if stop < 0:
            stop = end
        out += (rfind(b"\n", start, pos) + 1 or start, stop)
        m = search(buf, stop + 1, end)
    return out


@functools.cache
def _level_pattern(ints: tuple[bytes, ...], names: tuple[bytes, ...]) -> re.Pattern[bytes]:
    return re.compile(b"level" + level_value(ints, names))


def escape_lines_py(buf: Buffer, start: int, end: int, units: bytes, short: bytes) -> list[int]:
    """``[start0, stop0, start1, stop1, ...]``: the lines of ``buf[start:end]`` (each once, in
    order, without the newline) that hold ``\\uXXXX`` with the bit of XXXX set in ``units``, or
    a backslash followed by a byte of ``short`` (``b"/"`` for ``\\/``)."""
    out: list[int] = []
    search, find, rfind = _ESCAPE.search, buf.find, buf.rfind
    pos = start
    while pos < end:
        m = search(buf, pos, end)
        if m is None:
            break
        hex_digits = m[1]
        if hex_digits is not None:
            unit = int(hex_digits, 16)
            hit = (units[unit >> 3] >> (unit & 7)) & 1
        else:
            hit = m[2] in short
        if not hit:
            pos = m.end()
            continue
        at = m.start()
        line_start = rfind(b"\n", start, at) + 1 or start
        line_stop = find(b"\n", at, end)
        if line_stop < 0:
            line_stop = end
        out += (line_start, line_stop)
        pos = line_stop + 1
    return out


def odd_lines_py(buf: Buffer, start: int, end: int) -> list[int]:
    """The starts of the lines of ``buf[start:end]`` that are not blank and, once an svlogd
    prefix is taken off (``prefix_length``), do not start with ``{``."""
    out: list[int] = []
    find = buf.find
    pos = start
    while pos < end:
        stop = find(b"\n", pos, end)
        if stop < 0:
            stop = end
        line = bytes(buf[pos:stop])
        if line[:1] != b"{" and line[prefix_length(line) :][:1] != b"{" and line.strip():
            out.append(pos)
        pos = stop + 1
    return out


def marks_py(buf: Buffer, start: int, end: int, units: bytes, short: bytes) -> tuple[list[int], list[int]]:
    """``escape_lines`` and ``odd_lines`` of the same lines."""
    return escape_lines_py(buf, start, end, units, short), odd_lines_py(buf, start, end)


def bodies_py(lines: list[bytes]) -> list[bytes]:
    """Each line without its svlogd prefix, as ``strip_prefix`` takes it off (the line itself
    when it has none)."""
    out = []
    for line in lines:
        at = body_start(line) if line[:1] != b"{" else 0
        out.append(line[at:] if at else line)
    return out


def bodies_at_py(buf: Buffer, spans: list[int]) -> list[bytes]:
    """``bodies`` of the lines ``buf[spans[0]:spans[1]]``, ``buf[spans[2]:spans[3]]``, ..."""
    return bodies_py([bytes(buf[spans[i] : spans[i + 1]]) for i in range(0, len(spans), 2)])


def decide_py(texts: list[bytes], plan: tuple[PlanTerm, ...]) -> tuple[list[int], list[int]]:
    """``(matching, to_parse)``: the indexes of the lines of ``texts`` (JSON text without a prefix)
    that match the query whose ``plan`` this is, and of those only a parser can judge; the
    others do not match. Here every line is left to the parser; the C version decides each
    line that is a JSON object it reads exactly as orjson does, with the terms' values plain
    (no escape in a compared string, a number it converts exactly)."""
    return [], list(range(len(texts)))


_PYTHON = (
    lines_with_py,
    level_lines_py,
    escape_lines_py,
    odd_lines_py,
    marks_py,
    bodies_py,
    bodies_at_py,
    decide_py,
    False,
)


def _load() -> tuple[LinesWith, LevelLines, EscapeLines, OddLines, Marks, Bodies, BodiesAt, Decide, bool]:
    if os.environ.get("LOGMAGIC_PURE_PYTHON") == "1":
        return _PYTHON
    try:
        from logmagic.tools.chainsaw._speedups import bodies as fast_bodies
        from logmagic.tools.chainsaw._speedups import bodies_at as fast_bodies_at
        from logmagic.tools.chainsaw._speedups import decide as fast_decide
        from logmagic.tools.chainsaw._speedups import escape_lines as fast_escape_lines
        from logmagic.tools.chainsaw._speedups import level_lines as fast_level_lines
        from logmagic.tools.chainsaw._speedups import lines_with as fast_lines_with
        from logmagic.tools.chainsaw._speedups import marks as fast_marks
        from logmagic.tools.chainsaw._speedups import odd_lines as fast_odd_lines
    except ImportError:
        return _PYTHON
    return (
        fast_lines_with,
        fast_level_lines,
        fast_escape_lines,
        fast_odd_lines,
        fast_marks,
        fast_bodies,
        fast_bodies_at,
        fast_decide,
        True,
    )


#: The implementations in use, and whether they are the C ones.
lines_with, level_lines, escape_lines, odd_lines, marks, bodies, bodies_at, decide, ACCELERATED = _load()
