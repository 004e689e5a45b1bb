"""``bytescan.decide``: a query's verdict on a line without the parser, held to ``scan.judge``.

The C scanner may leave any line to the parser, but every line it decides must be decided as
``judge`` (orjson, then ``Query.matches``) decides it: a match it reports is a JSON object that
matches, and a line it drops is a JSON object that does not. Lines are generated to trip it:
duplicate keys, keys and values written with escapes, numbers at the edge of what a double
holds, text that looks like a number, nested values, and lines that are not JSON in the ways
orjson refuses (a control byte, bad UTF-8, a lone surrogate, a leading zero, something after
the object).
"""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logmagic.tools.chainsaw import bytescan
from logmagic.tools.chainsaw.query import Query, parse_term
from logmagic.tools.chainsaw.scan import judge

try:
    from logmagic.tools.chainsaw._speedups import decide as decide_c
except ImportError:
    decide_c = None  # type: ignore[assignment]


@pytest.fixture(scope="module")
def decide() -> bytescan.Decide:
    if decide_c is None:
        pytest.skip("the C accelerator was not built")
    return decide_c


KEYS = ["status", "_status", "accountId", "_accountId", "level", "_exact_level", "msg", "short_message", "x"]
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([500, 499, 500.0, 5e2, -0.0, 10**15, 10**15 + 1, 2**53 + 1, 1e-320, 123456789012345678]),
)
texts = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["ac7", "ac77", "AC7", "500", "5e2", "-1", "ac7\n", 'a"c', "é", "東京"]),
    st.sampled_from(["err", "Error", "info", "CRITICAL", "ınfo", "warning "]),  # level names, and near ones
)
values = st.recursive(
    st.one_of(numbers, texts, st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=6,
)
#: Ways of writing a number that orjson reads otherwise than a plain decimal, or refuses.
NUMBER_TEXTS = ["5E2", "5.00e+2", "500.000", "-0", "1e400", "1e-400", "0500", "5.", ".5", "1_0", "+5", "0x1F"]
#: Bytes that break a line in a way orjson refuses (or, for escapes, reads differently).
DAMAGE = [b"\x01", b"\xff", b"\xed\xa0\x80", b"\\ud800", b"\\u00e9", b"\\x", b",", b"}", b" ", b"\t", b"\\/", b'"']


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    """A JSON object line, maybe with duplicate keys, escapes, odd numbers and damage."""
    pairs = draw(st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=6))
    parts = []
    for key, value in pairs:
        k = orjson.dumps(key).decode()
        if draw(st.integers(0, 9)) == 0:  # the key written with escapes
            k = '"' + "".join(f"\\u{ord(c):04x}" for c in key) + '"'
        try:
            v = orjson.dumps(value).decode()
        except orjson.JSONEncodeError:  # an int beyond 64 bits: written as Python writes it
            v = json.dumps(value)
        roll = draw(st.integers(0, 14))
        if roll == 0:
            v = json.dumps(value)  # ASCII escapes for non-ASCII text
        elif roll == 1:
            v = draw(st.sampled_from(NUMBER_TEXTS))
        sep = draw(st.sampled_from([":", " : ", ":\t"]))
        parts.append(f"{k}{sep}{v}")
    line = ("{" + draw(st.sampled_from([",", ", "])).join(parts) + "}").encode()
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(line)))
        line = line[:at] + draw(st.sampled_from(DAMAGE)) + line[at:]
    return line


TERMS = [
    "status>=500",
    "status<500",
    "status>499.5",
    "status<=-0",
    "accountId=ac7",
    "accountId!=ac7",
    "accountId=500",
    "status=500",
    "status!=5e2",
    "x=true",
    "x=null",
    "x?",
    "msg=ac7",
    "level<=3",
    "level>6",
    "level<=err",
    "level>=warning",
    "msg<5",
]


@settings(max_examples=1500, deadline=None)
@given(batch=st.lists(lines(), min_size=1, max_size=8), terms=st.lists(st.sampled_from(TERMS), min_size=1, max_size=3))
def test_every_line_decided_is_decided_as_the_parser_decides(
    decide: bytescan.Decide, batch: list[bytes], terms: list[str]
) -> None:
    query = Query([parse_term(t) for t in terms])
    plan = query.plan()
    assert plan is not None
    found, todo = decide(batch, plan)
    assert found == sorted(set(found)) and todo == sorted(set(todo)) and not set(found) & set(todo)
    for i, line in enumerate(batch):
        obj, _, _, hit = judge(line, query)
        if i in found:
            assert obj is not None and hit, line
        elif i not in todo:
            assert obj is not None and not hit, line


def plain_record(rnd: random.Random, i: int) -> bytes:
    """A line as logmagic or structlog writes one: no escape in the compared values."""
    rec = {
        "version": "1.1",
        "host": "api0",
        "short_message": rnd.choice(["request done", "Crème brûlée sold", "validation failed:\n  email: bad"]),
        "timestamp": 1795306000.0 + i / 10,
        "level": rnd.choice([3, 4, 6, 7]),
        "_facility": "shop.api",
        "_status": rnd.choice([200, 404, 500, 503]),
        "_accountId": rnd.choice(["ac7", "ac77", "b2"]),
        "_meta": {"tries": [1, 2.5, None], "ok": True},
    }
    return orjson.dumps(rec)


def structlog_record(rnd: random.Random, i: int) -> bytes:
    """structlog's shape: the level as a name, in any case."""
    names = ["critical", "error", "warning", "info", "debug", "ERROR", "Warning"]
    return orjson.dumps({"event": f"e{i}", "level": rnd.choice(names), "status": 200})


@pytest.mark.parametrize(
    ("make", "terms"),
    [(plain_record, ["status>=500", "accountId=ac7"]), (structlog_record, ["level<=3"])],
    ids=["gelf fields", "structlog level names"],
)
def test_lines_of_the_usual_shapes_are_decided_without_the_parser(
    decide: bytescan.Decide, make: Any, terms: list[str]
) -> None:
    """The point of it: lines as loggers write them are judged in C, none left to the parser."""
    rnd = random.Random(5)
    batch = [make(rnd, i) for i in range(1000)]
    query = Query([parse_term(t) for t in terms])
    plan = query.plan()
    assert plan is not None
    found, todo = decide(batch, plan)
    assert todo == []
    assert found == [i for i, line in enumerate(batch) if judge(line, query)[3]]
    assert 0 < len(found) < len(batch)


def test_the_python_twin_leaves_every_line_to_the_parser() -> None:
    plan = Query([parse_term("status>=500")]).plan()
    assert plan is not None
    assert bytescan.decide_py([b'{"status":503}', b"x"], plan) == ([], [0, 1])


@pytest.mark.parametrize(
    ("terms", "decided"),
    [
        (["status>=500", "accountId=ac7"], True),
        (["x?", "a!=b", "level<=3", "level>err"], True),
        (["message=done"], True),
        (["path=/v1/*"], False),  # a glob
        (["message~^val"], False),  # a regular expression
        (["request.path=/"], False),  # a dotted name
        (["level=err"], False),  # level compared as a level
        (["level=3"], False),
    ],
)
def test_the_plan_covers_the_terms_decide_can_judge(terms: list[str], decided: bool) -> None:
    query = Query([parse_term(t) for t in terms])
    assert (query.plan() is not None) == decided


def test_a_query_with_a_time_window_has_no_plan() -> None:
    assert Query([parse_term("status>=500")], since=0.0).plan() is None


def test_the_plan_tries_the_keys_lookup_tries() -> None:
    plan = Query([parse_term("message=done"), parse_term("level<=3")]).plan()
    assert plan is not None
    (keys, kind, value, numeric, _, names), (level_keys, level_kind, _, _, bound, level_names) = plan
    assert keys == (b"message", b"_message", b"short_message", b"_short_message", b"msg", b"_msg")
    assert (kind, value, numeric, names) == (bytescan.EQ, b"done", False, ())
    assert level_keys == (b"_exact_level", b"level", b"_level") and level_kind == bytescan.LE and bound == 3.0
    assert (b"ERR", 3.0) in level_names and (b"CRITICAL", 2.0) in level_names


def test_a_bad_plan_is_a_type_error(decide: bytescan.Decide) -> None:
    with pytest.raises(TypeError):
        decide([b"{}"], (("status", 4, b"", False, 500.0, ()),))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        decide([b"{}"], (((b"level",), 4, b"", False, 3.0, (("ERR", 3.0),)),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1 to 8 keys"):
        decide([b"{}"], (((), 4, b"", False, 500.0, ()),))
