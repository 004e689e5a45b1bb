"""LocalLogger.forward: the entry point the bridges use for records made elsewhere."""

from __future__ import annotations

import time
from typing import Any

import pytest

import logmagic
from logmagic._report import REPORTER
from logmagic.integrations._bridge import logger_for
from tests.conftest import ListSink


def test_forward_keeps_the_given_time_and_full_message(sink: ListSink) -> None:
    logmagic.local("legacy").forward(logmagic.WARNING, "declined", {"code": 51}, timestamp=1234.5, full_message="tb")
    (rec,) = sink.records
    assert (rec.facility, rec.level, rec.msg, rec.fields, rec.timestamp, rec.full_message) == (
        "legacy",
        logmagic.WARNING,
        "declined",
        {"code": 51},
        1234.5,
        "tb",
    )


@pytest.mark.parametrize("odd", [float("nan"), float("inf"), 1e300, -1.0, "1234.5", True])
def test_forward_with_an_invalid_timestamp_takes_the_time_now_and_says_so(sink: ListSink, odd: Any) -> None:
    before = time.time()
    logmagic.local("legacy").forward(logmagic.INFO, "kept", {"code": 7}, timestamp=odd)
    (rec,) = sink.records
    assert before <= rec.timestamp <= time.time()
    assert rec.msg == "kept" and rec.fields["code"] == 7
    assert rec.fields["logmagic_error"].startswith("invalid timestamp ")


class _Seconds(float):
    """A float subclass, as numpy's float64 is."""


def test_forward_takes_a_float_subclass_as_a_timestamp(sink: ListSink) -> None:
    logmagic.local("legacy").forward(logmagic.INFO, "stamped", timestamp=_Seconds(1700000000.5))
    (rec,) = sink.records
    assert rec.timestamp == 1700000000.5 and "logmagic_error" not in rec.fields


def test_forward_takes_the_time_now_by_default(sink: ListSink) -> None:
    before = time.time()
    logmagic.local("legacy").forward(logmagic.INFO, "now")
    assert before <= sink.records[0].timestamp <= time.time()


def test_forward_goes_the_way_of_the_level_methods(sink: ListSink) -> None:
    def tag(facility: str, level: int, msg: str, fields: dict[str, Any]) -> None:
        fields["tagged"] = level

    logmagic.add_rewriter(tag)
    logmagic.route("legacy", logmagic.WARNING, "list")
    given = {"k": 1}
    log = logmagic.local("legacy").bind(service="billing")
    with logmagic.transaction() as txn_id:
        log.forward(logmagic.INFO, "below the route", given)
        log.forward(logmagic.ERR, "kept", given)
    assert [(r.msg, r.fields) for r in sink.records] == [
        ("kept", {"service": "billing", "k": 1, "tagged": logmagic.ERR, "txnId": txn_id})
    ]
    assert given == {"k": 1}


def test_forward_turns_a_message_object_into_text(sink: ListSink) -> None:
    logmagic.local("legacy").forward(logmagic.INFO, 42)
    assert [r.msg for r in sink.records] == ["42"]


@pytest.mark.parametrize("level", [-1, 16, "INFO", 6.0, True])
def test_an_invalid_level_is_reported_not_raised(sink: ListSink, capfd: pytest.CaptureFixture[str], level: Any) -> None:
    logmagic.local("legacy").forward(level, "lost")
    REPORTER.report_now()
    assert "invalid log level" in capfd.readouterr().err
    logmagic.local("legacy").log("LOUD", "lost too")
    assert sink.records == []
    assert logmagic.stats()["logmagic"] == {"dropped": 2}
    logmagic.reset()
    assert "logmagic" not in logmagic.stats()


def test_the_bridges_make_one_logger_per_facility() -> None:
    assert logger_for("bridged.app") is logger_for("bridged.app")
    assert logger_for("bridged.app").facility == "bridged.app"
