"""Bounded work per record: huge ints and huge mappings keep the record, in every format."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import logmagic
from logmagic import redact
from logmagic._safe import MAX_FIELDS, MAX_ITEMS, int_text
from logmagic.encode import ConsoleEncoder, GelfEncoder, JsonEncoder
from logmagic.record import Record

TXN = ".rh-3dT5.h-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-1"
HUGE = 10**5000  # over the 4,300 digits str() writes


def record(fields: dict[Any, Any], level: int = logmagic.INFO) -> Record:
    return Record("myapp.api", level, "Something is wrong", fields, 1_795_328_883.46, None)


def gelf(rec: Record) -> dict[str, Any]:
    line = GelfEncoder().encode(rec)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    return json.loads(line)  # type: ignore[no-any-return]


def jsonl(rec: Record) -> dict[str, Any]:
    line = JsonEncoder().encode(rec)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    return json.loads(line)  # type: ignore[no-any-return]


def console(rec: Record) -> str:
    return ConsoleEncoder().encode(rec).decode("utf-8")


@pytest.fixture(params=["redaction-on", "redaction-off"])
def redaction(request: pytest.FixtureRequest) -> None:
    if request.param == "redaction-off":
        logmagic.configure(redact=False)


# --- ints beyond 4,300 digits -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2**70, "1180591620717411303424"),
        (10**4299, "1" + "0" * 4299),
        (10**4300, "1" + "0" * 39 + "…[4301 digits]"),
        (-(10**5000) + 1, "-" + "9" * 40 + "…[5000 digits]"),
        (-(7**60000), "<negative int of about 50706 digits>"),
    ],
    ids=["65-bits", "4300-digits", "4301-digits", "negative-5000-digits", "beyond-the-exact-count"],
)
def test_int_text_writes_digits_or_a_prefix_and_the_count(value: int, text: str) -> None:
    assert int_text(value) == text


def test_int_text_copes_with_a_lowered_interpreter_limit() -> None:
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert int_text(10**700) == "1" + "0" * 39 + "…[701 digits]"
    finally:
        sys.set_int_max_str_digits(old)


def test_a_huge_int_keeps_the_gelf_record_and_its_other_fields() -> None:
    doc = gelf(record({"big": HUGE, "nested": {"big": -HUGE}, "items": [HUGE], "accountId": "ac42", "txnId": TXN}))

    assert doc["level"] == logmagic.INFO and "_logmagic_error" not in doc
    assert doc["_big"] == "1" + "0" * 39 + "…[5001 digits]"
    assert doc["_nested_big"] == "-1" + "0" * 39 + "…[5001 digits]"
    assert "5001 digits" in doc["_items"]
    assert doc["_accountId"] == "ac42" and doc["_txnId"] == TXN


def test_a_huge_int_keeps_the_json_record_and_its_other_fields() -> None:
    doc = jsonl(record({"big": HUGE, "nested": {"big": HUGE}, "accountId": "ac42", "txnId": TXN}))

    assert doc["level"] == logmagic.INFO and "_logmagic_error" not in doc
    assert doc["big"] == doc["nested"]["big"] == "1" + "0" * 39 + "…[5001 digits]"
    assert doc["accountId"] == "ac42" and doc["txnId"] == TXN


def test_a_huge_int_keeps_the_console_record_and_its_other_fields() -> None:
    line = console(record({"big": HUGE, "accountId": "ac42", "txnId": TXN}))

    assert 'big="1' + "0" * 39 + '…[5001 digits]"' in line
    assert "unreadable" not in line and "accountId=ac42" in line and f"txnId={TXN}" in line


def test_a_huge_int_on_the_loggers_direct_gelf_path_keeps_the_record(tmp_path: Path) -> None:
    logmagic.register_sink("main", f"file://{tmp_path / 'a.log'}")
    logmagic.route("__root__", logmagic.DEBUG, "main")
    log = logmagic.local("svc.api")
    with logmagic.transaction(TXN):
        log.info("plain", status=200)  # names cached: the next call starts on the fast path
        log.info("big", status=200, big=HUGE, wide=2**70)
    _first, line = (json.loads(x) for x in (tmp_path / "a.log").read_text().splitlines())
    assert line["level"] == logmagic.INFO and line["short_message"] == "big"
    assert line["_big"] == "1" + "0" * 39 + "…[5001 digits]" and line["_wide"] == str(2**70)
    assert line["_status"] == 200 and line["_txnId"] == TXN


def test_a_huge_int_as_the_message_is_written_as_its_prefix_and_count() -> None:
    doc = gelf(Record("f", 6, logmagic._safe.safe_str(HUGE), {}, 1.0, None))
    assert doc["short_message"] == "1" + "0" * 39 + "…[5001 digits]"


# --- a million keys ---------------------------------------------------------------------------

MILLION = {f"key{i}": i for i in range(1_000_000)}


@pytest.mark.usefixtures("redaction")
def test_gelf_flattens_at_most_max_fields_and_counts_the_rest() -> None:
    doc = gelf(record({"accountId": "ac42", "body": MILLION, "txnId": TXN}))

    written = len([k for k in doc if k.startswith("_body_")])
    assert written == MAX_FIELDS - 2  # accountId and body itself count too
    assert doc["_dropped_fields"] == 1_000_000 - written
    assert doc["_accountId"] == "ac42" and doc["_txnId"] == TXN, "the txnId is kept past the cap"


@pytest.mark.usefixtures("redaction")
def test_gelf_caps_top_level_fields_too_and_keeps_the_txn_id() -> None:
    doc = gelf(record({**MILLION, "txnId": TXN}))

    assert len([k for k in doc if k.startswith("_key")]) == MAX_FIELDS
    assert doc["_dropped_fields"] == 1_000_000 - MAX_FIELDS
    assert doc["_txnId"] == TXN


@pytest.mark.usefixtures("redaction")
def test_json_cuts_a_huge_nested_mapping_with_a_marker_and_the_count() -> None:
    doc = jsonl(record({"accountId": "ac42", "body": MILLION, "txnId": TXN}))

    body = doc["body"]
    assert len(body) <= MAX_ITEMS + 1
    kept = len(body) - 1
    assert body["…"] == f"[{1_000_000 - kept} more keys]"
    assert doc["accountId"] == "ac42" and doc["txnId"] == TXN


@pytest.mark.usefixtures("redaction")
def test_json_caps_top_level_fields_and_keeps_the_txn_id() -> None:
    doc = jsonl(record({**MILLION, "txnId": TXN}))

    assert len([k for k in doc if k.startswith("key")]) == MAX_FIELDS
    assert doc["_dropped_fields"] == 1_000_000 - MAX_FIELDS
    assert doc["txnId"] == TXN


@pytest.mark.usefixtures("redaction")
def test_console_caps_top_level_fields_and_keeps_the_txn_id() -> None:
    line = console(record({**MILLION, "txnId": TXN}))

    assert line.count(" key") == MAX_FIELDS
    assert f"…[{1_000_000 - MAX_FIELDS} more fields]" in line and f"txnId={TXN}" in line


@pytest.mark.usefixtures("redaction")
def test_console_cuts_a_huge_nested_mapping_with_a_marker_and_the_count() -> None:
    line = console(record({"body": MILLION}))

    assert "more keys]" in line
    shown = line.split('"…":"[')[1].split(" more keys]")[0]
    assert int(shown) + line.count('"key') == 1_000_000


def test_the_redactor_cuts_a_huge_mapping_and_says_how_much_it_left_out() -> None:
    red = redact.Redactor()
    out = red.fields({"body": MILLION, "txnId": TXN})

    body = out["body"]
    assert len(body) == MAX_ITEMS and body["…"] == f"[{1_000_000 - (MAX_ITEMS - 1)} more keys]"
    assert out["txnId"] == TXN


def test_the_redactor_keeps_the_txn_id_of_a_record_it_cuts() -> None:
    out = redact.Redactor().fields({**MILLION, "txnId": TXN})

    assert out["txnId"] == TXN
    assert out["…"] == f"[{1_000_000 - MAX_ITEMS} more keys]"


def test_the_redactors_budget_is_per_record_not_per_container() -> None:
    nested = {f"list{i}": list(range(MAX_ITEMS)) for i in range(100)}  # a million items in all
    out = redact.Redactor().value(nested)

    total = sum(len(v) for v in out.values() if isinstance(v, list))
    assert total <= MAX_ITEMS + len(out)
    assert "…" in out  # the lists never reached are counted too
    assert out["…"].startswith("[") and out["…"].endswith("more keys]")


def test_a_cut_list_says_how_many_items_it_left_out_after_the_redactor_and_the_encoder() -> None:
    doc = jsonl(record({"items": list(range(1_000_000))}))

    assert doc["items"][-1] == f"…[{1_000_000 - (len(doc['items']) - 1)} more items]"


def test_many_empty_mappings_cost_a_bounded_walk_in_gelf() -> None:
    doc = gelf(record({f"e{i}": {} for i in range(100_000)}))

    assert doc["_dropped_fields"] == 100_000 - MAX_FIELDS
