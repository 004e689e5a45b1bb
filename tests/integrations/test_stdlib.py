"""logmagic.integrations.stdlib: ``logging`` records into logmagic, logmagic records into ``logging``."""

from __future__ import annotations

import logging
import logging.config
import logging.handlers
import queue
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from freezegun import freeze_time

import logmagic
from logmagic.integrations import stdlib
from logmagic.sinks import StdlibSink
from logmagic.sinks.stdlib import mark_reported
from tests.conftest import FROZEN, FROZEN_TS, Collect, ListSink


@pytest.fixture(autouse=True)
def _restore_root_level() -> Iterator[None]:
    """Each test leaves the root logger's level as it found it (and removes what it added)."""
    root = logging.getLogger()
    level = root.level
    yield
    stdlib.uncapture()
    root.setLevel(level)


def handlers_of_type(logger: logging.Logger) -> list[stdlib.Handler]:
    return [h for h in logger.handlers if isinstance(h, stdlib.Handler)]


# -- capture(): records, levels, messages -----------------------------------------------------


@pytest.mark.parametrize(
    ("levelno", "expected"),
    [
        (logging.CRITICAL, logmagic.CRIT),
        (logging.ERROR, logmagic.ERR),
        (logging.WARNING, logmagic.WARNING),
        (logging.INFO, logmagic.INFO),
        (logging.DEBUG, logmagic.DEBUG),
        (55, logmagic.CRIT),
        (45, logmagic.ERR),
        (35, logmagic.WARNING),
        (25, logmagic.INFO),
        (15, logmagic.DEBUG),
        (5, logmagic.TRACE1),
        (1, logmagic.TRACE1),
    ],
)
def test_levels_map_to_the_nearest_standard_level_below(sink: ListSink, levelno: int, expected: int) -> None:
    stdlib.capture(1)
    logging.getLogger("app.levels").log(levelno, "at %d", levelno)
    assert [(r.facility, r.level, r.msg) for r in sink.records] == [("app.levels", expected, f"at {levelno}")]


def test_a_record_keeps_facility_message_extra_fields_and_time(sink: ListSink) -> None:
    stdlib.capture()
    logging.getLogger("app.db").warning("%s rows in %.1f s", 3, 0.25, extra={"table": "users", "shard": 2})
    (rec,) = sink.records
    assert rec.facility == "app.db"
    assert rec.level == logmagic.WARNING
    assert rec.msg == "3 rows in 0.2 s"
    assert rec.fields == {"table": "users", "shard": 2}
    assert rec.full_message is None


def test_uvicorns_color_message_is_left_out(sink: ListSink) -> None:
    stdlib.capture()
    colored = "Started server process [\x1b[36m%d\x1b[0m]"
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42, extra={"color_message": colored})
    assert [(r.msg, r.fields) for r in sink.records] == [("Started server process [42]", {})]


def test_gunicorns_access_record_gets_the_txn_id_the_middleware_put_in_the_environ(sink: ListSink) -> None:
    stdlib.capture()
    txn_id = logmagic.new_txn_id()
    atoms = {"r": "GET / HTTP/1.1", "s": "200", "{logmagic.txn_id}e": txn_id, "{x-forwarded-for}i": "-"}
    logging.getLogger("gunicorn.access").info('"%(r)s" %(s)s', atoms)
    assert [(r.msg, r.fields) for r in sink.records] == [('"GET / HTTP/1.1" 200', {"txnId": txn_id})]


def test_runserver_access_line_drops_its_socket_and_server_time(sink: ListSink) -> None:
    stdlib.capture()
    assert "django.server" in stdlib.SERVER_LOGGERS
    extra = {"request": object(), "server_time": "06/Dec/2026 22:00:00", "status_code": 200}
    logging.getLogger("django.server").info('"%s" %s %s', "GET / HTTP/1.1", "200", "12", extra=extra)
    assert [(r.msg, r.fields) for r in sink.records] == [('"GET / HTTP/1.1" 200 12', {"status_code": 200})]


def test_an_exception_a_logmagic_record_reported_is_not_written_again(sink: ListSink) -> None:
    stdlib.capture()
    for reported in (True, False):
        try:
            raise RuntimeError(f"reported={reported}")
        except RuntimeError as exc:
            if reported:
                mark_reported(exc)
            logging.getLogger("django.request").error("Internal Server Error: /", exc_info=True)
    assert [r.full_message.splitlines()[-1] for r in sink.records if r.full_message] == ["RuntimeError: reported=False"]


def test_the_record_time_is_the_log_record_time(sink: ListSink) -> None:
    handler = stdlib.Handler()
    handler.handle(logging.makeLogRecord({"name": "app", "levelno": logging.INFO, "msg": "old", "created": 1234.5}))
    assert [(r.msg, r.timestamp) for r in sink.records] == [("old", 1234.5)]


def test_a_mapping_argument_is_interpolated_by_name(sink: ListSink) -> None:
    stdlib.capture()
    logging.getLogger("app").info("user %(user)s from %(ip)s", {"user": "ann", "ip": "10.0.0.1"})
    assert [r.msg for r in sink.records] == ["user ann from 10.0.0.1"]


def make_record(msg: object, *args: object) -> logging.LogRecord:
    """A record as ``logging.getLogger("app").info(msg, *args)`` makes it.

    Tests with records that cannot be formatted hand them to the handler directly: pytest's
    own capture handler on the root logger turns a formatting error into a test failure.
    """
    return logging.getLogger("app").makeRecord("app", logging.INFO, __file__, 1, msg, args, None)


def test_a_broken_format_string_still_gives_one_record(sink: ListSink) -> None:
    stdlib.Handler().handle(make_record("%d items and %s", "not a number"))
    (rec,) = sink.records
    assert rec.msg == "%d items and %s"
    assert rec.fields["args"] == ("not a number",)
    assert rec.fields["format_error"].startswith("TypeError: ")


def test_a_message_that_cannot_be_printed_still_gives_one_record(sink: ListSink) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no str")

        def __repr__(self) -> str:
            return "<Hostile>"

    stdlib.Handler().handle(make_record(Hostile()))
    assert [(r.msg, r.level) for r in sink.records] == [("<Hostile>", logmagic.INFO)]
    assert sink.records[0].fields["format_error"] == "RuntimeError: no str"


def test_exc_info_becomes_full_message(sink: ListSink) -> None:
    stdlib.capture()
    try:
        {}["card"]
    except KeyError:
        logging.getLogger("app").exception("charge failed")
    (rec,) = sink.records
    assert rec.level == logmagic.ERR
    assert rec.msg == "charge failed"
    assert rec.full_message is not None
    assert rec.full_message.startswith("Traceback (most recent call last):")
    assert rec.full_message.rstrip().endswith("KeyError: 'card'")


def test_an_exception_object_outside_an_except_block_gives_its_traceback(sink: ListSink) -> None:
    def fail() -> None:
        raise ValueError("stored for later")

    try:
        fail()
    except ValueError as exc:
        stored = exc
    stdlib.capture()
    logging.getLogger("app").warning("later", exc_info=stored)
    (rec,) = sink.records
    assert rec.full_message is not None
    assert "in fail" in rec.full_message
    assert "ValueError: stored for later" in rec.full_message


def test_stack_info_goes_to_full_message(sink: ListSink) -> None:
    stdlib.capture()
    logging.getLogger("app").info("where", stack_info=True)
    (rec,) = sink.records
    assert rec.full_message is not None
    assert rec.full_message.startswith("Stack (most recent call last):")
    assert "test_stack_info_goes_to_full_message" in rec.full_message


def test_the_current_txn_id_is_stamped(sink: ListSink) -> None:
    stdlib.capture()
    log = logging.getLogger("app")
    log.info("outside")
    with logmagic.transaction() as txn_id:
        log.info("inside")
    assert [(r.msg, r.fields.get("txnId")) for r in sink.records] == [("outside", None), ("inside", txn_id)]


def test_records_go_through_rewriters_redaction_and_routes(sink: ListSink) -> None:
    def tag(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
        fields["tagged"] = facility
        return fields

    logmagic.add_rewriter(tag)
    logmagic.route("app.noisy", logmagic.INFO, [])
    logmagic.route("app.quiet", logmagic.WARNING, "list")
    stdlib.capture("DEBUG")
    logging.getLogger("app.noisy").error("silenced")
    logging.getLogger("app.quiet").info("below the route's level")
    logging.getLogger("app.quiet").warning("kept", extra={"password": "hunter2"})
    assert [(r.facility, r.msg, r.fields) for r in sink.records] == [
        ("app.quiet", "kept", {"password": "[REDACTED]", "tagged": "app.quiet"})
    ]


def test_capture_level_filters_and_lowers_the_root_level(sink: ListSink) -> None:
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    stdlib.capture("INFO")
    assert root.level == logging.INFO
    logging.getLogger("app").debug("below")
    logging.getLogger("app").info("at")
    assert [r.msg for r in sink.records] == ["at"]


def test_capture_does_not_raise_the_root_level(sink: ListSink) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    stdlib.capture("WARNING")
    assert root.level == logging.DEBUG
    logging.getLogger("app").info("below the handler's level")
    assert sink.records == []


def test_an_unknown_level_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown logging level 'LOUD'"):
        stdlib.capture("LOUD")
    assert handlers_of_type(logging.getLogger()) == []


def test_capture_twice_installs_one_handler(sink: ListSink) -> None:
    first = stdlib.capture("WARNING")
    second = stdlib.capture("INFO")
    assert first is second
    assert handlers_of_type(logging.getLogger()) == [first]
    assert first.level == logging.INFO
    logging.getLogger("app").info("once")
    assert [r.msg for r in sink.records] == ["once"]


def test_uncapture_removes_the_handler_and_restores_the_root_level(sink: ListSink) -> None:
    root = logging.getLogger()
    root.setLevel(logging.ERROR)
    stdlib.capture("DEBUG")
    stdlib.uncapture()
    assert handlers_of_type(root) == []
    assert root.level == logging.ERROR
    logging.getLogger("app").error("not captured")
    assert sink.records == []
    stdlib.uncapture()  # a second call has nothing left to undo
    assert root.level == logging.ERROR


def test_reset_undoes_the_capture() -> None:
    stdlib.capture()
    logmagic.reset()
    assert handlers_of_type(logging.getLogger()) == []
    handler = stdlib.capture()  # and a new capture works afterwards
    assert handlers_of_type(logging.getLogger()) == [handler]


def test_a_handler_in_dict_config(sink: ListSink) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"logmagic": {"class": "logmagic.integrations.stdlib.Handler", "level": "DEBUG"}},
            "loggers": {"cfg.app": {"handlers": ["logmagic"], "level": "DEBUG", "propagate": False}},
        }
    )
    target = logging.getLogger("cfg.app")
    try:
        target.debug("configured %s", "by dict", extra={"k": 1})
    finally:
        target.handlers.clear()
    assert [(r.facility, r.level, r.msg, r.fields) for r in sink.records] == [
        ("cfg.app", logmagic.DEBUG, "configured by dict", {"k": 1})
    ]


# -- taking over loggers that do not propagate -----------------------------------------------


@pytest.fixture
def server_logger() -> Iterator[tuple[logging.Logger, Collect]]:
    """A logger configured like a server's: its own handler, propagate off."""
    target = logging.getLogger("srv.access")
    own = Collect()
    target.addHandler(own)
    target.propagate = False
    target.setLevel(logging.INFO)
    yield target, own
    target.handlers.clear()
    target.propagate = True
    target.setLevel(logging.NOTSET)


def test_a_taken_over_logger_is_written_once_by_logmagic(
    sink: ListSink, server_logger: tuple[logging.Logger, Collect]
) -> None:
    target, own = server_logger
    before = list(target.handlers)  # own, and whatever pytest adds to loggers that do not propagate
    stdlib.capture(take_over=["srv.access"])
    target.info("GET / 200")
    target.debug("below the logger's own level")
    assert [(r.facility, r.msg) for r in sink.records] == [("srv.access", "GET / 200")]
    assert own.records == []

    stdlib.uncapture()
    assert own in before
    assert target.handlers == before
    assert target.propagate is False
    target.info("after")
    assert [r.getMessage() for r in own.records] == ["after"]
    assert len(sink.records) == 1


def test_without_take_over_a_non_propagating_logger_is_not_seen(
    sink: ListSink, server_logger: tuple[logging.Logger, Collect]
) -> None:
    target, own = server_logger
    stdlib.capture(take_over=())
    target.info("GET / 200")
    assert sink.records == []
    assert [r.getMessage() for r in own.records] == ["GET / 200"]


def test_take_over_does_not_create_loggers() -> None:
    stdlib.capture(take_over=["never.created.by.anyone"])
    assert "never.created.by.anyone" not in logging.Logger.manager.loggerDict


def test_uvicorns_own_logging_config_is_taken_over_by_default(
    sink: ListSink, capsys: pytest.CaptureFixture[str]
) -> None:
    uvicorn_config = pytest.importorskip("uvicorn.config")
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    before = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate) for n in names}
    logging.config.dictConfig(uvicorn_config.LOGGING_CONFIG)
    try:
        stdlib.capture()
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/", "1.1", 200)
        out = capsys.readouterr()
        assert [(r.facility, r.level, r.msg) for r in sink.records] == [
            ("uvicorn.error", logmagic.INFO, "Started server process [42]"),
            ("uvicorn.access", logmagic.INFO, '127.0.0.1:5000 - "GET / HTTP/1.1" 200'),
        ]
        assert "Started server process" not in out.err
        assert "GET /" not in out.out
    finally:
        stdlib.uncapture()
        for name, (handlers, propagate) in before.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate


# -- StdlibSink: logmagic records into logging -------------------------------------------------


@pytest.fixture
def into_logging() -> Iterator[Collect]:
    """Every logmagic record goes to the ``stdlib`` sink only; a handler on ``svc`` collects."""
    logmagic.register_sink("stdlib", stdlib.StdlibSink())
    logmagic.route("__root__", logmagic.TRACE8, "stdlib")
    collect = Collect()
    target = logging.getLogger("svc")
    target.addHandler(collect)
    target.setLevel(1)
    yield collect
    target.removeHandler(collect)
    target.setLevel(logging.NOTSET)


def test_stdlib_is_a_built_in_sink_name_also_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGMAGIC_ROUTES", "svc=INFO:stdlib")
    logmagic.configure()
    collect = Collect()
    target = logging.getLogger("svc")
    target.addHandler(collect)
    target.setLevel(logging.INFO)
    try:
        logmagic.local("svc.env").notice("from the environment", n=1)
    finally:
        target.removeHandler(collect)
        target.setLevel(logging.NOTSET)
    assert [(r.name, r.getMessage(), r.n) for r in collect.records] == [("svc.env", "from the environment", 1)]  # type: ignore[attr-defined]
    assert isinstance(logmagic.config.sinks()["stdlib"], stdlib.StdlibSink)


def test_the_built_in_stdlib_sink_is_made_without_the_integration_module() -> None:
    """The configuration makes it from ``logmagic.sinks``; this module only re-exports it."""
    code = (
        "import sys\n"
        "from logmagic.sink_specs import sink_from_spec\n"
        "from logmagic.sinks import StdlibSink\n"
        "assert type(sink_from_spec('stdlib')) is StdlibSink\n"
        "assert 'logmagic.integrations.stdlib' not in sys.modules, 'integrations.stdlib was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert stdlib.StdlibSink is StdlibSink


@pytest.mark.parametrize(
    ("level", "levelno"),
    [
        (logmagic.EMERG, logging.CRITICAL),
        (logmagic.ALERT, logging.CRITICAL),
        (logmagic.CRIT, logging.CRITICAL),
        (logmagic.ERR, logging.ERROR),
        (logmagic.WARNING, logging.WARNING),
        (logmagic.NOTICE, logging.INFO),
        (logmagic.INFO, logging.INFO),
        (logmagic.DEBUG, logging.DEBUG),
        (logmagic.TRACE1, logging.DEBUG),
        (logmagic.TRACE8, logging.DEBUG),
    ],
)
def test_sink_levels_map_back_and_keep_the_exact_level(into_logging: Collect, level: int, levelno: int) -> None:
    logmagic.local("svc.levels").log(level, "lvl")
    (rec,) = into_logging.records
    assert (rec.name, rec.levelno, rec.levelname, rec.getMessage()) == (
        "svc.levels",
        levelno,
        logging.getLevelName(levelno),
        "lvl",
    )
    assert rec.logmagic_level == level  # type: ignore[attr-defined]


def test_sink_record_has_fields_as_attributes_and_the_record_time(into_logging: Collect) -> None:
    with freeze_time(FROZEN), logmagic.transaction() as txn_id:
        logmagic.local("svc.db").warning("slow query", ms=812, name="users", message="clash")
    (rec,) = into_logging.records
    assert rec.ms == 812  # type: ignore[attr-defined]
    assert rec.txnId == txn_id  # type: ignore[attr-defined]
    assert (rec.name, rec.field_name, rec.field_message) == ("svc.db", "users", "clash")  # type: ignore[attr-defined]
    assert rec.created == FROZEN_TS
    assert rec.msecs == 250.0
    formatted = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s ms=%(ms)s").format(rec)
    assert formatted.endswith(" svc.db WARNING slow query ms=812")


def test_sink_fields_with_odd_names(into_logging: Collect) -> None:
    logmagic.local("svc.odd").info("odd", {1: "one", "logmagic_level": "mine"})
    (rec,) = into_logging.records
    assert rec.__dict__["1"] == "one"
    assert rec.field_logmagic_level == "mine"  # type: ignore[attr-defined]
    assert rec.logmagic_level == logmagic.INFO  # type: ignore[attr-defined]


def test_sink_puts_a_traceback_in_exc_text_and_a_trace_stack_in_stack_info(into_logging: Collect) -> None:
    log = logmagic.local("svc.err")
    try:
        raise OSError("disk")
    except OSError:
        log.exception("write failed")
    log.trace("tracing")
    failed, traced = into_logging.records
    text = logging.Formatter("%(message)s").format(failed)
    assert text.startswith("write failed\nTraceback (most recent call last):")
    assert text.endswith("OSError: disk")
    assert traced.exc_text is None
    assert traced.stack_info is not None
    assert "test_sink_puts_a_traceback_in_exc_text_and_a_trace_stack_in_stack_info" in traced.stack_info


def test_sink_respects_the_stdlib_logger_level(into_logging: Collect) -> None:
    logging.getLogger("svc").setLevel(logging.WARNING)
    log = logmagic.local("svc")
    log.info("dropped by logging")
    log.err("kept")
    assert [r.getMessage() for r in into_logging.records] == ["kept"]


# -- both directions at once ------------------------------------------------------------------


@pytest.fixture
def both_ways(sink: ListSink) -> Iterator[Collect]:
    """capture() on, and every logmagic record to the list sink and to ``logging``; root collects."""
    logmagic.register_sink("stdlib", stdlib.StdlibSink())
    logmagic.route("__root__", logmagic.TRACE8, ["list", "stdlib"])
    stdlib.capture("DEBUG")
    collect = Collect()
    logging.getLogger().addHandler(collect)
    yield collect
    logging.getLogger().removeHandler(collect)


def test_a_logging_record_is_not_sent_back_to_logging(sink: ListSink, both_ways: Collect) -> None:
    logging.getLogger("app").warning("from logging")
    assert [r.getMessage() for r in both_ways.records] == ["from logging"]
    assert [r.msg for r in sink.records] == ["from logging"]


def test_a_logmagic_record_is_not_captured_back_into_logmagic(sink: ListSink, both_ways: Collect) -> None:
    logmagic.local("app").warning("from logmagic")
    assert [r.getMessage() for r in both_ways.records] == ["from logmagic"]
    assert [r.msg for r in sink.records] == ["from logmagic"]


def test_the_mark_stops_a_record_coming_back_through_a_queue_handler(sink: ListSink) -> None:
    """A QueueListener's thread has no guard set: only the mark keeps the record from coming back."""
    logmagic.register_sink("stdlib", stdlib.StdlibSink())
    logmagic.route("__root__", logmagic.TRACE8, ["list", "stdlib"])
    q: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    collect = Collect()
    listener = logging.handlers.QueueListener(q, stdlib.Handler(), collect)
    root = logging.getLogger()
    into_queue = logging.handlers.QueueHandler(q)
    root.addHandler(into_queue)
    root.setLevel(logging.DEBUG)
    listener.start()
    try:
        logmagic.local("app").info("once")
    finally:
        listener.stop()
        root.removeHandler(into_queue)
    assert [r.getMessage() for r in collect.records] == ["once"]
    assert [r.msg for r in sink.records] == ["once"]


def test_stdlib_logging_inside_a_logmagic_sink_does_not_recurse(sink: ListSink) -> None:
    seen = Collect()
    logging.getLogger("inner").addHandler(seen)

    def chatty(facility: str, level: int, msg: str, fields: dict[str, Any]) -> None:
        logging.getLogger("inner").warning("sink saw %s", msg)

    try:
        logmagic.register_sink("chatty", chatty)
        logmagic.route("__root__", logmagic.TRACE8, ["list", "chatty"])
        stdlib.capture()
        logging.getLogger("app").warning("outer")
    finally:
        logging.getLogger("inner").removeHandler(seen)
    assert [r.msg for r in sink.records] == ["outer"]
    assert [r.getMessage() for r in seen.records] == ["sink saw outer"]
