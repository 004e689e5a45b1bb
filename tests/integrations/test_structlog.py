"""logmagic.integrations.structlog with real structlog: native filtering loggers and the stdlib integration."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from freezegun import freeze_time

import logmagic
from logmagic.integrations.structlog import DEFAULT_FACILITY, GelfRenderer, ToLogmagic, add_txn_id, to_logmagic
from logmagic.testing import SINK_NAME, capture
from tests.conftest import FROZEN, FROZEN_TS, Collect


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


@pytest.fixture
def printed() -> io.StringIO:
    """Where structlog's own PrintLogger writes: must stay empty when events go to logmagic."""
    return io.StringIO()


def native(printed: io.StringIO, *processors: Any, level: int = logging.DEBUG) -> Any:
    """A structlog logger made by ``make_filtering_bound_logger(level)`` with ``processors``."""
    structlog.configure(
        processors=list(processors),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=printed),
        cache_logger_on_first_use=False,
    )
    return structlog.get_logger()


def stdlib_logger(name: str, *processors: Any) -> Any:
    """A ``structlog.stdlib.BoundLogger`` over ``logging.getLogger(name)``."""
    structlog.configure(
        processors=list(processors),
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    return structlog.get_logger(name)


# -- to_logmagic with make_filtering_bound_logger ---------------------------------------------


@pytest.mark.parametrize(
    ("method", "level"),
    [
        ("debug", logmagic.DEBUG),
        ("info", logmagic.INFO),
        ("warning", logmagic.WARNING),
        ("error", logmagic.ERR),
        ("critical", logmagic.CRIT),
    ],
)
def test_native_levels_come_from_the_method(printed: io.StringIO, method: str, level: int) -> None:
    log = native(printed, to_logmagic)
    with capture() as records:
        getattr(log, method)("event at %s", method, n=1)
    assert [(r["facility"], r["level"], r["msg"], r["fields"]) for r in records] == [
        (DEFAULT_FACILITY, level, f"event at {method}", {"n": 1})
    ]
    assert printed.getvalue() == ""


def test_native_log_method_takes_a_stdlib_level(printed: io.StringIO) -> None:
    log = native(printed, to_logmagic)
    with capture() as records:
        log.log(logging.WARNING, "via log()")
    assert [(r["level"], r["msg"]) for r in records] == [(logmagic.WARNING, "via log()")]


def test_native_filtering_happens_before_logmagic(printed: io.StringIO) -> None:
    log = native(printed, to_logmagic, level=logging.INFO)
    with capture() as records:
        log.debug("filtered by structlog")
        log.info("kept")
    assert [r["msg"] for r in records] == ["kept"]


def test_native_exception_has_the_traceback(printed: io.StringIO) -> None:
    log = native(printed, to_logmagic)
    with capture() as records:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            log.exception("division failed", divisor=0)
    (rec,) = records
    assert (rec["level"], rec["msg"], rec["fields"]) == (logmagic.ERR, "division failed", {"divisor": 0})
    assert rec["full_message"].startswith("Traceback (most recent call last):")
    assert rec["full_message"].rstrip().endswith("ZeroDivisionError: division by zero")


def test_bound_and_context_fields_and_the_txn_id(printed: io.StringIO) -> None:
    log = native(printed, structlog.contextvars.merge_contextvars, to_logmagic).bind(user="ann")
    structlog.contextvars.bind_contextvars(job="nightly")
    with capture() as records, logmagic.transaction() as txn_id:
        log.info("started", step=1)
    assert [(r["fields"], r["txnId"]) for r in records] == [({"job": "nightly", "user": "ann", "step": 1}, txn_id)]


def test_the_default_facility_is_configurable(printed: io.StringIO) -> None:
    log = native(printed, ToLogmagic(facility="myapp.jobs"))
    with capture() as records:
        log.info("run")
    assert [r["facility"] for r in records] == ["myapp.jobs"]


def test_events_go_through_rewriters_redaction_and_routes(printed: io.StringIO) -> None:
    def tag(facility: str, level: int, msg: str, fields: dict[str, Any]) -> None:
        fields["tagged"] = True

    log = native(printed, to_logmagic)
    with capture() as records:
        logmagic.add_rewriter(tag)
        logmagic.route(DEFAULT_FACILITY, logmagic.WARNING, SINK_NAME)
        log.info("below the route")
        log.warning("login", password="hunter2")
    assert [(r["msg"], r["fields"]) for r in records] == [("login", {"password": "[REDACTED]", "tagged": True})]


# -- to_logmagic with structlog's stdlib integration ------------------------------------------


@pytest.fixture
def stdlib_target() -> Iterator[Collect]:
    """``myapp.db`` in ``logging``, with a handler that must never see an event."""
    target = logging.getLogger("myapp.db")
    collect = Collect()
    target.addHandler(collect)
    target.setLevel(logging.DEBUG)
    yield collect
    target.removeHandler(collect)
    target.setLevel(logging.NOTSET)


STDLIB_CHAIN = (structlog.stdlib.filter_by_level, structlog.stdlib.add_logger_name, to_logmagic)


def test_stdlib_bound_logger_facility_is_the_logger_name(stdlib_target: Collect) -> None:
    log = stdlib_logger("myapp.db", *STDLIB_CHAIN)
    with capture() as records:
        log.info("%s rows in %s", 3, "users", shard=2)
        log.warning("slow")
    assert [(r["facility"], r["level"], r["msg"], r["fields"]) for r in records] == [
        ("myapp.db", logmagic.INFO, "3 rows in users", {"shard": 2}),
        ("myapp.db", logmagic.WARNING, "slow", {}),
    ]
    assert stdlib_target.records == []


def test_stdlib_bound_logger_filters_by_the_logging_level(stdlib_target: Collect) -> None:
    logging.getLogger("myapp.db").setLevel(logging.WARNING)
    log = stdlib_logger("myapp.db", *STDLIB_CHAIN)
    with capture() as records:
        log.info("filtered by logging's level")
        log.error("kept")
    assert [(r["level"], r["msg"]) for r in records] == [(logmagic.ERR, "kept")]


def test_stdlib_bound_logger_exception(stdlib_target: Collect) -> None:
    log = stdlib_logger("myapp.db", *STDLIB_CHAIN)
    with capture() as records:
        try:
            raise LookupError("no row")
        except LookupError:
            log.exception("query failed")
    (rec,) = records
    assert (rec["facility"], rec["level"], rec["msg"]) == ("myapp.db", logmagic.ERR, "query failed")
    assert "LookupError: no row" in rec["full_message"]
    assert stdlib_target.records == []


def test_stdlib_bound_logger_without_a_logger_name_uses_the_default(stdlib_target: Collect) -> None:
    log = stdlib_logger("myapp.db", ToLogmagic(facility="fallback"))
    with capture() as records:
        log.info("no add_logger_name")
    assert [r["facility"] for r in records] == ["fallback"]


# -- the event dict, key by key ---------------------------------------------------------------


def run(event_dict: dict[str, Any], method: str = "info") -> list[dict[str, Any]]:
    """Call ``to_logmagic`` directly; it must always end with DropEvent."""
    with capture() as records, pytest.raises(structlog.DropEvent):
        to_logmagic(None, method, event_dict)
    return records


@pytest.mark.parametrize(
    ("method", "level"),
    [
        ("exception", logmagic.ERR),
        ("fatal", logmagic.CRIT),
        ("warn", logmagic.WARNING),
        ("msg", logmagic.INFO),
        ("notice", logmagic.NOTICE),
        ("alert", logmagic.ALERT),
        ("trace3", logmagic.TRACE3),
        ("frobnicate", logmagic.INFO),
    ],
)
def test_method_names(method: str, level: int) -> None:
    assert [r["level"] for r in run({"event": "x"}, method)] == [level]


def test_a_numeric_timestamp_is_the_record_time_and_a_text_one_a_field() -> None:
    numeric, text = run({"event": "a", "timestamp": 1234.5}) + run({"event": "b", "timestamp": "2024-01-01T00:00:00Z"})
    assert (numeric["timestamp"], numeric["fields"]) == (1234.5, {})
    assert text["fields"] == {"timestamp": "2024-01-01T00:00:00Z"}


def test_exc_info_as_an_exception_a_tuple_or_a_rendered_text() -> None:
    try:
        raise KeyError("k")
    except KeyError as exc:
        caught = exc
    as_exception = run({"event": "a", "exc_info": caught})[0]
    as_tuple = run({"event": "b", "exc_info": (KeyError, caught, caught.__traceback__)})[0]
    rendered = run({"event": "c", "exception": "Traceback (rendered by format_exc_info)"})[0]
    nothing = run({"event": "d", "exc_info": True})[0]  # outside an except block
    assert "KeyError: 'k'" in as_exception["full_message"]
    assert as_tuple["full_message"] == as_exception["full_message"]
    assert (rendered["full_message"], rendered["fields"]) == ("Traceback (rendered by format_exc_info)", {})
    assert (nothing["full_message"], nothing["fields"]) == (None, {})


def test_an_exc_info_that_cannot_be_formatted_still_gives_one_record() -> None:
    (rec,) = run({"event": "odd", "exc_info": (ValueError, "not an exception", None)})
    assert rec["msg"] == "odd"
    assert rec["full_message"].startswith("<traceback could not be formatted: AttributeError")
    assert rec["fields"] == {}


def test_positional_args_that_do_not_fit_still_give_one_record() -> None:
    (rec,) = run({"event": "%d rows", "positional_args": ("many",)})
    assert rec["msg"] == "%d rows"
    assert rec["fields"]["positional_args"] == ("many",)
    assert rec["fields"]["format_error"].startswith("TypeError: ")


def test_a_missing_or_odd_event_is_text() -> None:
    assert [r["msg"] for r in run({"n": 1}) + run({"event": {"nested": 1}})] == ["", "{'nested': 1}"]


def test_an_unreadable_event_dict_is_dropped_not_raised() -> None:
    class Unreadable(dict[str, Any]):
        def get(self, *args: Any) -> Any:
            raise RuntimeError("no get")

    assert run(Unreadable(event="x")) == []


def test_add_txn_id() -> None:
    assert add_txn_id(None, "info", {"event": "x"}) == {"event": "x"}
    with logmagic.transaction() as txn_id:
        assert add_txn_id(None, "info", {"event": "x"}) == {"event": "x", "txnId": txn_id}
        assert add_txn_id(None, "info", {"txnId": "upstream"}) == {"txnId": "upstream"}


# -- GelfRenderer: structlog's own output in logmagic's format --------------------------------


def test_gelf_renderer_writes_one_gelf_line_per_event(printed: io.StringIO) -> None:
    logmagic.configure(host="render-host")
    log = native(printed, add_txn_id, GelfRenderer())
    with freeze_time(FROZEN), logmagic.transaction() as txn_id:
        log.warning("disk %s", "low", free_mb=12, password="hunter2")
        try:
            raise OSError("full")
        except OSError:
            log.exception("write failed")
    first, second = (json.loads(line) for line in printed.getvalue().splitlines())
    assert first == {
        "version": "1.1",
        "host": "render-host",
        "short_message": "disk low",
        "timestamp": FROZEN_TS,
        "level": 4,
        "_facility": DEFAULT_FACILITY,
        "_free_mb": 12,
        "_password": "[REDACTED]",
        "_txnId": txn_id,
    }
    assert (second["level"], second["short_message"]) == (3, "write failed")
    assert second["full_message"].rstrip().endswith("OSError: full")


def test_gelf_renderer_into_stdlib_logging_uses_the_logger_name(stdlib_target: Collect) -> None:
    log = stdlib_logger("myapp.db", structlog.stdlib.add_logger_name, GelfRenderer())
    log.info("kept by logging", rows=3)
    (rec,) = stdlib_target.records
    line = json.loads(rec.getMessage())
    assert (line["_facility"], line["short_message"], line["level"], line["_rows"]) == (
        "myapp.db",
        "kept by logging",
        6,
        3,
    )


def test_gelf_renderer_takes_the_time_from_time_stamper(printed: io.StringIO) -> None:
    log = native(printed, structlog.processors.TimeStamper(fmt=None), GelfRenderer(facility="stamped"))
    with freeze_time(FROZEN):
        log.info("stamped")
    line = json.loads(printed.getvalue())
    assert (line["timestamp"], line["_facility"]) == (FROZEN_TS, "stamped")
    assert "_timestamp" not in line


def test_gelf_renderer_renders_an_unreadable_event_dict_as_a_valid_line() -> None:
    class Unreadable(dict[str, Any]):
        def get(self, *args: Any) -> Any:
            raise RuntimeError("no get")

    line = json.loads(GelfRenderer(facility="fallback")(None, "error", Unreadable(event="x")))
    assert (line["_facility"], line["short_message"], line["level"]) == ("fallback", "<unreadable event>", 3)
    assert line["_render_error"] == "RuntimeError: no get"
