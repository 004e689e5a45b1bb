"""The console encoder: one readable line per record, and nothing from the data drives the terminal."""

from __future__ import annotations

import datetime
import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import logmagic
from logmagic import redact
from logmagic.encode import ConsoleEncoder
from logmagic.record import Record
from logmagic.redact import MASK

from .hostile import (
    PROPERTY,
    FloatLike,
    Unprintable,
    hostile_fields,
    hostile_text,
    levels,
    timestamps,
)

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
TS = 1_795_328_883.46  # 2026-11-22T06:28:03.460Z
LEVEL_NAMES = ["EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG"]
LEVEL_NAMES += [f"TRACE{i}" for i in range(1, 9)]
TXN = ".rh-ab12.h-ord1.product.api0.r-abcdefgh.c-1.ts-1795328883460.v-1"
# What must never reach a terminal raw: C0 controls, DEL, C1 controls and bidi overrides.
CONTROLS = {*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
NASTY = "\x1b[31m\x1b]0;title\x07\r\x00\x08\x7f\x85\x9b2J\u202egnp.exe\u2066"
SGR = r"\x1b\[[0-9;]*m"


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


def render(rec: Record, color: bool = False) -> str:
    out = ConsoleEncoder(color=color).encode(rec)
    assert isinstance(out, bytes)
    assert out.endswith(b"\n")
    return out.decode("utf-8")  # strict: the terminal gets valid UTF-8


def stamp(ts: float) -> str:
    """UTC time of ``ts`` to the millisecond, as GELF's timestamp keeps it, with a Z."""
    when = EPOCH + datetime.timedelta(milliseconds=int(ts * 1000))
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def prefix(rec: Record) -> str:
    return f"{stamp(rec.timestamp)} {LEVEL_NAMES[rec.level]:<5} {rec.facility}  "


def field_text(line: str, key: str) -> str:
    """What follows ``key=`` on a one-field line."""
    _, sep, rest = line.rstrip("\n").partition(f"  {key}=")
    assert sep, line
    return rest


def raw_controls(text: str) -> list[str]:
    return [c for c in text if ord(c) in CONTROLS]


def assert_terminal_safe(text: str, has_block: bool) -> None:
    """Only the final newline and the traceback block's line breaks are raw control characters."""
    first, *block = text[:-1].split("\n")
    assert raw_controls(first) == [], first
    if not has_block:
        assert block == []
    for line in block:
        assert line.startswith("    "), line
        # A tab inside a traceback is layout, like its newlines.
        assert [c for c in raw_controls(line) if c != "\t"] == [], line


# --- the line ---------------------------------------------------------------------------------


def test_the_documented_line() -> None:
    line = render(record({"accountId": "ac42", "txnId": TXN}))

    assert line == f"2026-11-22T06:28:03.460Z INFO  myapp.api  Something is wrong  accountId=ac42 txnId={TXN}\n"


def test_a_record_without_fields_ends_after_the_message() -> None:
    assert render(record()) == "2026-11-22T06:28:03.460Z INFO  myapp.api  Something is wrong\n"


@pytest.mark.parametrize("level", range(16))
def test_the_level_name_is_padded_to_five_then_a_space(level: int) -> None:
    line = render(record(level=level))

    assert line == f"2026-11-22T06:28:03.460Z {LEVEL_NAMES[level]:<5} myapp.api  Something is wrong\n"


@given(ts=timestamps)
@PROPERTY
def test_time_is_utc_with_milliseconds_and_z(ts: float) -> None:
    rec = record(ts=ts)

    assert render(rec) == prefix(rec) + "Something is wrong\n"


def test_fields_follow_the_message_after_two_spaces_separated_by_one() -> None:
    line = render(record({"a": 1, "b": "two", "c": True}))

    assert line.endswith("  Something is wrong  a=1 b=two c=true\n")


@pytest.mark.parametrize("value", ["ac42", "ünïcödé", "a.b-c_d/e:f", TXN])
def test_plain_values_are_bare(value: str) -> None:
    assert field_text(render(record({"k": value})), "k") == value


@pytest.mark.parametrize(
    "value",
    ["two words", 'say "hi"', "a=b", "", "back\\slash", "tab\there", "line\nbreak", " lead", "trail "],
)
def test_values_with_spaces_quotes_or_equals_are_json_quoted(value: str) -> None:
    text = field_text(render(record({"k": value, "after": 1})).replace(" after=1", ""), "k")

    assert text.startswith('"')
    assert json.loads(text) == value


@pytest.mark.parametrize("value", [3, -7, 0.25, 2**63 - 1])
def test_numbers_are_written_as_numbers(value: float) -> None:
    assert json.loads(field_text(render(record({"n": value})), "n")) == value


def test_containers_are_written_as_json() -> None:
    value = {"user-agent": "x y", "codes": [200, 404]}

    assert json.loads(field_text(render(record({"req": value})), "req")) == value


def test_traceback_lines_are_indented_below_the_line() -> None:
    tb = 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    boom()\nValueError: bad\n'

    line, *block = render(record({"k": 1}, full_message=tb)).rstrip("\n").split("\n")

    assert line == "2026-11-22T06:28:03.460Z INFO  myapp.api  Something is wrong  k=1"
    originals = tb.rstrip("\n").split("\n")
    assert len(block) == len(originals)
    for shown, original in zip(block, originals, strict=True):
        indent = shown[: len(shown) - len(original)]
        assert shown.endswith(original)
        assert indent
        assert indent.isspace()
    assert len({len(s) - len(o) for s, o in zip(block, originals, strict=True)}) == 1


def test_secret_fields_are_masked() -> None:
    line = render(record(redact.stage({"password": "hunter2", "headers": {"Cookie": "sid=1"}})))

    assert "hunter2" not in line
    assert "sid=1" not in line
    assert field_text(line.split(" headers=")[0], "password") == MASK


# --- nothing from the data drives the terminal ------------------------------------------------


def test_control_characters_in_the_message_are_shown_not_sent() -> None:
    line = render(record(msg=f"before{NASTY}after"))

    assert_terminal_safe(line, has_block=False)
    assert line.startswith(prefix(record()) + "before")
    assert "[31m" in line
    assert "gnp.exe" in line
    assert line.endswith("after\n")


def test_control_characters_in_keys_values_and_facility_are_shown_not_sent() -> None:
    fields = {f"key{NASTY}": f"value{NASTY}", "plain": {"nested": f"n{NASTY}"}, "list": [NASTY]}

    line = render(record(fields, facility=f"fac{NASTY}"))

    assert_terminal_safe(line, has_block=False)
    assert "key" in line
    assert "value" in line
    assert "gnp.exe" in line


def test_newlines_in_data_do_not_start_a_new_line() -> None:
    line = render(record({"v": "x\ny", "k\nk": 1}, msg="one\ntwo\r\nthree"))

    assert line.count("\n") == 1
    assert "three" in line


def test_control_characters_in_a_traceback_are_shown_but_its_lines_stay() -> None:
    tb = f"Traceback:\n  frame {NASTY}\r\nError: {NASTY}end\n"

    line = render(record(full_message=tb))

    assert_terminal_safe(line, has_block=True)
    block = line.rstrip("\n").split("\n")[1:]
    assert len(block) == 3
    assert block[2].endswith("end")


@pytest.mark.parametrize("level", range(16))
def test_colors_surround_only_the_time_and_level(level: int) -> None:
    rec = record({f"k{NASTY}": f"v{NASTY}"}, msg=f"m{NASTY}", level=level, full_message=f"tb{NASTY}\nline 2\n")

    text = render(rec, color=True)

    match = re.match(rf"{SGR}(.+?){SGR} {SGR}(.+?){SGR} ", text)
    assert match, text
    assert match.group(1) == stamp(TS)
    assert match.group(2) == f"{LEVEL_NAMES[level]:<5}"
    rest = text[match.end() :]
    assert "\x1b" not in rest
    assert_terminal_safe(rest, has_block=True)
    assert re.sub(SGR, "", text) == render(rec, color=False)


# --- whatever the fields hold -----------------------------------------------------------------


def test_lone_surrogates_in_message_keys_and_values_keep_the_record() -> None:
    rec = record({"key\udc80": "va\udc80lue", "q": "two words\ud800", "n": {"x": "\udfff"}}, msg="msg\udc80end")

    line = render(rec)

    assert line.startswith(prefix(rec) + "msg")
    assert "end  key" in line
    assert " q=" in line
    assert " n=" in line
    assert_terminal_safe(line, has_block=False)


def test_odd_values_are_rendered_and_the_rest_survives() -> None:
    d: dict[str, Any] = {"name": "loop"}
    d["me"] = d
    items: list[Any] = [1]
    items.append(items)
    fields = {
        "cycle": d,
        "items": items,
        "bad": Unprintable(),
        "big": 2**200,
        "nan": math.nan,
        "ratio": FloatLike(0.5),
        "set": {1, 2},
        "raw": b"\x1b[2J",
        "err": ValueError(NASTY),
        1: "int key",
        None: "none key",
        (1, 2): "tuple key",
        Unprintable(): "odd key",
        "last": "here",
    }

    line = render(record(fields))

    assert line.startswith(prefix(record()) + "Something is wrong  cycle=")
    assert line.endswith(" last=here\n")
    assert "loop" in line
    assert str(2**200) in line
    assert '"int key"' in line
    assert '"odd key"' in line
    assert_terminal_safe(line, has_block=False)


@given(fields=hostile_fields, msg=hostile_text, level=levels, ts=timestamps, full=st.none() | hostile_text)
@PROPERTY
def test_any_record_gives_one_safe_line(
    fields: dict[Any, Any], msg: str, level: int, ts: float, full: str | None
) -> None:
    rec = record(fields, msg=msg, level=level, ts=ts, full_message=full)

    line = render(rec)

    assert line.startswith(prefix(rec))
    assert_terminal_safe(line, has_block=bool(full))
    if fields:
        assert line.split("\n")[0].count("=") >= len(fields)


@given(fields=hostile_fields, msg=hostile_text, level=levels, full=st.none() | hostile_text)
@PROPERTY
def test_with_color_any_record_gets_escapes_only_from_the_encoder(
    fields: dict[Any, Any], msg: str, level: int, full: str | None
) -> None:
    rec = record(fields, msg=msg, level=level, full_message=full)

    text = render(rec, color=True)

    assert text.count("\x1b") == 4
    assert re.sub(SGR, "", text) == render(rec)
