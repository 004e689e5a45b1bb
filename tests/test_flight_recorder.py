"""The flight recorder: a transaction's records below the threshold, written only if it fails."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

import logmagic
from logmagic import flight_recorder
from logmagic.integrations import stdlib as stdlib_capture
from tests.conftest import ListSink


@pytest.fixture
def out() -> ListSink:
    """Every facility routed at INFO to a list; the recorder keeps down to DEBUG."""
    s = ListSink()
    logmagic.register_sink("list", s)
    logmagic.route("__root__", logmagic.INFO, "list")
    logmagic.configure(flight_recorder=logmagic.DEBUG, env=False)
    return s


def messages(sink: ListSink) -> list[tuple[str, bool]]:
    return [(r.msg, bool(r.fields.get("flight_recorder"))) for r in sink.records]


def test_a_transaction_that_ends_well_writes_no_debug_line(out: ListSink) -> None:
    log = logmagic.local("app")
    with logmagic.transaction():
        log.debug("detail", n=1)
        log.info("done")
    assert messages(out) == [("done", False)]
    assert logmagic.stats()["flight_recorder"]["discarded"] == 1
    assert logmagic.stats()["flight_recorder"]["bytes_held"] == 0


def test_an_error_writes_the_kept_records_first_in_order_with_the_txn_id(out: ListSink) -> None:
    log = logmagic.local("app")
    lib = logmagic.local("somelib")
    with logmagic.transaction() as txn_id, logmagic.context(accountId="ac7"):
        log.debug("one", password="hunter2")
        lib.debugf("two ${n}", n=2)
        log.info("written at once")
        log.err("failed")
        log.debug("after the error")  # kept again: a second error would write it
    assert messages(out) == [("written at once", False), ("one", True), ("two 2", True), ("failed", False)]
    kept = out.records[1:3]
    assert all(r.fields["txnId"] == txn_id and r.fields["accountId"] == "ac7" for r in kept)
    assert kept[0].fields["password"] != "hunter2"  # redacted when kept
    assert [r.level for r in kept] == [logmagic.DEBUG, logmagic.DEBUG]
    assert kept[0].timestamp <= kept[1].timestamp <= out.records[3].timestamp


def test_outside_a_transaction_nothing_is_kept(out: ListSink) -> None:
    log = logmagic.local("app")
    log.debug("nowhere")
    log.err("an error outside any transaction")
    assert messages(out) == [("an error outside any transaction", False)]
    assert logmagic.stats()["flight_recorder"]["kept"] == 0


def test_a_transaction_block_that_raises_writes_them_and_says_why(out: ListSink) -> None:
    log = logmagic.local("app")
    with pytest.raises(ValueError), logmagic.transaction() as txn_id:
        log.debug("before")
        raise ValueError("boom")
    assert messages(out) == [("before", True), ("transaction ended with an unhandled exception", True)]
    last = out.records[-1]
    assert last.level == logmagic.ERR and last.fields["txnId"] == txn_id
    assert last.full_message is not None and "ValueError: boom" in last.full_message


def test_exception_and_log_at_err_replay_too(out: ListSink) -> None:
    log = logmagic.local("app")
    with logmagic.transaction():
        log.debug("a")
        try:
            raise KeyError("k")
        except KeyError:
            log.exception("caught")
    with logmagic.transaction():
        log.debug("b")
        log.log("CRIT", "critical")
    assert messages(out) == [("a", True), ("caught", False), ("b", True), ("critical", False)]


def test_the_oldest_go_first_and_the_replay_says_how_many(out: ListSink) -> None:
    logmagic.configure(flight_recorder=logmagic.FlightRecorder(logmagic.DEBUG, max_records=3), env=False)
    log = logmagic.local("app")
    with logmagic.transaction():
        for i in range(10):
            log.debug(f"step {i}")
        log.err("failed")
    assert [m for m, _ in messages(out)] == [
        "flight recorder: 7 earlier record(s) of this transaction were dropped to stay within its caps",
        "step 7",
        "step 8",
        "step 9",
        "failed",
    ]
    assert out.records[0].fields["dropped"] == 7
    assert logmagic.stats()["flight_recorder"]["dropped"] == 7


def test_the_byte_cap_of_a_transaction_holds(out: ListSink) -> None:
    logmagic.configure(flight_recorder=logmagic.FlightRecorder(logmagic.DEBUG, max_bytes=20_000), env=False)
    log = logmagic.local("app")
    with logmagic.transaction():
        for i in range(100):
            log.debug("big", blob="x" * 1000, n=i)
            assert flight_recorder.stats()["bytes_held"] <= 20_000
        log.err("failed")
    kept = [r for r in out.records if r.msg == "big"]
    assert 10 <= len(kept) < 20 and kept[-1].fields["n"] == 99
    assert out.records[0].fields["dropped"] == 100 - len(kept)


def test_the_process_cap_stops_keeping_and_counts(out: ListSink) -> None:
    settings = logmagic.FlightRecorder(logmagic.DEBUG, max_bytes=200_000, max_total=50_000)
    logmagic.configure(flight_recorder=settings, env=False)
    log = logmagic.local("app")
    ctxs = [logmagic.transaction() for _ in range(3)]
    for ctx in ctxs:  # three open transactions at once share the process cap
        ctx.__enter__()
        for _ in range(30):
            log.debug("blob", blob="y" * 1000)
    held = flight_recorder.stats()
    assert held["bytes_held"] <= 50_000 and held["not_kept"] > 0
    for ctx in reversed(ctxs):
        ctx.__exit__(None, None, None)
    assert flight_recorder.stats()["bytes_held"] == 0


def test_threads_and_tasks_share_their_transaction_s_recorder(out: ListSink) -> None:
    log = logmagic.local("app")

    async def request(n: int, fail: bool) -> None:
        async with logmagic.transaction(f"T{n}"):
            log.debug(f"task {n}")
            await asyncio.sleep(0.01)
            thread = threading.Thread(target=logmagic.txn.wrap(lambda: log.debug(f"thread of {n}")))
            thread.start()
            thread.join()
            if fail:
                log.err(f"failed {n}")

    async def main() -> None:
        await asyncio.gather(*(request(n, n == 1) for n in range(3)))

    asyncio.run(main())
    assert messages(out) == [("task 1", True), ("thread of 1", True), ("failed 1", False)]
    assert {r.fields["txnId"] for r in out.records} == {"T1"}


def test_a_record_is_never_written_twice_nor_after_its_transaction_ended(out: ListSink) -> None:
    log = logmagic.local("app")
    late: list[Any] = []
    with logmagic.transaction():
        log.debug("once")
        log.err("first error")
        log.err("second error")
        late.append(logmagic.txn.wrap(lambda: (log.debug("late"), log.err("late error"))))
    late[0]()  # runs in a copy of the ended transaction's context
    assert [m for m, _ in messages(out)] == ["once", "first error", "second error", "late error"]


def test_stdlib_records_are_kept_and_an_error_replays_them(out: ListSink) -> None:
    std = logging.getLogger("thirdparty")
    std.setLevel(logging.DEBUG)
    stdlib_capture.capture("DEBUG")  # undone by logmagic.reset()
    with logmagic.transaction():
        std.debug("library detail")
        std.error("library failure")
    with logmagic.transaction():
        std.debug("not written")
    assert messages(out) == [("library detail", True), ("library failure", False)]


def test_off_by_default_and_disabled_levels_stay_the_empty_method() -> None:
    log = logmagic.local("app")
    logmagic.route("__root__", logmagic.INFO, "graylog2-stderr")
    assert "flight_recorder" not in logmagic.stats()
    assert type(log).debug is type(log).trace1  # the shared empty method
    logmagic.configure(flight_recorder="DEBUG", env=False)
    assert type(log).debug is not type(log).trace1  # DEBUG is kept; TRACE1 stays empty
    logmagic.configure(flight_recorder=False, env=False)
    assert type(log).debug is type(log).trace1


@pytest.mark.parametrize(
    "value",
    ["LOUD", 99, logmagic.FlightRecorder(logmagic.DEBUG, max_records=0), logmagic.FlightRecorder(-1)],
)
def test_a_bad_setting_says_what_is_wrong_and_changes_nothing(value: Any) -> None:
    with pytest.raises(ValueError, match="flight_recorder"):
        logmagic.configure(flight_recorder=value, env=False)
    assert flight_recorder.active() is None


def test_the_environment_turns_it_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOGMAGIC_FLIGHT_RECORDER", "DEBUG")
    logmagic.reset()
    settings = flight_recorder.active()
    assert settings is not None and settings.level == logmagic.DEBUG
    monkeypatch.setenv("LOGMAGIC_FLIGHT_RECORDER", "off")
    logmagic.reset()
    assert flight_recorder.active() is None


def test_secrets_are_masked_when_kept_also_once_names_are_cached(out: ListSink) -> None:
    log = logmagic.local("app")
    with logmagic.transaction():
        for _ in range(3):  # the first sighting caches harmless names; later ones take the fast keep
            log.debug("login", user="u1", password="hunter2", url="https://h/cb?token=abc123")
            log.debug("plain", user="u1", attempt=1)
        recorder = logmagic.txn.get_current().recorder  # type: ignore[union-attr]
        held = [entry[2] for entry in recorder.entries]
        log.err("failed")
    assert all("hunter2" not in repr(f) and "abc123" not in repr(f) for f in held)  # masked in memory
    logins = [r for r in out.records if r.msg == "login"]
    assert len(logins) == 3
    assert all(r.fields["password"] != "hunter2" and "abc123" not in r.fields["url"] for r in logins)
    assert [r.fields["user"] for r in out.records if r.msg == "plain"] == ["u1"] * 3


def test_kept_records_are_stamped_by_the_pipeline_s_clock(out: ListSink, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast keep reads the system clock itself only while the clock is ``time.time``; a
    clock put in its place (a test's frozen time) is called."""
    import time

    from logmagic import call_paths

    log = logmagic.local("app")
    with logmagic.transaction():
        log.debug("warm", n=1)  # caches the names: the next records take the fast keep
        before = time.time()
        log.debug("real", n=2)
        after = time.time()
        monkeypatch.setattr(call_paths, "_now", lambda: 1234.5)
        log.debug("frozen", n=3)
        log.err("failed")
    stamps = {r.msg: r.timestamp for r in out.records}
    assert before <= stamps["real"] <= after
    assert stamps["frozen"] == 1234.5
