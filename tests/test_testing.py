"""logmagic.testing.capture, the ``logmagic_records`` pytest fixture, and logmagic under freezegun."""

from __future__ import annotations

import datetime
import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import structlog
from freezegun import freeze_time

import logmagic
from logmagic import config, request, rewriters
from logmagic._identity import IDENTITY
from logmagic.integrations import stdlib
from logmagic.integrations.structlog import to_logmagic
from logmagic.record import Record
from logmagic.testing import capture

from .conftest import FROZEN, FROZEN_TS

FROZEN_DT = datetime.datetime(2024, 2, 3, 4, 5, 6, 250000, tzinfo=datetime.timezone.utc)


class CountingSink(logmagic.Sink):
    """Keeps records and counts how often it was closed."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.closed = 0

    def emit(self, record: Record) -> None:
        self.records.append(record)

    def close(self, timeout: float | None = None) -> None:
        self.closed += 1


# -- capture() -------------------------------------------------------------------------------


def test_capture_yields_every_record_as_a_dict() -> None:
    log = logmagic.local("app.pay")
    before = time.time()
    with capture() as records:
        log.info("charged", amount=12)
        with logmagic.transaction() as txn_id:
            log.warnf("account ${accountId} over quota", accountId="ac42")
        try:
            raise ValueError("bad card")
        except ValueError:
            log.exception("failed")
        log.trace8("deepest")
    after = time.time()

    charged, quota, failed, deepest = records
    assert set(charged) == {"facility", "level", "msg", "fields", "timestamp", "txnId", "full_message"}
    assert (charged["facility"], charged["level"], charged["msg"], charged["fields"]) == (
        "app.pay",
        logmagic.INFO,
        "charged",
        {"amount": 12},
    )
    assert (charged["txnId"], charged["full_message"]) == (None, None)
    assert isinstance(charged["timestamp"], float)
    assert before <= charged["timestamp"] <= after
    assert (quota["level"], quota["msg"], quota["fields"], quota["txnId"]) == (
        logmagic.WARNING,
        "account ac42 over quota",
        {"accountId": "ac42"},
        txn_id,
    )
    assert failed["level"] == logmagic.ERR
    assert failed["full_message"].rstrip().endswith("ValueError: bad card")
    assert (deepest["level"], deepest["msg"]) == (logmagic.TRACE8, "deepest")


def test_records_are_what_a_sink_receives_redacted() -> None:
    with capture() as records:
        logmagic.local("app").info("login", user="ann", password="hunter2")
    assert records[0]["fields"] == {"user": "ann", "password": "[REDACTED]"}


def test_nothing_is_written_while_capturing_and_stderr_is_back_after(capfd: pytest.CaptureFixture[str]) -> None:
    log = logmagic.local("app")
    with capture() as records:
        log.err("captured only")
    assert capfd.readouterr().err == ""
    log.err("written again")
    err = capfd.readouterr().err
    assert '"short_message":"written again"' in err
    assert [r["msg"] for r in records] == ["captured only"]


def test_capture_restores_every_part_of_the_configuration() -> None:
    def tag(facility: str, level: int, msg: str, fields: dict[str, Any]) -> None:
        fields["tagged"] = True

    def hook(req: Any) -> Any:
        return "acct"

    mine = CountingSink()
    logmagic.register_sink("mine", mine)
    logmagic.route("app", logmagic.DEBUG, ["mine"])
    logmagic.add_rewriter(tag)
    logmagic.configure(host="before-host", version="1.2", redact=["customsecret"], account_id=hook)
    routes, sinks, chain = config.routes(), config.sinks(), rewriters.chain()

    inside = CountingSink()
    with capture():
        logmagic.register_sink("inside", inside)
        logmagic.route("app", logmagic.INFO, ["inside"])
        logmagic.route("other", logmagic.ERR, [])
        logmagic.remove_rewriter(tag)
        logmagic.remove_rewriter(logmagic.request_rewriter)
        logmagic.configure(host="inside-host", version="9", redact=False, account_id=lambda req: None)

    assert config.routes() == routes
    assert config.sinks().keys() == sinks.keys()
    assert all(config.sinks()[name] is sink for name, sink in sinks.items())
    assert rewriters.chain() == chain
    assert (IDENTITY.host, IDENTITY.version) == ("before-host", "1.2")
    assert request._hook is hook
    assert (mine.closed, inside.closed) == (0, 1)

    logmagic.local("app.x").debug("after", customsecret="s", password="p")
    assert [(r.msg, r.fields) for r in mine.records] == [
        ("after", {"customsecret": "[REDACTED]", "password": "p", "tagged": True})
    ]
    assert inside.records == []


def test_a_reset_inside_the_block_is_undone_too() -> None:
    mine = CountingSink()
    logmagic.register_sink("mine", mine)
    logmagic.route("__root__", logmagic.INFO, ["mine"])
    with capture() as records:
        logmagic.reset()
        logmagic.local("app").info("reset inside")
    logmagic.local("app").info("after")
    assert [r["msg"] for r in records] == []
    assert [r.msg for r in mine.records] == ["after"]


def test_the_configuration_is_restored_when_the_block_raises() -> None:
    routes = config.routes()
    with pytest.raises(RuntimeError, match="inside"), capture():
        logmagic.route("app", logmagic.DEBUG, [])
        raise RuntimeError("inside")
    assert config.routes() == routes


def test_captures_nest() -> None:
    log = logmagic.local("app")
    with capture() as outer:
        log.info("one")
        with capture() as inner:
            log.info("two")
        log.info("three")
    assert [r["msg"] for r in outer] == ["one", "three"]
    assert [r["msg"] for r in inner] == ["two"]


def test_logmagic_routes_from_the_environment_do_not_apply_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGMAGIC_ROUTES", "__root__=ERR:graylog2-stderr")
    logmagic.reset()
    routes = config.routes()
    with capture() as records:
        logmagic.local("app").debug("below the env route")
    assert [r["msg"] for r in records] == ["below the env route"]
    assert config.routes() == routes


# -- the pytest plugin -----------------------------------------------------------------------


def test_the_plugin_is_loaded_from_its_entry_point(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("logmagic")


def test_the_logmagic_records_fixture(logmagic_records: list[dict[str, Any]]) -> None:
    logmagic.local("app.fixture").notice("seen", n=1)
    assert [(r["facility"], r["level"], r["msg"], r["fields"]) for r in logmagic_records] == [
        ("app.fixture", logmagic.NOTICE, "seen", {"n": 1})
    ]


def test_the_fixture_in_a_project_without_conftest(tmp_path: Path) -> None:
    (tmp_path / "test_other.py").write_text(
        textwrap.dedent(
            """
            import logmagic
            from logmagic import config

            DEFAULT = config.routes()

            def test_uses_the_fixture(logmagic_records):
                logmagic.route("silenced", logmagic.ERR, [])
                logmagic.local("other.app").info("hello", k=1)
                assert [(r["msg"], r["fields"]) for r in logmagic_records] == [("hello", {"k": 1})]

            def test_the_routes_are_back_afterwards():
                assert config.routes() == DEFAULT
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


# -- freezegun -------------------------------------------------------------------------------


def test_records_and_new_txn_ids_show_the_frozen_time() -> None:
    log = logmagic.local("app.frozen")
    with capture() as records, freeze_time(FROZEN):
        log.info("plain")
        log.infof("template ${x}", x=1)
        try:
            raise ValueError("v")
        except ValueError:
            log.exception("exception")
        log.trace("trace")
        fresh = logmagic.new_txn_id()
        with logmagic.transaction() as txn_id:
            log.info("in a transaction")
    assert [r["timestamp"] for r in records] == [FROZEN_TS] * 5
    assert logmagic.parse_txn_id(fresh).time == FROZEN_DT
    assert logmagic.parse_txn_id(txn_id).time == FROZEN_DT
    assert records[-1]["txnId"] == txn_id


def test_the_clock_moves_with_tick_and_is_real_again_after() -> None:
    log = logmagic.local("app.frozen")
    with capture() as records:
        with freeze_time(FROZEN) as frozen:
            log.info("first")
            frozen.tick(2.5)
            log.info("second")
        log.info("after")
    first, second, after = (r["timestamp"] for r in records)
    assert (first, second) == (FROZEN_TS, FROZEN_TS + 2.5)
    assert after == pytest.approx(time.time(), abs=60)


@freeze_time(FROZEN)
def test_freeze_time_as_a_decorator(logmagic_records: list[dict[str, Any]]) -> None:
    logmagic.local("app").info("decorated")
    assert [r["timestamp"] for r in logmagic_records] == [FROZEN_TS]


def test_bridged_records_show_the_frozen_time() -> None:
    structlog.configure(processors=[to_logmagic], cache_logger_on_first_use=False)
    root = logging.getLogger()
    level = root.level
    try:
        stdlib.capture()
        with capture() as records, freeze_time(FROZEN):
            logging.getLogger("app.stdlib").warning("from logging")
            structlog.get_logger().warning("from structlog")
    finally:
        stdlib.uncapture()
        root.setLevel(level)
        structlog.reset_defaults()
    assert [(r["msg"], r["timestamp"]) for r in records] == [("from logging", FROZEN_TS), ("from structlog", FROZEN_TS)]
