"""The per-call path: fields, variants, bind, disabled levels, never raising."""

from __future__ import annotations

from typing import Any

import pytest

import logmagic
from logmagic import call_paths, txn
from logmagic.levels import METHOD_LEVELS

from .conftest import ListSink


def test_positional_mapping_and_keywords_merge_without_touching_the_callers_dict(sink: ListSink) -> None:
    log = logmagic.local("myapp.api")
    given = {"a": 1, "b": 1}
    log.info("hello", given, b=2, c=3)
    assert sink.fields == [{"a": 1, "b": 2, "c": 3}]
    assert given == {"a": 1, "b": 1}
    assert sink.records[0].fields is not given


def test_a_rewriter_mutating_fields_never_reaches_the_callers_dict(sink: ListSink) -> None:
    def rewrite(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
        fields["added"] = True
        fields.pop("secret", None)
        return fields

    logmagic.add_rewriter(rewrite)
    given = {"secret": "x"}
    logmagic.local("a").info("m", given)
    assert given == {"secret": "x"}
    assert sink.fields == [{"added": True}]


def test_record_carries_facility_level_message_and_time(sink: ListSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(call_paths, "_now", lambda: 1324936418.221)
    logmagic.reset()
    logmagic.register_sink("list", sink)
    logmagic.route("__root__", logmagic.TRACE8, "list")
    logmagic.local("myapp.api.handler").dbg("Something is wrong")
    rec = sink.records[0]
    assert (rec.facility, rec.level, rec.msg, rec.timestamp) == (
        "myapp.api.handler",
        7,
        "Something is wrong",
        1324936418.221,
    )
    assert rec.full_message is None


@pytest.mark.parametrize(("name", "level"), sorted(METHOD_LEVELS.items()))
def test_every_method_and_its_f_variant_logs_at_its_level(sink: ListSink, name: str, level: int) -> None:
    log = logmagic.local("x")
    getattr(log, name)("plain ${v}", v=1)
    getattr(log, name + "f")("templ ${v}", v=1)
    assert [(r.level, r.msg) for r in sink.records] == [(level, "plain ${v}"), (level, "templ 1")]


def test_f_variant_interpolates_after_rewriting_and_leaves_unknown_names(sink: ListSink) -> None:
    logmagic.add_rewriter(lambda f, lvl, m, fields: {**fields, "accountId": "ac42"})
    logmagic.local("x").errf("account ${accountId} failed at ${where.step}; ${missing}", where={"step": 3})
    assert sink.records[0].msg == "account ac42 failed at 3; ${missing}"


def test_exception_logs_err_with_the_traceback(sink: ListSink) -> None:
    log = logmagic.local("x")
    try:
        raise KeyError("card")
    except KeyError:
        log.exception("charge failed", amount=5)
    rec = sink.records[0]
    assert rec.level == logmagic.ERR
    assert rec.fields == {"amount": 5}
    assert rec.full_message is not None
    assert "Traceback" in rec.full_message and "KeyError: 'card'" in rec.full_message


def test_exception_outside_an_except_block_has_no_traceback(sink: ListSink) -> None:
    logmagic.local("x").exception("odd")
    assert sink.records[0].full_message is None


def _traced_caller(log: logmagic.LocalLogger) -> None:
    log.trace("deep")


def test_trace_levels_carry_the_call_site_stack(sink: ListSink) -> None:
    log = logmagic.local("x")
    _traced_caller(log)
    log.info("not traced")
    traced, plain = sink.records
    assert traced.full_message is not None and "_traced_caller" in traced.full_message
    assert plain.full_message is None


def test_bind_adds_fields_and_leaves_the_parent_alone(sink: ListSink) -> None:
    log = logmagic.local("x")
    child = log.bind(accountId="ac42", who="bound")
    grandchild = child.bind(step=1)
    child.info("c", who="call")
    grandchild.info("g")
    log.info("p")
    assert child.facility == "x"
    assert sink.fields == [{"accountId": "ac42", "who": "call"}, {"accountId": "ac42", "who": "bound", "step": 1}, {}]


def test_disabled_level_is_the_empty_method_and_route_changes_rebuild_it(sink: ListSink) -> None:
    log = logmagic.local("svc.db")
    logmagic.route("__root__", logmagic.INFO, "list")
    assert type(log).debug is call_paths._noop and type(log).dbgf is call_paths._noop
    assert type(log).info is not call_paths._noop
    assert not log.enabled("debug") and log.enabled(logmagic.INFO)
    assert log.enabled("warn") and not log.enabled("bogus") and not log.enabled(99)
    log.debug("dropped")
    logmagic.route("svc", logmagic.DEBUG, "list")  # applies to the logger made earlier
    log.debug("kept")
    assert [r.msg for r in sink.records] == ["kept"]


def test_log_takes_a_level_by_name_or_number(sink: ListSink) -> None:
    log = logmagic.local("x")
    log.log("warn", "a")
    log.log(2, "b")
    log.log("nonsense", "c")  # a bad level at call time is not an exception
    assert [(r.level, r.msg) for r in sink.records] == [(4, "a"), (2, "b")]


def test_current_transaction_id_is_stamped_and_an_explicit_one_wins(sink: ListSink) -> None:
    log = logmagic.local("x")
    token = txn._current.set("txn-outer")
    try:
        log.info("a")
        log.info("b", txnId="explicit")
        log.bind(txnId="bound").info("c")
    finally:
        txn._current.reset(token)
    log.info("d")
    assert [r.fields.get("txnId") for r in sink.records] == ["txn-outer", "explicit", "bound", None]
    assert logmagic.current_txn_id() is None


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_odd_messages_and_fields_never_raise_and_still_make_a_record(sink: ListSink) -> None:
    log = logmagic.local("x")
    log.info(Unprintable())
    log.info(42, ["not", "a", "mapping"])
    log.infof(None, {1: "int key"})
    msgs = [r.msg for r in sink.records]
    assert msgs == ["<unprintable Unprintable>", "42", "None"]
    assert sink.records[1].fields == {"fields": ["not", "a", "mapping"]}
    assert sink.records[2].fields == {1: "int key"}


def test_a_raising_sink_is_counted_and_reported_once_and_the_other_sink_still_gets_the_record(
    sink: ListSink, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(facility: str, level: int, msg: str, fields: dict[str, Any]) -> None:
        raise OSError("disk on fire")

    logmagic.register_sink("broken", broken)
    logmagic.route("__root__", logmagic.INFO, ["broken", "list"])
    log = logmagic.local("x")
    for i in range(50):
        log.info("m", i=i)
    assert len(sink.records) == 50
    assert logmagic.stats()["broken"]["dropped"] == 50
    err = capfd.readouterr().err
    # Rate-limited: at most one report in this 10 s window, naming the sink and the reason.
    assert err.count("logmagic: records lost") <= 1
    logmagic.shutdown(1.0)
    err += capfd.readouterr().err
    assert "broken" in err and "disk on fire" in err


def test_a_sink_that_logs_itself_does_not_recurse_forever(sink: ListSink) -> None:
    log = logmagic.local("loop")
    calls = []

    def chatty(facility: str, level: int, msg: str, fields: dict[str, Any]) -> None:
        calls.append(msg)
        log.info("from inside the sink")

    logmagic.register_sink("chatty", chatty)
    logmagic.route("__root__", logmagic.INFO, ["chatty", "list"])
    log.info("outer")
    assert 1 < len(calls) <= 3
    assert sink.records[-1].msg == "outer"
    assert logmagic.stats()["chatty"]["dropped"] >= 1


def test_a_rewriter_that_logs_itself_does_not_recurse_forever(sink: ListSink) -> None:
    log = logmagic.local("loop")
    seen = []

    def chatty(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
        seen.append(msg)
        log.info("from inside the rewriter")
        return fields

    logmagic.add_rewriter(chatty)
    log.info("outer")
    assert len(seen) <= 3
    assert "outer" in [r.msg for r in sink.records]


def test_local_accepts_a_non_string_facility_without_raising(sink: ListSink) -> None:
    logmagic.local(None).info("m")  # type: ignore[arg-type]
    assert sink.records[0].facility == "None"


def test_an_internal_failure_still_writes_the_record_with_the_reason(
    sink: ListSink, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def boom() -> None:
        raise RuntimeError("context broke")

    monkeypatch.setattr(call_paths, "_txn_get", boom)
    logmagic.local("x").warning("m", secret="s3", n=1)
    (rec,) = sink.records
    assert (rec.msg, rec.level) == ("m", logmagic.WARNING)
    assert rec.fields == {"logmagic_error": "RuntimeError: context broke"}  # fields dropped, not leaked


def test_a_failure_even_the_fallback_cannot_survive_is_reported_on_stderr(
    sink: ListSink, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("no records today")

    monkeypatch.setattr(call_paths, "Record", boom)
    logmagic.local("x").info("m")
    logmagic.shutdown(1.0)
    assert "no records today" in capfd.readouterr().err
    assert sink.records == []
