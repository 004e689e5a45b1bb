"""The JSON-lines encoder: one object per line, fields kept nested, whatever the fields hold."""

from __future__ import annotations

import datetime
import enum
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import logmagic
from logmagic import redact
from logmagic._identity import IDENTITY
from logmagic.encode import JsonEncoder
from logmagic.record import Record
from logmagic.redact import MASK

from .hostile import (
    PROPERTY,
    Color,
    FloatLike,
    Opaque,
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
TS = 1_795_328_883.46
HEAD = ["timestamp", "level", "level_name", "host", "facility", "message"]
RESERVED = [*HEAD, "full_message"]
LEVEL_NAMES = ["EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG"]
LEVEL_NAMES += [f"TRACE{i}" for i in range(1, 9)]


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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys: {sorted(k for k in set(keys) if keys.count(k) > 1)}"
    return dict(pairs)


def parse_line(out: bytes) -> dict[str, Any]:
    """Check that ``out`` is one strict JSON object on one line, within the line cap; return it."""
    assert isinstance(out, bytes)
    assert out.endswith(b"\n")
    assert out.count(b"\n") == 1
    assert len(out) <= MIB
    text = out.decode("utf-8")  # strict: lone surrogates would not survive this
    doc = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    assert isinstance(doc, dict)
    return doc


def encode(rec: Record) -> dict[str, Any]:
    return parse_line(JsonEncoder().encode(rec))


def capped(text: str) -> str:
    """``text`` as the 32 KiB string cap leaves it."""
    if len(text) <= STRING_CAP:
        return text
    return f"{text[:STRING_CAP]}…[truncated {len(text) - STRING_CAP} chars]"


def assert_json_shape(doc: dict[str, Any], rec: Record) -> None:
    """What every JSON line must hold, whatever the record's fields were."""
    assert list(doc)[:6] == HEAD
    assert doc["timestamp"] == int(rec.timestamp * 1000) / 1000
    assert doc["level"] == rec.level
    assert doc["level_name"] == LEVEL_NAMES[rec.level]
    assert doc["host"] == IDENTITY.host
    assert doc["facility"] == rec.facility
    assert isinstance(doc["message"], str)
    assert "_logmagic_error" not in doc, doc["_logmagic_error"]


# --- the record's own keys --------------------------------------------------------------------


def test_record_keys_come_first_then_the_fields() -> None:
    doc = encode(record({"accountId": "ac42", "count": 3}))

    assert list(doc) == [*HEAD, "accountId", "count"]
    assert doc["timestamp"] == 1_795_328_883.46
    assert doc["level"] == logmagic.INFO
    assert doc["level_name"] == "INFO"
    assert doc["host"] == IDENTITY.host
    assert doc["facility"] == "myapp.api"
    assert doc["message"] == "Something is wrong"
    assert doc["accountId"] == "ac42"
    assert doc["count"] == 3


def test_full_message_follows_the_message_only_when_present() -> None:
    tb = 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\nValueError: bad\n'

    doc = encode(record({"k": 1}, full_message=tb))

    assert list(doc) == [*HEAD, "full_message", "k"]
    assert doc["full_message"] == tb
    assert "full_message" not in encode(record({"k": 1}))


@pytest.mark.parametrize("level", range(16))
def test_every_level_is_kept_exactly_with_its_name(level: int) -> None:
    doc = encode(record(level=level))

    assert doc["level"] == level
    assert doc["level_name"] == LEVEL_NAMES[level]


@given(ts=timestamps)
@PROPERTY
def test_timestamp_is_float_seconds_with_millisecond_precision(ts: float) -> None:
    doc = encode(record(ts=ts))

    assert isinstance(doc["timestamp"], float)
    assert doc["timestamp"] == int(ts * 1000) / 1000


@pytest.mark.parametrize("name", RESERVED)
def test_a_field_colliding_with_a_record_key_is_prefixed(name: str) -> None:
    rec = record({name: "from the field"})

    doc = encode(rec)

    assert doc["_" + name] == "from the field"
    assert_json_shape(doc, rec)
    assert doc["message"] == "Something is wrong"
    assert "full_message" not in doc


def test_nested_fields_stay_nested() -> None:
    fields = {"headers": {"user-agent": "x", "accept": ["a", "b"]}, "n": [1, {"deep": None}]}

    doc = encode(record(fields))

    assert doc["headers"] == {"user-agent": "x", "accept": ["a", "b"]}
    assert doc["n"] == [1, {"deep": None}]


def test_json_scalars_keep_their_types() -> None:
    fields = {"s": "text", "i": -(2**63), "u": 2**64 - 1, "f": 0.25, "t": True, "none": None}

    doc = encode(record(fields))

    for key, value in fields.items():
        assert doc[key] == value
        assert type(doc[key]) is type(value)


def test_scalars_json_lacks_become_readable_strings() -> None:
    when = datetime.datetime(2026, 11, 22, 6, 28, 3, tzinfo=datetime.timezone.utc)
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    fields = {
        "when": when,
        "uid": uid,
        "amount": Decimal("12.50"),
        "raw": b"bytes\xff",
        "err": ValueError("boom"),
        "obj": Opaque(1),
        "bad": Unprintable(),
    }

    doc = encode(record(fields))

    for key in fields:
        assert isinstance(doc[key], str), key
    assert doc["when"].startswith("2026-11-22T06:28:03")
    assert doc["uid"] == str(uid)
    assert Decimal(doc["amount"]) == Decimal("12.50")
    assert doc["raw"].startswith("bytes")
    assert "ValueError" in doc["err"]
    assert "boom" in doc["err"]


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**40, 2**200])
def test_ints_beyond_64_bits_keep_all_their_digits(value: int) -> None:
    doc = encode(record({"big": value, "nested": {"big": [value]}, "small": 5}))

    assert str(doc["big"]) == str(value)
    assert str(doc["nested"]["big"][0]) == str(value)
    assert doc["small"] == 5


def test_non_finite_floats_give_valid_json() -> None:
    doc = encode(record({"nan": math.nan, "inf": math.inf, "list": [-math.inf, 1.5]}))

    assert doc["list"][1] == 1.5
    assert set(doc) >= {"nan", "inf", "list"}


def test_a_float_subclass_is_written_as_a_number() -> None:
    doc = encode(record({"ratio": FloatLike(0.5), "other": "kept"}))

    assert doc["ratio"] == 0.5
    assert doc["other"] == "kept"


def test_a_float_subclass_next_to_a_lone_surrogate_keeps_the_record() -> None:
    rec = record({"ratio": FloatLike(0.5), "text": "a\udc80b"})

    doc = encode(rec)

    assert_json_shape(doc, rec)
    assert doc["ratio"] == 0.5
    assert doc["text"].startswith("a")
    assert doc["text"].endswith("b")


def test_cycles_are_cut_and_the_rest_survives() -> None:
    d: dict[str, Any] = {"name": "loop"}
    d["me"] = d
    items: list[Any] = [1, "two"]
    items.append(items)

    rec = record({"d": d, "items": items, "after": True})
    doc = encode(rec)

    assert_json_shape(doc, rec)
    assert doc["d"]["name"] == "loop"
    assert isinstance(doc["d"]["me"], str)
    assert doc["items"][:2] == [1, "two"]
    assert isinstance(doc["items"][2], str)
    assert doc["after"] is True


@pytest.mark.parametrize("key", [1, None, True, 2.5, (1, "two"), Unprintable(), Opaque(3), b"raw", Color.RED])
def test_non_string_keys_become_string_keys(key: object) -> None:
    rec = record({key: "the value", "other": 1})

    doc = encode(rec)

    assert_json_shape(doc, rec)
    assert sum(v == "the value" for v in doc.values()) == 1
    assert doc["other"] == 1


def test_a_key_that_reads_as_a_record_key_cannot_replace_it() -> None:
    class Sneaky(enum.Enum):
        LEVEL = "level"
        MESSAGE = "message"

    rec = record({Sneaky.LEVEL: 0, Sneaky.MESSAGE: "forged"})

    doc = encode(rec)

    assert_json_shape(doc, rec)
    assert doc["message"] == "Something is wrong"
    assert "forged" in json.dumps(doc)


def test_an_int_key_and_its_text_do_not_give_duplicate_keys() -> None:
    rec = record({1: "int", "1": "str", None: "none", "null": "text"})

    doc = encode(rec)  # parse_line rejects duplicate keys

    assert_json_shape(doc, rec)
    assert doc["1"] in ("int", "str")


def test_a_value_that_defeats_isinstance_still_gives_a_json_line_with_the_message() -> None:
    class Shifty:
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            raise RuntimeError("no class")

    ts = 1_700_000_000.123456

    doc = encode(record({"x": Shifty()}, msg="still here", ts=ts, level=logmagic.DEBUG))

    assert list(doc)[:6] == HEAD
    assert doc["message"] == "still here"
    assert doc["timestamp"] == int(ts * 1000) / 1000
    assert doc["facility"] == "myapp.api"
    assert doc["host"] == IDENTITY.host
    assert doc["level_name"] == LEVEL_NAMES[doc["level"]]


def test_secret_fields_are_masked_at_any_depth() -> None:
    doc = encode(
        record(redact.stage({"password": "hunter2", "headers": {"Authorization": "Bearer x", "accept": "*/*"}}))
    )

    assert doc["password"] == MASK
    assert doc["headers"] == {"Authorization": MASK, "accept": "*/*"}


# --- text -------------------------------------------------------------------------------------


def test_newlines_and_escape_sequences_stay_inside_one_line() -> None:
    msg = "first\nsecond\r\nthird\x1b[31mred\x07\x00end\u2028"

    out = JsonEncoder().encode(record({"k\nk": "v\r\nv"}, msg=msg, full_message="tb 1\ntb 2\n"))

    doc = parse_line(out)
    assert doc["message"] == msg
    assert doc["full_message"] == "tb 1\ntb 2\n"
    assert doc["k\nk"] == "v\r\nv"
    assert not any(b < 0x20 for b in out[:-1])


def test_lone_surrogates_in_message_keys_and_values_keep_the_text_around_them() -> None:
    rec = record({"key\udc80": "left\udc80right", "n": {"\ud800": "x"}}, msg="before\udfffafter")

    doc = encode(rec)

    assert_json_shape(doc, rec)
    assert doc["message"].startswith("before")
    assert doc["message"].endswith("after")
    (key,) = (k for k in doc if k.startswith("key"))
    assert doc[key].startswith("left")
    assert doc[key].endswith("right")
    assert list(doc["n"].values()) == ["x"]


def test_a_100_kb_message_is_capped_with_a_marker() -> None:
    msg = "m" * 100_000

    doc = encode(record(msg=msg))

    assert doc["message"] == capped(msg)
    assert doc["message"].endswith(f"…[truncated {100_000 - STRING_CAP} chars]")


def test_long_values_and_full_message_are_capped_with_a_marker() -> None:
    value = "v" * (STRING_CAP + 5)
    tb = "t" * (STRING_CAP * 2)

    doc = encode(record({"long": value, "nested": {"long": [value]}, "exact": "e" * STRING_CAP}, full_message=tb))

    assert doc["long"] == capped(value)
    assert doc["nested"]["long"] == [capped(value)]
    assert doc["exact"] == "e" * STRING_CAP
    assert doc["full_message"] == capped(tb)


def test_900_fields_of_2_kb_fit_in_one_mebibyte_and_are_marked() -> None:
    fields = {f"field{i}": f"{i}:" + "x" * (2 * KIB) for i in range(900)}  # under the field cap
    rec = record(fields)

    doc = encode(rec)

    assert doc["_truncated"] is True
    assert_json_shape(doc, rec)
    assert doc["message"] == "Something is wrong"
    kept = [key for key in fields if key in doc]
    assert kept
    for key in kept:
        assert fields[key].startswith(doc[key].split("…")[0])


def test_a_huge_field_name_is_cut_to_one_mebibyte_and_marked() -> None:
    rec = record({"k" * (2 * MIB): 1, "small": "kept"})

    doc = encode(rec)

    assert doc["_truncated"] is True
    assert_json_shape(doc, rec)


# --- whatever the fields hold -----------------------------------------------------------------


@given(fields=hostile_fields, msg=hostile_text, level=levels, ts=timestamps, full=st.none() | hostile_text)
@PROPERTY
def test_any_record_gives_exactly_one_valid_json_line(
    fields: dict[Any, Any], msg: str, level: int, ts: float, full: str | None
) -> None:
    rec = record(fields, msg=msg, level=level, ts=ts, full_message=full)

    doc = encode(rec)

    assert_json_shape(doc, rec)
    assert ("full_message" in doc) == (full is not None)
    if msg.isascii():
        assert doc["message"] == msg
    for key in fields:
        if type(key) is str and key.isascii():
            assert ("_" + key if key in RESERVED else key) in doc, key


@given(value=hostile_values)
@PROPERTY
def test_any_value_under_a_record_key_name_leaves_the_record_keys_alone(value: Any) -> None:
    rec = record(dict.fromkeys(RESERVED, value), level=logmagic.TRACE8)

    doc = encode(rec)

    assert_json_shape(doc, rec)
    assert doc["message"] == "Something is wrong"
    assert set(doc) >= {"_" + name for name in RESERVED}


@pytest.mark.parametrize("ts", [float("inf"), float("nan")])
def test_a_record_with_an_unusable_time_keeps_its_message_and_facility(ts: float) -> None:
    line = JsonEncoder().encode(Record("billing", logmagic.INFO, "charged", {"amount": 5}, ts))
    d = json.loads(line)
    assert (d["message"], d["facility"], d["timestamp"]) == ("charged", "billing", 0.0)
    assert "_logmagic_error" in d
