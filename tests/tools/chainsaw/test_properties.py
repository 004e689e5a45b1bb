"""The query language against a small reference evaluation, through the scanner's byte prefilter.

The reference below is written from the documented rules only (docs/chainsaw.md), not from
query.py. Where the rules leave a case open (a field present under two spellings with different
values, a regex over a nested object), the reference says "undefined" and the line is not judged.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logmagic.tools.chainsaw.query import Query, parse_term

from .helpers import scan_lines

# --- the reference ----------------------------------------------------------------------------

LEVELS = {
    "EMERG": 0,
    "ALERT": 1,
    "CRIT": 2,
    "ERR": 3,
    "ERROR": 3,
    "WARNING": 4,
    "WARN": 4,
    "NOTICE": 5,
    "INFO": 6,
    "MSG": 6,
    "DEBUG": 7,
    "DBG": 7,
    "TRACE": 8,
    **{f"TRACE{i}": 7 + i for i in range(1, 9)},
}
MESSAGE = ("message", "short_message", "msg")
NUMBER = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$")
COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
ABSENT = object()


class Undefined(Exception):
    """The documented rules do not decide this case."""


def same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def ref_lookup(obj: dict[str, Any], name: str) -> Any:
    if name == "level" and "_exact_level" in obj:
        return obj["_exact_level"]
    found = []
    for spelling in MESSAGE if name in MESSAGE else (name,):
        for key in (spelling, "_" + spelling):
            if key in obj:
                found.append(obj[key])
    if "." in name:
        top, *path = name.split(".")
        if top in obj and "_" + top in obj:
            raise Undefined
        for key in (top, "_" + top):
            cur = obj.get(key, ABSENT)
            for part in path:
                cur = cur.get(part, ABSENT) if isinstance(cur, dict) else ABSENT
            if cur is not ABSENT:
                found.append(cur)
        flat = "_" + "_".join([top, *path])
        if flat in obj:
            found.append(obj[flat])
    if not found:
        return ABSENT
    if any(not same(v, found[0]) for v in found[1:]):
        raise Undefined
    return found[0]


def ref_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v == int(v) else repr(v)
    raise Undefined  # objects and arrays: no documented text


def ref_number(v: Any, is_level: bool) -> float | None:
    if v is True or v is False or v is None or isinstance(v, (dict, list)):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if is_level and v.upper() in LEVELS:
        return float(LEVELS[v.upper()])
    if NUMBER.match(v):
        return float(v)
    try:
        float(v)
    except ValueError:
        return None
    raise Undefined  # " 5", "inf", "1_0": numbers to Python, not to the docs


def ref_term(obj: dict[str, Any], name: str, op: str, value: str) -> bool:
    found = ref_lookup(obj, name)
    if op == "?":
        return found is not ABSENT
    if found is ABSENT:
        return op == "!="
    if op in ("=", "!="):
        if "*" in value:
            pattern = ".*".join(re.escape(part) for part in value.split("*"))
            equal = re.fullmatch(pattern, ref_text(found), re.DOTALL) is not None
        elif name == "level" and (value.upper() in LEVELS or NUMBER.match(value)):
            equal = ref_number(found, True) == ref_number(value, True)
        elif isinstance(found, (dict, list)):
            equal = False
        else:
            equal = ref_text(found) == value
            if isinstance(found, (int, float)) and not isinstance(found, bool) and NUMBER.match(value):
                exact = int(value) if re.fullmatch(r"-?[0-9]+", value) and isinstance(found, int) else None
                numeric = found == exact if exact is not None else float(found) == float(value)
                if numeric != equal:
                    raise Undefined  # 1e-05 and 0.00001: the same number, not the same text
        return equal if op == "=" else not equal
    if op == "~":
        return re.search(value, ref_text(found)) is not None
    bound = ref_number(value, name == "level")
    assert bound is not None
    n = ref_number(found, name == "level")
    return n is not None and COMPARE[op](n, bound)


def reference(obj: Any, terms: list[tuple[str, str, str]]) -> bool | None:
    """True, False, or None when the rules leave it open."""
    if not isinstance(obj, dict):
        return False
    undefined = False
    for term in terms:
        try:
            if not ref_term(obj, *term):
                return False
        except Undefined:
            undefined = True
    return None if undefined else True


# --- records ----------------------------------------------------------------------------------

TEXTS = [
    "",
    "err",
    "ERROR",
    "warning",
    "Info",
    "trace2",
    "3",
    "500",
    "200",
    "2.5",
    "/v1/users",
    "/v1/",
    "/v2/v1/users",
    'say "hi"',
    "back\\slash",
    "café",
    "✓ done",
    "tab\there",
    "line\nbreak",
    "\x1b[31mred\x07",
    "a[1]",
    "a?c",
    "null",
    "true",
    "\u2028",
    "😀",
    'level":3',
    "api-v1",
    "level",
]
TXNS = [".rh-ab12.h-api0.r-Q1w2E3r4.c-7.ts-1700000000123.v-1", "3f2b8c1e-9a7d-4c1b-8e2f-0123456789ab"]

texts = st.sampled_from(TEXTS) | st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
ints = st.sampled_from([0, 2, 3, 4, 7, 9, 15, 99, 200, 404, 500, 503, -1, 10**16, 2**62]) | st.integers(-5, 600)
floats = st.sampled_from([3.0, 2.5, 500.0, 1e16, 1e22, 1e-05, 0.1, -0.0]) | st.floats(
    allow_nan=False, allow_infinity=False
)
scalars = st.one_of(texts, ints, floats, st.booleans(), st.none())
level_values = st.one_of(
    st.integers(0, 15),
    st.sampled_from([3, 4, 7, 3.0, "err", "ERR", "Warning", "warn", "info", "debug", "trace2", "TRACE8", "3", "7"]),
    scalars,
)
nested = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(texts, ints),
        "level": level_values,
        "path": texts,
        "deep": st.fixed_dictionaries({"id": ints}),
    },
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "level": level_values,
    "_exact_level": st.one_of(st.integers(8, 15), level_values),
    "status": st.one_of(ints, floats, texts),
    "_status": st.one_of(ints, texts),
    "path": texts,
    "_path": texts,
    "short_message": texts,
    "msg": texts,
    "message": texts,
    "txnId": st.sampled_from(TXNS),
    "_txnId": st.sampled_from(TXNS),
    "ctx": st.one_of(nested, scalars),
    "_ctx": nested,
    "_ctx_id": st.one_of(texts, ints),
    "ok": st.one_of(st.booleans(), texts),
    "tags": st.lists(scalars, max_size=3),
}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly GELF-like (a level is almost always there), in any key order."""
    keys = draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True, max_size=5))
    if "level" not in keys and draw(st.integers(0, 9)) > 0:
        keys.append("level")
    return {k: draw(FIELDS[k]) for k in draw(st.permutations(keys))}


def escape_all(s: str) -> str:
    """A JSON string with every character written as \\uXXXX (valid JSON, if unusual)."""
    out = []
    for ch in s:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            out.append(f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}")
        else:
            out.append(f"\\u{cp:04x}")
    return '"' + "".join(out) + '"'


def dump(value: Any, style: str, ws: str) -> str:
    """JSON in one of several legal layouts: the spacing and string escapes vary."""
    if isinstance(value, dict):
        items = [f"{ws}{dump(k, style, ws)}{ws}:{ws}{dump(v, style, ws)}{ws}" for k, v in value.items()]
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(f"{ws}{dump(v, style, ws)}" for v in value) + "]"
    if isinstance(value, str):
        return escape_all(value) if style == "escaped" else json.dumps(value, ensure_ascii=style == "ascii")
    return json.dumps(value)


@st.composite
def json_lines(draw: st.DrawFn, seq: int) -> bytes:
    rec = draw(records())
    items = list(rec.items())
    items.insert(draw(st.integers(0, len(items))), ("seq", seq))  # makes every line unique
    rec = dict(items)
    style = draw(st.sampled_from(["orjson", "python", "compact", "ascii", "spaced", "escaped"]))
    if style == "orjson":
        body = orjson.dumps(rec)
    elif style == "python":
        body = json.dumps(rec).encode()
    elif style == "compact":
        body = json.dumps(rec, separators=(",", ":"), ensure_ascii=False).encode()
    else:
        ws = draw(st.sampled_from(["", " ", "  ", "\t", " \t"])) if style != "escaped" else ""
        body = dump(rec, style, ws).encode()
    return body


PREFIXES = [b"", b"@4000000065a1b2c30a1b2c3d ", b"2026-11-22_06:28:03.46035 ", b"2026-11-22T06:28:03.46035 "]
JUNK = [b"not json", b"[1, 2]", b'"level": 3', b"level=3 status=500", b'{"level":3']


@st.composite
def log_lines(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """(line as written, JSON body) pairs; junk lines have junk bodies."""
    out = []
    for seq in range(draw(st.integers(1, 12))):
        body = draw(st.sampled_from(JUNK)) if draw(st.integers(0, 9)) == 0 else draw(json_lines(seq))
        out.append((draw(st.sampled_from(PREFIXES)) + body, body))
    return out


# --- queries ----------------------------------------------------------------------------------

NAMES = ["level", "status", "path", "message", "msg", "txnId", "ctx.id", "ctx.level", "ok", "nope"]
EQUAL_VALUES = [
    *[t for t in TEXTS if "\n" not in t],
    *TXNS,
    "3",
    "7",
    "9",
    "0",
    "-1",
    "404",
    "10000000000000000",
    "0.1",
    "1e-05",
    "0.00001",
    "2.5",
    "warn",
    "TRACE2",
    "/v1/*",
    "*err*",
    "*",
    "a[1]*",
    "a?c*",
    "5*",
    "*.*",
]
REGEXES = ["^/v1", "err", r"\d", "é", '"', "^$", "^3$", "ab|cd", "[0-9]{3}", "RR", r"\\", "^-", "e\\+"]
NUMBERS = ["0", "3", "3.5", "4", "7", "9", "15", "99", "200", "404", "500", "-1", "1e16"]
LEVEL_NAMES = ["err", "warning", "debug", "trace2", "EMERG", "info", "Trace8"]


def harvest(lines: list[tuple[bytes, bytes]]) -> list[str]:
    """The text of every scalar in the lines' records: values a query is likely to look for."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            try:
                text = ref_text(value)
            except Undefined:
                return
            if "\n" not in text and "\x00" not in text:
                found.append(text)

    for _, body in lines:
        try:
            walk(json.loads(body))
        except ValueError:
            pass
    return found


@st.composite
def terms(draw: st.DrawFn, seen: list[str]) -> tuple[str, str, str]:
    if draw(st.booleans()):  # the level, the most common query, in all its forms
        op = draw(st.sampled_from(["=", "!=", ">", ">=", "<", "<="]))
        return "level", op, draw(st.sampled_from([*LEVEL_NAMES, "0", "3", "4", "7", "9", "15", "3.5"]))
    name = draw(st.sampled_from(NAMES))
    op = draw(st.sampled_from(["=", "=", "!=", "~", ">", ">=", "<", "<=", "<=", "?"]))
    if op == "?":
        value = ""
    elif op in ("=", "!="):
        pools = [EQUAL_VALUES, LEVEL_NAMES if name == "level" else EQUAL_VALUES, *([seen] if seen else [])]
        value = draw(st.sampled_from(draw(st.sampled_from(pools))))
    elif op == "~":
        value = draw(st.sampled_from(REGEXES))
    else:
        value = draw(st.sampled_from(NUMBERS + LEVEL_NAMES if name == "level" else NUMBERS))
    return name, op, value


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[bytes, bytes]], list[tuple[str, str, str]]]:
    """Lines, and a query whose values often come from those lines."""
    lines = draw(log_lines())
    query = draw(st.lists(terms(harvest(lines)), min_size=1, max_size=3))
    return lines, query


def as_args(query: list[tuple[str, str, str]]) -> list[str]:
    return [f"{name}{op}{value}" for name, op, value in query]


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenario=scenarios())
def test_scanner_agrees_with_the_reference(
    scenario: tuple[list[tuple[bytes, bytes]], list[tuple[str, str, str]]],
) -> None:
    lines, query = scenario
    printed = scan_lines(as_args(query), [line for line, _ in lines])
    bodies = [body for _, body in lines]
    assert printed == [b for b in bodies if b in printed], "printed out of order, or a line that was not read"
    for body in bodies:
        try:
            obj = json.loads(body)
        except ValueError:
            obj = None
        verdict = reference(obj, query)
        if verdict is True:
            assert body in printed, f"{as_args(query)} should match {body!r}"
        elif verdict is False:
            assert body not in printed, f"{as_args(query)} should not match {body!r}"


@PROPERTY
@given(scenario=scenarios())
def test_the_prefilter_never_drops_a_matching_line(
    scenario: tuple[list[tuple[bytes, bytes]], list[tuple[str, str, str]]],
) -> None:
    lines, query = scenario
    raw = [line for line, _ in lines]
    assert scan_lines(as_args(query), raw) == scan_lines(as_args(query), raw, prefilter=False)


@PROPERTY
@given(scenario=scenarios())
def test_the_generated_test_of_a_query_answers_as_its_terms_do(
    scenario: tuple[list[tuple[bytes, bytes]], list[tuple[str, str, str]]],
) -> None:
    """``Query.timeless`` (code generated from the terms, what a scan calls per line) against
    ``Query.matches`` (the terms one after the other), on every record of the lines."""
    lines, terms_ = scenario
    query = Query([parse_term(t) for t in as_args(terms_)])
    generated = query.timeless()
    assert generated is not None
    for _, body in lines:
        try:
            obj = json.loads(body)
        except ValueError:
            continue
        if isinstance(obj, dict):
            assert generated(obj) == query.matches(obj, None), (as_args(terms_), body)
