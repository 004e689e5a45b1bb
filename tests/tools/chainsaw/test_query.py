"""The query language, evaluated through the scanner (byte prefilter included) and without it."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from logmagic.tools.chainsaw.cli import parse_time
from logmagic.tools.chainsaw.query import Query, QueryError, json_text, parse_term
from logmagic.tools.logfiles.prefix import strip_prefix

from .helpers import jl, scan_lines


def select(terms: list[str], lines: list[bytes]) -> list[bytes]:
    """Matching lines, checked to be the same with and without the byte prefilter."""
    with_prefilter = scan_lines(terms, lines)
    assert with_prefilter == scan_lines(terms, lines, prefilter=False), "the prefilter dropped or added a line"
    return with_prefilter


# --- names: the field, its GELF form, aliases, nesting ------------------------------------------


def test_a_name_finds_the_field_and_its_gelf_form() -> None:
    txn = ".rh-ab12.h-api0.r-Q1w2E3r4.c-7.ts-1700000000123.v-1"
    lines = [
        jl({"_txnId": txn, "i": 1}),
        jl({"txnId": txn, "i": 2}),
        jl({"_txnId": txn + "0", "i": 3}),  # a longer id holding the same bytes
        jl({"other": txn, "i": 4}),  # the bytes, in another field
    ]
    assert select([f"txnId={txn}"], lines) == lines[:2]


@pytest.mark.parametrize("key", ["short_message", "message", "msg"])
def test_message_finds_every_spelling_of_the_message(key: str) -> None:
    lines = [jl({key: "disk full", "level": 3}), jl({key: "disk fine", "level": 3})]
    assert select(["message=disk full"], lines) == lines[:1]
    assert select(["message~full$"], lines) == lines[:1]


def test_facility_finds_gelf_facility() -> None:
    lines = [jl({"_facility": "app.db"}), jl({"facility": "app.db"}), jl({"_facility": "app.web"})]
    assert select(["facility=app.db"], lines) == lines[:2]
    assert select(["facility=app.*"], lines) == lines


def test_dotted_names_reach_nested_objects_and_gelf_flattened_fields() -> None:
    lines = [
        jl({"req": {"method": "GET", "headers": {"user-agent": "curl"}}}),
        jl({"_req": {"method": "GET"}}),
        jl({"_req_method": "GET"}),
        jl({"req": {"method": "POST"}}),
        jl({"req": "GET"}),
        jl({"method": "GET"}),
    ]
    assert select(["req.method=GET"], lines) == lines[:3]
    assert select(["req.headers.user-agent=curl"], lines) == lines[:1]
    assert select(["req.method?"], lines) == lines[:4]


# --- operators ------------------------------------------------------------------------------


def test_equal_compares_as_text() -> None:
    lines = [
        jl({"status": 200}),
        jl({"status": "200"}),
        jl({"status": 200.0}),
        jl({"status": 2000}),
        jl({"status": "200 "}),
        jl({"status": 20}),
    ]
    assert select(["status=200"], lines) == lines[:3]


def test_equal_compares_numbers_as_numbers_only_for_json_numbers() -> None:
    lines = [jl({"status": 7}), jl({"status": "007"}), jl({"status": 7.0}), jl({"status": "7"})]
    assert select(["status=007"], lines) == lines[1:2], "007 is not a JSON number: it is text"
    assert select(["status=7"], lines) == [lines[0], lines[2], lines[3]]
    assert select(["status=7.0"], lines) == [lines[0], lines[2]]
    big = [jl({"n": 2**62}), jl({"n": 2**62 + 1})]
    assert select([f"n={2**62 + 1}"], big) == big[1:], "integers compare exactly"


def test_equal_on_booleans_and_null() -> None:
    lines = [jl({"ok": True, "acct": None}), jl({"ok": False, "acct": "null"}), jl({"ok": "true", "acct": "x"})]
    assert select(["ok=true"], lines) == [lines[0], lines[2]]
    assert select(["ok=false"], lines) == [lines[1]]
    assert select(["acct=null"], lines) == lines[:2]


def test_star_globs_over_the_whole_value() -> None:
    lines = [jl({"path": "/v1/users"}), jl({"path": "/v1/"}), jl({"path": "/v2/v1/users"}), jl({"path": "/v1"})]
    assert select(["path=/v1/*"], lines) == lines[:2]
    assert select(["path=*users"], lines) == [lines[0], lines[2]]
    assert select(["path=*"], lines) == lines


def test_only_star_is_special_in_a_glob() -> None:
    """``field=value`` is exact except for ``*``: brackets and ``?`` in a value are literal."""
    lines = [
        jl({"path": "/items[1]/detail"}),
        jl({"path": "/items1/detail"}),
        jl({"path": "/search?q=x"}),
        jl({"path": "/searchXq=x"}),
    ]
    assert select(["path=/items[1]/*"], lines) == lines[:1]
    assert select(["path=/search?q=*"], lines) == lines[2:3]


def test_not_equal_counts_a_missing_field_as_not_equal() -> None:
    lines = [jl({"status": 200}), jl({"status": 500}), jl({"other": 1}), jl({"_status": 200})]
    assert select(["status!=200"], lines) == lines[1:3]
    assert select(["status!=2*"], lines) == lines[1:3]


def test_regex_searches_the_text_of_the_value() -> None:
    lines = [jl({"msg": "timeout after 3s"}), jl({"msg": "no timeout"}), jl({"status": 503}), jl({"status": 404})]
    assert select(["msg~^timeout"], lines) == lines[:1]
    assert select(["msg~time"], lines) == lines[:2]
    assert select(["status~^5"], lines) == lines[2:3]


STATUS_VALUES: list[object] = [500, 503, "502", 500.0, 499.5, "abc", True, None, 404, {"a": 600}, [700]]


@pytest.mark.parametrize(
    ("term", "indices"),
    [
        ("status>=500", [0, 1, 2, 3]),
        ("status>500", [1, 2]),
        ("status<500", [4, 8]),
        ("status<=404", [8]),
    ],
)
def test_numeric_comparisons(term: str, indices: list[int]) -> None:
    """Numbers and numeric text compare; other text, booleans, null and objects never match."""
    lines = [jl({"status": v, "i": i}) for i, v in enumerate(STATUS_VALUES)]
    assert select([term], lines) == [lines[i] for i in indices]


def test_present_includes_null_and_the_gelf_form() -> None:
    lines = [jl({"acct": None}), jl({"_acct": "a1"}), jl({"account": "a1"})]
    assert select(["acct?"], lines) == lines[:2]


def test_terms_are_anded() -> None:
    lines = [
        jl({"level": 3, "status": 500, "path": "/v1/pay"}),
        jl({"level": 3, "status": 200, "path": "/v1/pay"}),
        jl({"level": 6, "status": 500, "path": "/v1/pay"}),
        jl({"level": 3, "status": 500, "path": "/v2/pay"}),
    ]
    assert select(["level<=err", "status>=500", "path=/v1/*"], lines) == lines[:1]


# --- level: numbers, names, trace levels ------------------------------------------------------


def test_level_takes_names_and_aliases() -> None:
    lines = [jl({"level": n, "i": n}) for n in range(8)]
    assert select(["level<=err"], lines) == lines[:4]
    assert select(["level<=ERROR"], lines) == lines[:4]
    assert select(["level>=warn", "level<=notice"], lines) == lines[4:6]
    assert select(["level<3"], lines) == lines[:3]
    assert select(["level>dbg"], lines) == []


def test_level_uses_exact_level_of_gelf_trace_records() -> None:
    lines = [
        jl({"level": 7, "_exact_level": 9, "short_message": "t2"}),
        jl({"level": 7, "_exact_level": 8, "short_message": "t1"}),
        jl({"level": 7, "short_message": "debug"}),
        jl({"level": 7, "_exact_level": 15, "short_message": "t8"}),
    ]
    assert select(["level>=trace2"], lines) == [lines[0], lines[3]]
    assert select(["level<=trace1"], lines) == lines[1:3]
    assert select(["level>=9", "level<=9"], lines) == lines[:1]
    assert select(["level<=debug"], lines) == [lines[2]]


def test_level_written_as_a_name_in_the_record() -> None:
    lines = [jl({"level": "err"}), jl({"level": "ERROR"}), jl({"level": "warning"}), jl({"level": "info"})]
    assert select(["level<=err"], lines) == lines[:2]
    assert select(["level>=warn"], lines) == lines[2:]


def test_level_names_other_loggers_write_are_read() -> None:
    """stdlib logging, structlog and loguru write ``critical``; log4j and logrus ``fatal``;
    syslog's old name for emerg is ``panic``."""
    lines = [
        jl({"level": "critical", "event": "disk full"}),
        jl({"level": "CRITICAL"}),
        jl({"level": "fatal"}),
        jl({"level": "panic"}),
        jl({"level": "error"}),
        jl({"level": "info"}),
    ]
    assert select(["level<=3"], lines) == lines[:5]
    assert select(["level<=crit"], lines) == lines[:4]
    assert select(["level=critical"], lines) == lines[:3]
    assert select(["level=2"], lines) == lines[:3]
    assert select(["level<1"], lines) == lines[3:4]


def test_level_equal_to_a_name_finds_numeric_levels() -> None:
    """``level=err`` is ``level=3``: a GELF line says ``"level":3``, never the bytes ``err``."""
    lines = [jl({"level": 3, "short_message": "boom"}), jl({"level": 4, "short_message": "hm"})]
    assert select(["level=err"], lines) == lines[:1]
    assert select(["level=warn"], lines) == lines[1:]
    trace = [jl({"level": 7, "_exact_level": 9, "short_message": "deep"})]
    assert select(["level=trace2"], trace) == trace


def test_level_equal_to_a_number_finds_level_names() -> None:
    """``level=3`` matches what ``level<=3`` and ``level>=3`` both match."""
    lines = [jl({"level": "err"}), jl({"level": "ERROR"}), jl({"level": "warning"})]
    both = select(["level<=3", "level>=3"], lines)
    assert both == lines[:2]
    assert select(["level=3"], lines) == both


# --- the byte prefilter never drops a matching line ---------------------------------------------

LEVEL_FORMS = [
    b'{"level":3,"short_message":"compact"}',
    b'{"level": 3, "short_message": "json.dumps spaces"}',
    b'{"level" : 3 , "short_message" : "spaces both sides"}',
    b'{"level":\t3,"short_message":"tab"}',
    b'{"short_message":"level last","level":3}',
    b'{"level":3.0,"short_message":"float"}',
    b'{"level":3e0,"short_message":"exponent"}',
    b'{"level":2.5,"short_message":"fraction"}',
    b'{"level":-1,"short_message":"negative"}',
    b'{"level":"err","short_message":"name"}',
    b'{"level":"3","short_message":"numeric string"}',
    b'{"level":7,"_exact_level":3,"short_message":"exact level wins"}',
    b'{"level":3,"ctx":{"level":7},"short_message":"nested level is not the level"}',
    b'{"ctx":{"level":7},"level":3,"short_message":"nested first"}',
    b'{"level":3,"short_message":"caf\\u00e9 \\"quoted\\" back\\\\slash \\u2028 \xe2\x9c\x93"}',
    b'{"level":3,"short_message":"ends with level\\":9"}',
]
NOT_MATCHING = [
    b'{"level":6,"short_message":"info"}',
    b'{"level":4,"ctx":{"level":2},"short_message":"nested level 2, top level 4"}',
    b'{"level":7,"_exact_level":9,"short_message":"trace2"}',
    b'{"level":"info","short_message":"info name"}',
    b'{"level":300,"short_message":"big"}',
    b'{"level":12345678901234567890,"short_message":"huge"}',
    b'{"level":null,"short_message":"null"}',
    b'{"level":true,"short_message":"bool"}',
    b'{"short_message":"no level","status":3}',
]


def test_level_prefilter_keeps_every_way_of_writing_a_level() -> None:
    n = len(NOT_MATCHING)
    lines = [line for pair in zip(LEVEL_FORMS[:n], NOT_MATCHING, strict=True) for line in pair] + LEVEL_FORMS[n:]
    assert select(["level<=err"], lines) == LEVEL_FORMS
    assert select(["level<4"], lines) == LEVEL_FORMS


def test_level_prefilter_with_svlogd_prefixes() -> None:
    prefixes = [b"", b"@4000000065a1b2c30a1b2c3d ", b"2026-11-22_06:28:03.46035 ", b"2026-11-22T06:28:03.46035 "]
    lines = [prefix + body for prefix in prefixes for body in (LEVEL_FORMS[1], NOT_MATCHING[0])]
    assert select(["level<=err"], lines) == [LEVEL_FORMS[1]] * 4


def test_level_prefilter_for_big_and_two_digit_levels() -> None:
    lines = [b'{"level":300}', b'{"level": 12345678901234567890}', b'{"level":99}', b'{"level":98.5}', b'{"level":7}']
    assert select(["level>=99"], lines) == lines[:3]
    assert select(["level>=100"], lines) == lines[:2]
    assert select(["level>98", "level<99"], lines) == lines[3:4]
    assert select(["level=99"], lines) == lines[2:3]


def test_level_prefilter_with_trace_levels_that_gelf_clamps() -> None:
    lines = [
        b'{"version":"1.1","level":7,"_exact_level":12,"short_message":"t5"}',
        b'{"version":"1.1","level":7,"_exact_level":8,"short_message":"t1"}',
        b'{"version":"1.1","_exact_level": 13, "level": 7,"short_message":"t6"}',
    ]
    assert select(["level>=trace5"], lines) == [lines[0], lines[2]]
    assert select(["level=12"], lines) == lines[:1]
    assert select(["level<=8"], lines) == lines[1:2]


def test_literal_prefilter_with_escaped_and_unicode_values() -> None:
    txn = "a1b2c3d4-0000-4000-8000-1234567890ab"
    lines = [
        jl({"_txnId": txn, "short_message": 'tab\tnl\n"q" \\ é ✓ \u2028'}),
        json.dumps({"txnId": txn, "short_message": "é ✓ \x1b[31m"}).encode(),  # \u escapes
        jl({"_txnId": txn[:-1], "short_message": "almost"}),
    ]
    assert select([f"txnId={txn}"], lines) == lines[:2]


@pytest.mark.parametrize(
    ("term", "line"),
    [
        # json.dumps and orjson write 1e16 as 1e+16; = compares it as 10000000000000000
        ("bytes=10000000000000000", b'{"bytes": 1e+16, "level": 6}'),
        # orjson (logmagic's own encoders) writes 1e-05 as 0.00001
        ("duration=1e-05", orjson.dumps({"duration": 1e-05, "level": 6})),
    ],
)
def test_literal_prefilter_with_a_float_written_another_way(term: str, line: bytes) -> None:
    other = b'{"bytes":1000000000000000,"duration":0.0001,"level":6}'
    assert scan_lines([term], [line, other], prefilter=False) == [line]
    assert select([term], [line, other]) == [line]


def test_equal_finds_a_float_as_the_line_writes_it() -> None:
    """A value copied from ``-o json`` output finds its line: logmagic writes 1e-05 as 0.00001."""
    line = orjson.dumps({"duration": 1e-05, "level": 6})
    assert line == b'{"duration":0.00001,"level":6}'
    assert select(["duration=0.00001"], [line]) == [line]


ESCAPED = [b'{"path":"\\u0061pi-v1","lev\\u0065l":3}', b'{"path":"api-v2","level":6}']


def test_literal_prefilter_with_json_unicode_escapes_of_plain_characters() -> None:
    """JSON may write any character as ``\\uXXXX``; the parsed value is what is matched."""
    assert select(["path=api-v1"], ESCAPED) == ESCAPED[:1]


def test_level_prefilter_with_json_unicode_escapes_in_the_key() -> None:
    assert select(["level<=err"], ESCAPED) == ESCAPED[:1]


def test_literal_prefilter_with_escaped_slashes_and_upper_case_hex() -> None:
    """PHP writes ``/`` as ``\\/``; any writer may use upper-case hex in ``\\uXXXX``."""
    lines = [
        b'{"path":"\\/v1\\/users","level":6}',
        b'{"path":"\\u002Fv1\\u002fusers","level":6}',
        b'{"path":"/v1/users","level":6}',
        b'{"path":"\\/v1\\/user","level":6}',
        b'{"msg":"caf\\u00E9 \\u2713 \\ud83d\\ude00","level":6}',
    ]
    assert select(["path=/v1/users"], lines) == lines[:3]
    assert select(["msg=caf\u00e9 \u2713 \U0001f600"], lines) == lines[4:]


def test_a_value_with_quotes_and_backslashes_is_found() -> None:
    lines = [jl({"msg": 'say "hi" \\ bye'}), json.dumps({"msg": 'say "hi" \\ bye'}).encode(), jl({"msg": "say hi"})]
    assert select(['msg=say "hi" \\ bye'], lines) == lines[:2]


def test_regex_and_glob_see_objects_as_compact_json() -> None:
    lines = [jl({"ctx": {"id": 1, "tags": ["a"]}}), jl({"ctx": "id"}), jl({"ctx": [1, 2]})]
    assert select(['ctx~"id":1'], lines) == lines[:1]
    assert select(["ctx=[*]"], lines) == lines[2:]
    assert select(['ctx={"id":1,"tags":["a"]}'], lines) == [], "= never equals an object"


# --- malformed terms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    ["=x", "!=x", "~x", ">3", ">=3", "<3", "<=3", "?", ".a?", "a b=c", "status>abc", "status>=abc", "status<x"],
)
def test_malformed_terms_raise_query_error(term: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_term(term)
    assert term in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("term", ["level<=bogus", "level>=trace9", "x<=err"])
def test_level_names_only_for_level(term: str) -> None:
    with pytest.raises(QueryError):
        parse_term(term)


def test_bad_regex_raises_query_error() -> None:
    with pytest.raises(QueryError, match="regular expression"):
        parse_term("msg~(unclosed")


def test_values_may_hold_operators() -> None:
    term = parse_term("path=/a=b<c>~d")
    assert (term.name, term.op, term.value) == ("path", "=", "/a=b<c>~d")
    term = parse_term("q!=a!=b")
    assert (term.name, term.op, term.value) == ("q", "!=", "a!=b")


# --- time ------------------------------------------------------------------------------------


def utc(*args: int) -> float:
    return datetime.datetime(*args, tzinfo=datetime.timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T06:28:03Z", utc(2026, 11, 22, 6, 28, 3)),
        ("2026-11-22T06:28:03", utc(2026, 11, 22, 6, 28, 3)),
        ("2026-11-22T08:28:03+02:00", utc(2026, 11, 22, 6, 28, 3)),
        ("2026-11-22_06:28:03.5", utc(2026, 11, 22, 6, 28, 3) + 0.5),
        ("1795328883", 1795328883.0),
        ("1795328883.25", 1795328883.25),
    ],
)
def test_absolute_times(text: str, expected: float) -> None:
    assert parse_time(text) == pytest.approx(expected)


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("2h", 7200), ("1d", 86400), ("30s", 30), ("1w", 604800)])
def test_relative_times(text: str, seconds: int) -> None:
    assert parse_time(text, now=1_800_000_000.0) == 1_800_000_000.0 - seconds


@pytest.mark.parametrize("text", ["yesterday", "15x", "2026-13-45", "m15"])
def test_bad_times(text: str) -> None:
    with pytest.raises(QueryError, match="bad time"):
        parse_time(text)


def test_time_window_uses_the_record_time_then_the_prefix_time() -> None:
    t0 = utc(2026, 11, 22, 6, 28, 3)
    query = Query([], since=t0, until=t0 + 60)
    assert query.matches({"timestamp": t0 + 1}, None)
    assert not query.matches({"timestamp": t0 - 1}, t0 + 1)  # the record's own time wins
    assert query.matches({"msg": "x"}, t0 + 30)
    assert not query.matches({"msg": "x"}, t0 + 61)
    assert not query.matches({"msg": "x"}, None)  # no time at all: outside any window


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"2026-11-22_06:28:03.46035 {}", utc(2026, 11, 22, 6, 28, 3) + 0.46035),
        (b"2026-11-22T06:28:03.46035 {}", utc(2026, 11, 22, 6, 28, 3) + 0.46035),
        (b"2026-11-22T06:28:03.46035Z {}", utc(2026, 11, 22, 6, 28, 3) + 0.46035),
        (b"2026-11-22T07:28:03.46035+01:00 {}", utc(2026, 11, 22, 6, 28, 3) + 0.46035),
        (b"2026-11-22T01:58:03.46035-0430 {}", utc(2026, 11, 22, 6, 28, 3) + 0.46035),
        # TAI64N: 2**62 + 10 + unix seconds, then nanoseconds
        (b"@4000000065a1b2c31dcd6500 {}", 0x65A1B2C3 - 10 + 0.5),
    ],
)
def test_svlogd_prefixes_give_the_time(line: bytes, expected: float) -> None:
    for _ in range(2):  # the second time from the cache of seconds
        body, when = strip_prefix(line)
        assert body == b"{}"
        assert when == pytest.approx(expected, abs=1e-5)


def test_a_prefix_with_an_impossible_date_is_left_in_place() -> None:
    for _ in range(2):
        assert strip_prefix(b"2026-13-45_06:28:03.46035 {}") == (b"2026-13-45_06:28:03.46035 {}", None)
    body, when = strip_prefix(b"2026-11-22_06:28:03.5 {}")  # same second as above, another fraction
    assert (body, when) == (b"{}", pytest.approx(utc(2026, 11, 22, 6, 28, 3) + 0.5))


def test_a_presence_term_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(QueryError, match="bad query term"):
        parse_term("txnId?\n")


@given(st.text())
def test_json_text_is_how_orjson_writes_a_string(text: str) -> None:
    """The prefilter's bytes for a value are made without orjson; they must be orjson's."""
    try:
        want = orjson.dumps(text)[1:-1]
    except TypeError:  # a lone surrogate: not Unicode, and no prefilter is made for it
        with pytest.raises(UnicodeEncodeError):
            json_text(text)
        return
    assert json_text(text) == want


def test_a_search_that_finds_nothing_does_not_load_orjson(tmp_path: Path) -> None:
    """Parsing starts at the first line that may match: "no record of ... here" costs no JSON
    parser's start-up."""
    path = tmp_path / "x.log"
    path.write_bytes(b'{"short_message": "nothing to see", "level": 6}\n' * 1000)
    code = (
        "import sys; from logmagic.tools.chainsaw.cli import main; sys.stdout = open('/dev/null', 'w');"
        f" rc = main(['--txn', 'no-such-id', {str(path)!r}]); print('orjson' in sys.modules, rc, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stderr.splitlines()[-1] == "False 1", proc.stderr
