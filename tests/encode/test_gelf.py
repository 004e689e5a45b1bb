"""The GELF encoder: GELF 1.1 lines that Graylog accepts, whatever the record's fields hold."""

from __future__ import annotations

import datetime
import json
import math
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import logmagic
from logmagic import redact
from logmagic._identity import IDENTITY
from logmagic.encode import GelfEncoder
from logmagic.encode import gelf as gelf_module
from logmagic.record import Record
from logmagic.redact import MASK

from .hostile import (
    PROPERTY,
    Color,
    FloatLike,
    IntLike,
    Opaque,
    StrLike,
    Unprintable,
    hostile_fields,
    hostile_text,
    hostile_values,
    levels,
    timestamps,
)

KIB = 1024
MIB = 1024 * 1024
STRING_CAP = 32 * KIB
GELF_NAME = re.compile(r"[A-Za-z0-9_.-]+")
STANDARD_KEYS = {"version", "host", "short_message", "full_message", "timestamp", "level"}
TS = 1_795_328_883.46


# --- helpers ----------------------------------------------------------------------------------


def record(
    fields: dict[Any, Any] | None = None,
    msg: str = "Something is wrong",
    level: int = logmagic.INFO,
    ts: float = TS,
    full_message: str | None = None,
    facility: str = "myapp.api",
) -> Record:
    return Record(facility, level, msg, {} if fields is None else fields, ts, full_message)


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON")


def parse_line(out: bytes) -> dict[str, Any]:
    """Check that ``out`` is one strict JSON object on one line, within the line cap; return it."""
    assert isinstance(out, bytes)
    assert out.endswith(b"\n")
    assert out.count(b"\n") == 1
    assert len(out) <= MIB
    text = out.decode("utf-8")  # strict: lone surrogates would not survive this
    doc = json.loads(text, parse_constant=_reject_constant)
    assert isinstance(doc, dict)
    return doc


def gelf(rec: Record) -> dict[str, Any]:
    return parse_line(GelfEncoder().encode(rec))


def gelf_name(key: str) -> str:
    """The additional-field name the GELF rules give a top-level string field name."""
    if key == "id":
        return "_objid"
    if key == "facility":
        return "_field_facility"
    return "_" + re.sub(r"[^A-Za-z0-9_.-]", "_", key)


def capped(text: str) -> str:
    """``text`` as the 32 KiB string cap leaves it."""
    if len(text) <= STRING_CAP:
        return text
    return f"{text[:STRING_CAP]}…[truncated {len(text) - STRING_CAP} chars]"


def assert_gelf_shape(doc: dict[str, Any], rec: Record) -> None:
    """What every GELF line must hold, whatever the record's fields were."""
    assert doc["version"] == "1.1"
    assert doc["host"] == IDENTITY.host
    assert isinstance(doc["short_message"], str)
    assert doc["timestamp"] == int(rec.timestamp * 1000) / 1000
    assert doc["level"] == min(rec.level, 7)
    assert "_id" not in doc
    assert "_logmagic_error" not in doc, doc["_logmagic_error"]
    if rec.level > 7:
        assert doc["_exact_level"] == rec.level
    for key, value in doc.items():
        assert GELF_NAME.fullmatch(key), key
        assert key in STANDARD_KEYS or key.startswith("_"), key
        # Graylog indexes strings and numbers: nothing nested, no number JSON or 64 bits cannot hold.
        assert value is None or isinstance(value, (str, bool, int, float)), (key, value)
        if isinstance(value, int) and not isinstance(value, bool):
            assert -(2**63) <= value < 2**64, (key, value)


# --- the record's own keys --------------------------------------------------------------------


def test_record_keys_follow_gelf_1_1() -> None:
    doc = gelf(record({"accountId": "ac42"}))

    assert doc["version"] == "1.1"
    assert doc["host"] == IDENTITY.host
    assert doc["short_message"] == "Something is wrong"
    assert doc["timestamp"] == 1_795_328_883.46
    assert doc["level"] == logmagic.INFO
    assert doc["_facility"] == "myapp.api"
    assert doc["_accountId"] == "ac42"
    assert "full_message" not in doc


def test_host_follows_the_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(IDENTITY, "host", "ord1.product.api0")

    assert gelf(record())["host"] == "ord1.product.api0"


def test_full_message_is_sent_only_when_present() -> None:
    tb = 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\nValueError: bad\n'

    assert gelf(record(full_message=tb))["full_message"] == tb
    assert "full_message" not in gelf(record(full_message=None))


@given(ts=timestamps)
@PROPERTY
def test_timestamp_is_float_seconds_with_millisecond_precision(ts: float) -> None:
    doc = gelf(record(ts=ts))

    assert isinstance(doc["timestamp"], float)
    assert doc["timestamp"] == int(ts * 1000) / 1000


@pytest.mark.parametrize("level", range(8))
def test_syslog_levels_are_sent_as_they_are(level: int) -> None:
    doc = gelf(record(level=level))

    assert doc["level"] == level
    assert "_exact_level" not in doc


@pytest.mark.parametrize("level", range(8, 16))
def test_trace_levels_clamp_to_debug_and_keep_the_exact_level(level: int) -> None:
    doc = gelf(record(level=level))

    assert doc["level"] == 7
    assert doc["_exact_level"] == level


@pytest.mark.parametrize(
    "fields",
    [
        {"exact_level": "mine"},
        {"exact level": "mine"},
        {"exact/level": "mine"},
        {"exact": {"level": "mine"}},
    ],
)
def test_a_field_cannot_overwrite_the_exact_level(fields: dict[str, Any]) -> None:
    doc = gelf(record(fields, level=logmagic.TRACE3))

    assert doc["_exact_level"] == logmagic.TRACE3
    assert "mine" in doc.values()


# --- field names ------------------------------------------------------------------------------


def test_every_field_is_an_additional_field_prefixed_with_underscore() -> None:
    fields = {"accountId": "ac42", "count": 3, "ratio": 0.25, "ok": True, "missing": None}

    doc = gelf(record(fields))

    for key, value in fields.items():
        assert doc["_" + key] == value
    assert not set(fields) & set(doc)


def test_top_level_id_becomes_objid_and_id_is_never_sent() -> None:
    doc = gelf(record({"id": "obj-1"}))

    assert doc["_objid"] == "obj-1"
    assert "_id" not in doc


def test_an_id_mapping_is_flattened_under_objid() -> None:
    doc = gelf(record({"id": {"kind": "user", "n": 7}}))

    assert doc["_objid_kind"] == "user"
    assert doc["_objid_n"] == 7
    assert not any(key == "_id" or key.startswith("_id_") for key in doc)


def test_a_field_named_facility_cannot_overwrite_the_records_facility() -> None:
    doc = gelf(record({"facility": "user-data"}, facility="myapp.api"))

    assert doc["_facility"] == "myapp.api"
    assert doc["_field_facility"] == "user-data"


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("plain.name-with_all-OK.9", "_plain.name-with_all-OK.9"),
        ("user agent", "_user_agent"),
        ("a/b:c", "_a_b_c"),
        ("naïve", "_na_ve"),
        ("tab\there", "_tab_here"),
        ("new\nline", "_new_line"),
        ('quote"d', "_quote_d"),
        ("ünïcödé", "__n_c_d_"),
    ],
)
def test_field_names_keep_only_letters_digits_underscore_dot_and_dash(key: str, name: str) -> None:
    doc = gelf(record({key: "v"}))

    assert doc[name] == "v"


@pytest.mark.parametrize(
    "key", [1, -5, 2.5, None, True, (1, "two"), Unprintable(), Opaque(3), b"raw", "", StrLike("s")]
)
def test_non_string_and_odd_keys_become_valid_names(key: object) -> None:
    doc = gelf(record({key: "the value", "other": 1}))

    names = [k for k, v in doc.items() if v == "the value"]
    assert len(names) == 1
    assert GELF_NAME.fullmatch(names[0])
    assert names[0].startswith("_")
    assert doc["_other"] == 1


def test_lone_surrogates_in_keys_give_valid_names() -> None:
    doc = gelf(record({"bad\udc80key": "v1", "\ud800": "v2"}))

    names = {v: k for k, v in doc.items()}
    assert names["v1"].startswith("_bad_")
    assert names["v1"].endswith("key")
    assert GELF_NAME.fullmatch(names["v2"])


# --- nested mappings --------------------------------------------------------------------------


def test_nested_mappings_are_flattened_with_underscores() -> None:
    doc = gelf(record({"headers": {"user-agent": "x", "accept": "y"}}))

    assert doc["_headers_user-agent"] == "x"
    assert doc["_headers_accept"] == "y"
    assert "_headers" not in doc


def test_deeply_nested_values_keep_their_types_when_flattened() -> None:
    doc = gelf(record({"a": {"b": {"c": 3, "d": True, "e": None, "f": 1.5}}}))

    assert doc["_a_b_c"] == 3
    assert doc["_a_b_d"] is True
    assert doc["_a_b_e"] is None
    assert doc["_a_b_f"] == 1.5


def test_mappings_nested_very_deep_still_give_flat_scalar_fields() -> None:
    deep: dict[str, Any] = {"bottom": "treasure"}
    for i in range(20):
        deep = {f"l{i}": deep}
    rec = record({"deep": deep})

    doc = gelf(rec)

    assert_gelf_shape(doc, rec)
    deep_fields = [key for key in doc if key.startswith("_deep_")]
    assert len(deep_fields) == 1
    assert "treasure" in doc[deep_fields[0]]


def test_nested_key_names_are_restricted_too() -> None:
    doc = gelf(record({"req": {"x forwarded/for": "1.2.3.4", 404: "n", None: "z"}}))

    assert doc["_req_x_forwarded_for"] == "1.2.3.4"
    for key in doc:
        assert GELF_NAME.fullmatch(key)
    assert {"n", "z"} <= set(doc.values())


def test_a_dict_containing_itself_ends_in_a_string() -> None:
    d: dict[str, Any] = {"name": "loop"}
    d["me"] = d

    doc = gelf(record({"d": d, "after": 1}))

    assert doc["_d_name"] == "loop"
    assert isinstance(doc["_d_me"], str)
    assert doc["_after"] == 1


# --- values Graylog cannot index --------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [[1, 2], (1, 2), {1, 2}, frozenset({"a"}), [], [{"nested": [1, 2]}]],
    ids=["list", "tuple", "set", "frozenset", "empty list", "list of mappings"],
)
def test_containers_become_strings(value: object) -> None:
    doc = gelf(record({"v": value}))

    assert isinstance(doc["_v"], str)
    for item in ("1", "2", "a", "nested"):
        assert (item in doc["_v"]) == (item in repr(value))


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**40, -(10**40), 2**200])
def test_ints_beyond_64_bits_become_their_decimal_text(value: int) -> None:
    doc = gelf(record({"big": value, "small": 5}))

    assert doc["_big"] == str(value)
    assert doc["_small"] == 5


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0, -1])
def test_ints_within_64_bits_stay_numbers(value: int) -> None:
    assert gelf(record({"n": value}))["_n"] == value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_become_strings(value: float) -> None:
    doc = gelf(record({"f": value, "nested": {"f": value}}))

    assert isinstance(doc["_f"], str)
    assert isinstance(doc["_nested_f"], str)
    assert float(doc["_f"]) == value or math.isnan(value)


def test_non_finite_floats_nested_in_lists_give_valid_json() -> None:
    doc = gelf(record({"fs": [math.nan, math.inf, -math.inf, 1.5]}))

    assert isinstance(doc["_fs"], str)
    assert "1.5" in doc["_fs"]


def test_a_float_subclass_is_sent_as_a_number() -> None:
    doc = gelf(record({"ratio": FloatLike(0.5), "other": "kept"}))

    assert doc["_ratio"] == 0.5
    assert doc["_other"] == "kept"


def test_an_int_subclass_is_sent_as_a_number() -> None:
    assert gelf(record({"n": IntLike(7)}))["_n"] == 7


def test_scalars_json_lacks_become_readable_strings() -> None:
    when = datetime.datetime(2026, 11, 22, 6, 28, 3, tzinfo=datetime.timezone.utc)
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    fields = {
        "when": when,
        "uid": uid,
        "amount": Decimal("12.50"),
        "raw": b"bytes\xff",
        "err": ValueError("boom"),
        "color": Color.RED,
        "obj": Opaque(1),
    }

    doc = gelf(record(fields))

    for key in fields:
        assert isinstance(doc["_" + key], str), key
    assert "2026-11-22" in doc["_when"]
    assert doc["_uid"] == str(uid)
    assert Decimal(doc["_amount"]) == Decimal("12.50")
    assert doc["_raw"].startswith("bytes")
    assert "ValueError" in doc["_err"]
    assert "boom" in doc["_err"]
    assert "red" in doc["_color"]


def test_an_unprintable_object_becomes_a_string_and_the_rest_survives() -> None:
    doc = gelf(record({"bad": Unprintable(), "nested": {"bad": Unprintable()}, "good": "ok"}))

    assert isinstance(doc["_bad"], str)
    assert isinstance(doc["_nested_bad"], str)
    assert doc["_good"] == "ok"


def test_an_exception_whose_str_raises_is_described_by_its_type() -> None:
    class Grumpy(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    doc = gelf(record({"err": Grumpy()}))

    assert "Grumpy" in doc["_err"]


def test_a_list_containing_itself_becomes_a_string() -> None:
    items: list[Any] = [1, "two"]
    items.append(items)

    doc = gelf(record({"items": items, "after": True}))

    assert isinstance(doc["_items"], str)
    assert "two" in doc["_items"]
    assert doc["_after"] is True


def test_a_value_that_defeats_isinstance_still_gives_a_line_with_the_message() -> None:
    class Shifty:
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            raise RuntimeError("no class")

    ts = 1_700_000_000.123456

    doc = gelf(record({"x": Shifty()}, msg="still here", ts=ts))

    assert doc["short_message"] == "still here"
    assert doc["timestamp"] == int(ts * 1000) / 1000
    assert doc["host"] == IDENTITY.host
    assert doc["_facility"] == "myapp.api"


# --- text -------------------------------------------------------------------------------------


def test_newlines_and_escape_sequences_in_the_message_stay_inside_one_line() -> None:
    msg = "first\nsecond\r\nthird\x1b[31mred\x07\x00end\u2028"

    out = GelfEncoder().encode(record(msg=msg, full_message="tb line 1\ntb line 2\n"))

    doc = parse_line(out)
    assert doc["short_message"] == msg
    assert doc["full_message"] == "tb line 1\ntb line 2\n"
    assert not any(b < 0x20 for b in out[:-1])


def test_lone_surrogates_in_message_and_values_keep_the_text_around_them() -> None:
    doc = gelf(record({"v": "left\udc80right", "n": {"v": "\ud800x"}}, msg="before\udfffafter"))

    assert doc["short_message"].startswith("before")
    assert doc["short_message"].endswith("after")
    assert doc["_v"].startswith("left")
    assert doc["_v"].endswith("right")
    assert doc["_n_v"].endswith("x")


def test_a_100_kb_message_is_capped_with_a_marker() -> None:
    msg = "m" * 100_000

    doc = gelf(record(msg=msg))

    assert doc["short_message"] == capped(msg)
    assert doc["short_message"].endswith(f"…[truncated {100_000 - STRING_CAP} chars]")


def test_long_values_and_full_message_are_capped_with_a_marker() -> None:
    value = "v" * (STRING_CAP + 5)
    tb = "t" * (STRING_CAP * 2)

    doc = gelf(record({"long": value, "nested": {"long": value}, "exact": "e" * STRING_CAP}, full_message=tb))

    assert doc["_long"] == capped(value)
    assert doc["_nested_long"] == capped(value)
    assert doc["_exact"] == "e" * STRING_CAP
    assert doc["full_message"] == capped(tb)


def test_900_fields_of_2_kb_fit_in_one_mebibyte_and_are_marked() -> None:
    fields = {f"field{i}": f"{i}:" + "x" * (2 * KIB) for i in range(900)}  # under the field cap

    doc = gelf(record(fields))

    assert doc["_truncated"] is True
    assert doc["short_message"] == "Something is wrong"
    assert doc["_facility"] == "myapp.api"
    kept = [key for key in fields if "_" + key in doc]
    assert kept
    for key in kept:
        assert fields[key].startswith(doc["_" + key].split("…")[0])


def test_a_huge_number_of_small_fields_is_cut_to_the_field_cap_and_counted() -> None:
    fields = {f"counter_{i}": 1_000_000_000_000 + i for i in range(100_000)}

    doc = gelf(record(fields, level=logmagic.TRACE2))

    assert doc["_dropped_fields"] == 99_000
    assert doc["short_message"] == "Something is wrong"
    assert doc["_facility"] == "myapp.api"
    assert doc["_exact_level"] == logmagic.TRACE2
    written = [key for key in fields if "_" + key in doc]
    assert len(written) == 1000 and all(doc["_" + key] == fields[key] for key in written)


def test_a_huge_field_name_is_cut_to_one_mebibyte_and_marked() -> None:
    doc = gelf(record({"k" * (2 * MIB): 1, "small": "kept"}))

    assert doc["_truncated"] is True
    assert doc["_small"] == "kept"


# --- redaction at the encoder -----------------------------------------------------------------


def test_secret_fields_are_masked_at_any_depth() -> None:
    doc = gelf(record(redact.stage({"password": "hunter2", "headers": {"Authorization": "Bearer x", "accept": "*/*"}})))

    assert doc["_password"] == MASK
    assert doc["_headers_Authorization"] == MASK
    assert doc["_headers_accept"] == "*/*"
    assert "hunter2" not in json.dumps(doc)


def test_configured_secret_names_are_masked_even_for_renamed_fields() -> None:
    fields = {"id": "s1", "facility": "s2", "exact_level": "s3", "plain": "ok"}
    gelf(record(fields))  # names already seen under the default policy

    logmagic.configure(redact=["id", "facility", "exact_level"], env=False)
    doc = gelf(record(redact.stage(fields), level=logmagic.TRACE1))

    assert doc["_objid"] == MASK
    assert doc["_field_facility"] == MASK
    assert doc["_field_exact_level"] == MASK
    assert doc["_plain"] == "ok"
    assert doc["_facility"] == "myapp.api"
    assert doc["_exact_level"] == logmagic.TRACE1


# --- whatever the fields hold -----------------------------------------------------------------


@given(fields=hostile_fields, msg=hostile_text, level=levels, ts=timestamps, full=st.none() | hostile_text)
@PROPERTY
def test_any_record_gives_exactly_one_valid_gelf_line(
    fields: dict[Any, Any], msg: str, level: int, ts: float, full: str | None
) -> None:
    rec = record(fields, msg=msg, level=level, ts=ts, full_message=full)

    doc = gelf(rec)

    assert_gelf_shape(doc, rec)
    assert doc["_facility"] == "myapp.api"
    assert ("full_message" in doc) == (full is not None)
    if msg.isascii() and msg.strip():
        assert doc["short_message"] == msg
    else:
        assert doc["short_message"].strip()  # Graylog refuses a blank one
    for key, value in fields.items():
        if type(key) is str and key.isascii() and key and not isinstance(value, dict):
            assert gelf_name(key) in doc, key


@given(fields=hostile_fields)
@PROPERTY
def test_encoding_leaves_the_fields_as_they_were(fields: dict[Any, Any]) -> None:
    before_keys = list(fields)
    before_ids = [id(v) for v in fields.values()]

    GelfEncoder().encode(record(fields))

    assert list(fields) == before_keys
    assert [id(v) for v in fields.values()] == before_ids


@given(value=hostile_values)
@PROPERTY
def test_any_value_under_the_id_and_facility_names_keeps_the_records_keys(value: Any) -> None:
    rec = record({"id": value, "facility": value, "exact_level": value}, level=logmagic.TRACE8)

    doc = gelf(rec)

    assert_gelf_shape(doc, rec)
    assert doc["_facility"] == "myapp.api"
    assert doc["_exact_level"] == logmagic.TRACE8


@pytest.mark.parametrize("msg", ["", " ", "\n", " \t\r\n", "\u3000"])
@pytest.mark.parametrize("long_line", [False, True], ids=["short-path", "careful-path"])
def test_an_empty_or_blank_message_still_gives_graylog_a_short_message(msg: str, long_line: bool) -> None:
    fields = {"big": "x" * 40_000} if long_line else {}
    line = json.loads(GelfEncoder().encode(Record("f", 6, msg, fields, 1.0, None)))
    assert line["short_message"].strip() != ""  # Graylog refuses a blank short_message


# --- the short path for plain records ---------------------------------------------------------

plain_values = st.one_of(
    st.text(max_size=40),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(),
    st.builds(lambda c, n: c * n, st.characters(), st.integers(STRING_CAP - 2, STRING_CAP + 2)),
)


@PROPERTY
@given(
    fields=st.dictionaries(st.one_of(st.text(max_size=10), st.sampled_from(["id", "token", "facility"])), plain_values),
    msg=st.one_of(st.just(""), st.text(max_size=30)),
    level=levels,
    ts=timestamps,
)
def test_the_short_path_writes_what_the_careful_path_writes(
    fields: dict[str, Any], msg: str, level: int, ts: float
) -> None:
    rec = record(fields, msg=msg, level=level, ts=ts)
    first = GelfEncoder().encode(rec)  # names not seen before: the careful path, which caches them
    second = GelfEncoder().encode(rec)  # the short path wherever the values allow it
    assert first == second == gelf_module._careful(rec)


@pytest.mark.parametrize("ts", [math.inf, -math.inf, math.nan])
def test_a_record_with_an_unusable_time_keeps_its_message_and_facility(ts: float) -> None:
    line = GelfEncoder().encode(Record("billing", logmagic.INFO, "charged", {"amount": 5}, ts))
    d = json.loads(line)
    assert (d["short_message"], d["_facility"], d["timestamp"]) == ("charged", "billing", 0.0)
    assert "_logmagic_error" in d


class _NoClass:
    """A value whose ``__class__`` raises: ``isinstance`` checks on it fail."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise RuntimeError("no class today")


@pytest.mark.parametrize("redact", [True, False])
def test_one_hostile_value_does_not_cost_the_record_its_other_fields(tmp_path: Path, redact: bool) -> None:
    formats = ("gelf", "json", "console")
    logmagic.configure(
        sinks={f: f"file://{tmp_path}/{f}.log?format={f}" for f in formats},
        routes="__root__=INFO:gelf,json,console",
        redact=redact,
        env=False,
    )
    logmagic.local("app").info("m", {"odd": _NoClass(), "orderId": 7})
    gelf, plain = (json.loads((tmp_path / f"{f}.log").read_text()) for f in ("gelf", "json"))
    assert gelf["_orderId"] == plain["orderId"] == 7
    assert gelf["_odd"].startswith("<unreadable value") and plain["odd"].startswith("<unreadable value")
    assert "orderId=7" in (tmp_path / "console.log").read_text()
