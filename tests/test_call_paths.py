"""The direct GELF path of the level methods, and the per-facility logger classes.

A route to one of logmagic's own GELF line sinks builds the line in the level method itself.
These tests hold it to the encoder: for any record the line must be exactly what
``GelfEncoder`` writes, whether the method wrote it directly or handed the record over.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import threading
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import logmagic
from logmagic import call_paths, rewriters
from logmagic import logger as logger_mod
from logmagic._safe import safe_str
from logmagic.encode import JsonEncoder
from logmagic.encode.gelf import GelfEncoder
from logmagic.record import Record
from logmagic.sinks import FileSink
from logmagic.sinks.queued import QueuedSink

from .conftest import ListSink, open_here

NOW = 1_700_000_000.1234
PIPE_BUF = 4096  # Linux


@pytest.fixture(autouse=True, params=["as installed", "generated pure Python"])
def direct_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with the direct methods this process makes, and again with the ones a
    process without the C accelerator makes (the Python twins written into the method)."""
    if request.param != "as installed":
        made = call_paths.python_gelf_line_maker()
        assert made is not call_paths.make_gelf_line  # generated, not the fallback
        monkeypatch.setattr(call_paths, "make_direct", made)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(call_paths, "_now", lambda: NOW)
    return NOW


def file_log(path: Path, facility: str = "svc.api") -> logmagic.LocalLogger:
    logmagic.register_sink("main", f"file://{path}")
    logmagic.route("__root__", logmagic.DEBUG, "main")
    return logmagic.local(facility)


class Counting(Record):
    """A Record that counts how often a level method made one (the direct path makes none)."""

    __slots__ = ()
    made = 0

    def __init__(self, *args: Any) -> None:
        Counting.made += 1
        super().__init__(*args)


@pytest.fixture
def records_made(monkeypatch: pytest.MonkeyPatch) -> type[Counting]:
    Counting.made = 0
    monkeypatch.setattr(call_paths, "Record", Counting)
    return Counting


names = st.one_of(
    st.sampled_from(["accountId", "status", "id", "facility", "request", "password", "Authorization", "a b", ""]),
    st.text(max_size=12),
)
plain = st.one_of(st.text(max_size=40), st.integers(-(2**63), 2**64 - 1), st.booleans(), st.none(), st.floats())
other = st.one_of(
    st.integers(min_value=2**64, max_value=2**70),
    st.sampled_from([math.nan, math.inf, "\ud800", b"bytes", ("a", 1), {"nested": {"x": 1}}, {1, 2}]),
    st.text(min_size=PIPE_BUF, max_size=PIPE_BUF + 10),
)
field_dicts = st.dictionaries(names, st.one_of(plain, plain, plain, other), max_size=6)


class General(FileSink):
    """The same file sink, but a subclass with its own emit: loggers take the general path to it."""

    def emit(self, record: Record) -> None:
        super().emit(record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    msg=st.one_of(st.text(max_size=60), st.sampled_from(["", " ", "\n\t"])),
    fields=field_dicts,
    in_txn=st.booleans(),
    scope=st.one_of(st.none(), st.dictionaries(names, st.one_of(plain, other), max_size=3)),
)
def test_every_line_is_what_the_general_path_writes(
    tmp_path: Path, frozen: float, msg: str, fields: dict[str, Any], in_txn: bool, scope: dict[str, Any] | None
) -> None:
    direct, general = tmp_path / "direct.log", tmp_path / "general.log"
    for path, sink in ((direct, str), (general, General)):
        path.unlink(missing_ok=True)
        logmagic.register_sink("main", f"file://{path}" if sink is str else General(str(path)))
        logmagic.route("__root__", logmagic.DEBUG, "main")
        log = logmagic.local("svc.api")
        in_context = logmagic.context(**scope) if scope is not None else contextlib.nullcontext()
        with logmagic.transaction(".t") if in_txn else contextlib.nullcontext(), in_context:
            log.info(msg, fields)  # the first sighting of a name goes through the encoder
            log.info(msg, fields)  # the second may be written directly
    assert direct.read_bytes() == general.read_bytes()
    lines = direct.read_bytes().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["timestamp"] == int(frozen * 1000) / 1000 for line in lines)


def test_lines_of_plain_fields_are_what_the_encoder_writes(tmp_path: Path, frozen: float) -> None:
    log = file_log(tmp_path / "a.log")
    fields = {"accountId": "ac42", "status": 200, "ratio": 0.5, "ok": True, "gone": None, "id": 7}
    log.info("Something is wrong", fields)
    log.info("Something is wrong", fields)
    expected = GelfEncoder().encode(Record("svc.api", logmagic.INFO, "Something is wrong", fields, frozen))
    assert (tmp_path / "a.log").read_bytes().splitlines(keepends=True) == [expected, expected]


def test_plain_fields_under_known_names_make_no_record(tmp_path: Path, records_made: type[Counting]) -> None:
    log = file_log(tmp_path / "a.log")
    log.info("warm", accountId="ac42", status=200, ratio=0.5, ok=True, gone=None)
    records_made.made = 0
    log.info("m", accountId="ac43", status=201, ratio=0.25, ok=False, gone=None)
    assert records_made.made == 0
    lines = (tmp_path / "a.log").read_text().splitlines()
    assert json.loads(lines[-1])["_accountId"] == "ac43"


@pytest.mark.parametrize(
    "value",
    [{"nested": 1}, [1, 2], math.nan, 2**70, "\ud800", b"x", "x" * (PIPE_BUF * 9)],
    ids=["mapping", "list", "nan", "big-int", "surrogate", "bytes", "huge-string"],
)
def test_other_values_go_through_the_encoder(tmp_path: Path, records_made: type[Counting], value: object) -> None:
    log = file_log(tmp_path / "a.log")
    log.info("warm", v=1)
    records_made.made = 0
    log.info("m", v=value)
    assert records_made.made == 1
    line = (tmp_path / "a.log").read_text().splitlines()[-1]
    assert "_v" in json.loads(line) or "_v_nested" in json.loads(line)


class HostileKey(str):
    """A field name equal to a cached one by hash, whose comparison raises."""

    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing me")


def test_a_hostile_field_name_still_gives_one_valid_line(tmp_path: Path) -> None:
    log = file_log(tmp_path / "a.log")
    log.info("warm", accountId="ac42")
    log.info("hostile", {HostileKey("accountId"): "ac43"}, status=200)
    lines = [json.loads(x) for x in (tmp_path / "a.log").read_text().splitlines()]
    assert [x["short_message"] for x in lines] == ["warm", "hostile"]
    assert lines[1]["_accountId"] == "ac43" and lines[1]["_status"] == 200


class CollidingKey:
    """A key with the hash of a name logmagic looks up (``request``, ``txnId``), whose ``__eq__`` raises."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing me")

    def __repr__(self) -> str:
        return f"key-{self.name}"


CALLS = {
    "info": lambda log, f: log.info("hostile", f, status=200),
    "infof": lambda log, f: log.infof("hostile ${status}", f, status=200),
    "forward": lambda log, f: log.forward(logmagic.INFO, "hostile", {**f, "status": 200}),
    "bound": lambda log, f: log.bind(status=200).info("hostile", f),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("name", ["request", "txnId", "password", "accountId"])
@pytest.mark.parametrize("where", ["file", "list"])
def test_a_key_that_cannot_be_compared_still_gives_its_line(
    tmp_path: Path, call: str, name: str, where: str, capfd: pytest.CaptureFixture[str]
) -> None:
    if where == "file":  # the direct GELF path and the encoder
        log = file_log(tmp_path / "a.log")
    else:  # the general path, to a sink that gets the record itself
        got = ListSink()
        logmagic.register_sink("list", got)
        logmagic.route("__root__", logmagic.INFO, "list")
        log = logmagic.local("svc")
    log.info("warm", accountId="ac42", password="pw")  # names cached
    with logmagic.transaction() as txn_id:
        for _ in range(2):  # the second call meets whatever the first one cached
            CALLS[call](log, {CollidingKey(name): "v"})
    if where == "file":
        lines = [json.loads(x) for x in (tmp_path / "a.log").read_text().splitlines()][1:]
        assert [(x["short_message"][:7], x["level"]) for x in lines] == [("hostile", 6)] * 2
        for line in lines:
            assert line[f"_key-{name}"] == ("[REDACTED]" if name == "password" else "v")
            assert line["_status"] == 200 and line["_txnId"] == txn_id
    else:
        records = got.records[1:]
        assert [(r.msg[:7], r.level) for r in records] == [("hostile", 6)] * 2
        for rec in records:
            values = {safe_str(k): v for k, v in rec.fields.items()}
            assert values[f"key-{name}"] == ("[REDACTED]" if name == "password" else "v")
            assert values["status"] == 200 and values["txnId"] == txn_id
    err = capfd.readouterr().err
    assert "lost" not in err
    assert err.count("failed on its fields") <= 1  # said once per kind of error, if the call failed at all


class BrokenMapping(dict):  # type: ignore[type-arg]
    """Fields whose items cannot be read."""

    def keys(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("unreadable fields")

    def items(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("unreadable fields")

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("unreadable fields")


def test_fields_that_cannot_be_read_give_the_message_and_the_reason(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = file_log(tmp_path / "a.log")
    for _ in range(3):
        log.warning("still here", BrokenMapping(a=1), secret="s3")
    lines = [json.loads(x) for x in (tmp_path / "a.log").read_text().splitlines()]
    assert [(x["short_message"], x["level"]) for x in lines] == [("still here", logmagic.WARNING)] * 3
    assert all("unreadable fields" in x["_logmagic_error"] for x in lines)
    assert "s3" not in json.dumps(lines)
    err = capfd.readouterr().err
    assert err.count("could not be written as logged (RuntimeError: unreadable fields)") == 1  # once, not per record


def test_a_secret_name_is_masked_on_every_record(tmp_path: Path) -> None:
    log = file_log(tmp_path / "a.log")
    for _ in range(3):
        log.info("login", password="hunter2", user="ann")
    lines = [json.loads(x) for x in (tmp_path / "a.log").read_text().splitlines()]
    assert [x["_password"] for x in lines] == ["[REDACTED]"] * 3
    assert "hunter2" not in (tmp_path / "a.log").read_text()


def test_request_rewriter_and_transaction_on_the_direct_path(tmp_path: Path) -> None:
    log = file_log(tmp_path / "a.log")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "logmagic.txn_id": ".from-request"}
    with logmagic.transaction(".from-context"):
        log.info("warm", status=1)
        log.info("plain", status=2)
        log.info("req", request=environ)
        log.info("explicit", txnId=".explicit")
    lines = [json.loads(x) for x in (tmp_path / "a.log").read_text().splitlines()]
    assert [x["_txnId"] for x in lines] == [".from-context", ".from-context", ".from-request", ".explicit"]
    assert lines[2]["_path"] == "/x" and "_request" not in lines[2]


def test_bound_fields_on_the_direct_path(tmp_path: Path) -> None:
    log = file_log(tmp_path / "a.log").bind(accountId="ac42")
    log.info("one", step=1)
    log.info("two", {"step": 2}, accountId="ac43")
    lines = [json.loads(x) for x in (tmp_path / "a.log").read_text().splitlines()]
    assert [(x["_accountId"], x["_step"]) for x in lines] == [("ac42", 1), ("ac43", 2)]


@pytest.mark.parametrize("pad", [300, PIPE_BUF * 2], ids=["small", "over-PIPE_BUF"])
def test_threads_write_whole_lines_and_every_one_is_counted(tmp_path: Path, pad: int) -> None:
    path = tmp_path / "threads.log"
    log = file_log(path)
    text = "x" * pad

    def work(t: int) -> None:
        for i in range(2_000):
            log.info("m", t=t, i=i, pad=text)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    lines = path.read_bytes().splitlines()
    assert {(r["_t"], r["_i"]) for r in map(json.loads, lines)} == {(t, i) for t in range(6) for i in range(2_000)}
    assert logmagic.stats()["main"] == {"written": 12_000, "dropped": 0}
    assert logmagic.stats()["main"]["written"] == 12_000  # reading the counter does not change it


def test_a_file_sink_keeps_its_descriptor_until_it_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    log = file_log(path)
    sink = logmagic.config.sinks()["main"]
    fd = sink.fd  # type: ignore[attr-defined]
    log.info("before")
    sink.close()
    log.info("after")  # a thread still holding the closed sink writes to the file, not elsewhere
    assert sink.fd == fd  # type: ignore[attr-defined]
    assert [json.loads(x)["short_message"] for x in path.read_text().splitlines()] == ["before", "after"]
    logmagic.register_sink("main", f"file://{tmp_path}/b.log")  # replaced: loggers let go of it
    assert open_here(path)  # this test still holds it
    del sink
    gc.collect()
    assert not open_here(path)


def test_a_user_subclass_of_the_line_sink_keeps_its_own_emit(tmp_path: Path) -> None:
    seen: list[str] = []

    class Tagged(FileSink):
        def emit(self, record: Record) -> None:
            seen.append(record.msg)
            super().emit(record)

    logmagic.register_sink("main", Tagged(str(tmp_path / "a.log")))
    logmagic.route("__root__", logmagic.INFO, "main")
    log = logmagic.local("svc")
    log.info("one")
    log.info("two")
    assert seen == ["one", "two"]


def test_loggers_of_a_facility_share_one_class_and_bind_makes_no_class() -> None:
    a, b = logmagic.local("svc.shared"), logmagic.local("svc.shared")
    bound = a.bind(accountId="ac42")
    assert type(a) is type(b) is type(bound)
    assert type(a) is not type(logmagic.local("svc.other"))
    assert isinstance(a, logmagic.LocalLogger) and a.facility == "svc.shared"


def test_a_facility_class_goes_away_with_its_last_logger() -> None:
    log = logmagic.local("svc.short-lived")
    key = (logmagic.LocalLogger, "svc.short-lived")
    assert key in logger_mod._classes
    del log
    gc.collect()
    assert key not in logger_mod._classes


class AuditLogger(logmagic.LocalLogger):
    """A user's logger class with a method of its own."""

    def audit(self, what: str) -> None:
        self.notice("audit", what=what)


def test_a_subclass_of_local_logger_keeps_its_methods_through_bind(sink: ListSink) -> None:
    log = AuditLogger("billing")
    assert isinstance(log, AuditLogger) and type(log) is not type(logmagic.local("billing"))
    log.bind(accountId="ac42").audit("refund")
    assert [(r.facility, r.msg, r.fields) for r in sink.records] == [
        ("billing", "audit", {"accountId": "ac42", "what": "refund"})
    ]


class TaggedLogger(logmagic.LocalLogger):
    """A user's logger class with an ``__init__`` that calls the base class's."""

    def __init__(self, facility: str, bound: dict[str, object] | None = None) -> None:
        super().__init__(facility, bound)
        self.tag = f"[{facility}]"

    def tagged(self, msg: str) -> None:
        self.info(f"{self.tag} {msg}")


def test_a_subclass_init_may_call_the_base_init(sink: ListSink) -> None:
    log = TaggedLogger("billing", {"accountId": "ac42"})
    log.tagged("paid")
    log.bind(step=2).tagged("shipped")
    assert [(r.msg, r.fields) for r in sink.records] == [
        ("[billing] paid", {"accountId": "ac42"}),
        ("[billing] shipped", {"accountId": "ac42", "step": 2}),
    ]


def test_a_logger_method_can_be_patched_on_one_instance(sink: ListSink) -> None:
    log, other = logmagic.local("svc.patched"), logmagic.local("svc.patched")
    seen: list[str] = []
    with mock.patch.object(log, "info", lambda msg, *a, **kw: seen.append(msg)):
        log.info("to the patch")
        other.info("to the sink")
    log.info("after")
    assert seen == ["to the patch"]
    assert [r.msg for r in sink.records] == ["to the sink", "after"]


def test_a_disabled_level_is_the_empty_method_on_the_class() -> None:
    logmagic.route("__root__", logmagic.INFO, "graylog2-stderr")
    log = logmagic.local("svc.quiet")
    assert call_paths.is_noop(type(log).debug) and not call_paths.is_noop(type(log).info)
    logmagic.route("svc.quiet", logmagic.DEBUG, "graylog2-stderr")
    assert not call_paths.is_noop(type(log).debug)


class Collected(QueuedSink):
    """A network sink whose destination is a list: what ``deliver`` got, line by line."""

    def __init__(self, encoder: Any = None) -> None:
        super().__init__(batch_size=10, batch_age=0.01, encoder=encoder)
        self.lines: list[bytes] = []

    def deliver(self, batch: list[bytes]) -> None:
        self.lines.extend(batch)


def lab_logger(facility: str, info: call_paths.Method) -> Any:
    """A logger of ``facility``'s class, with ``info`` as its INFO method."""
    log = logmagic.local(facility)
    lab_class = type("Lab", (type(log),), {"info": info})
    lab = object.__new__(lab_class)
    lab._bound = {}
    return lab


def test_a_network_sink_gets_the_lines_the_general_path_sends(frozen: float, records_made: type[Counting]) -> None:
    logmagic.route("__root__", logmagic.INFO, "console")  # any route: the test makes its own methods
    rewrite = type(logmagic.local("svc.api"))._plan[2]
    trigger = rewriters.trigger_of(rewriters.chain())
    direct, general = Collected(), Collected()
    assert call_paths.direct_gelf(direct) is direct
    logs = {
        "direct": lab_logger("svc.api", call_paths.make_direct("svc.api", logmagic.INFO, rewrite, trigger, direct)),
        "general": lab_logger(
            "svc.api", call_paths.make_plain("svc.api", logmagic.INFO, rewrite, trigger, (general.emit,))
        ),
    }
    fields = {"accountId": "ac42", "status": 200, "ratio": 0.5, "ok": True, "gone": None}
    made = {}
    for name, log in logs.items():
        with logmagic.transaction(".t"):
            log.info("warm", fields)  # the first sighting of the names goes through the encoder
            records_made.made = 0
            log.info("Something is wrong", fields)
            log.info("Something is wrong", fields, nested={"a": 1})  # not plain: the encoder's path
        made[name] = records_made.made
    assert made == {"direct": 1, "general": 2}  # the direct path made a Record for the nested one only
    assert direct.flush(5.0) and general.flush(5.0)
    assert direct.lines == general.lines and len(direct.lines) == 3
    assert direct.stats()["sent"] == 3
    line = json.loads(direct.lines[1])
    assert line["_txnId"] == ".t" and line["_accountId"] == "ac42" and line["timestamp"] == int(frozen * 1000) / 1000


def test_a_route_to_one_network_sink_queues_its_lines_without_a_record(records_made: type[Counting]) -> None:
    logmagic.register_sink("net", "http://127.0.0.1:9/ingest")  # nothing listens: the lines stay queued
    logmagic.route("__root__", logmagic.INFO, "net")
    log = logmagic.local("svc.api")
    log.info("warm", status=1)
    records_made.made = 0
    log.info("m", status=2)
    log.info("m", status=3)
    assert records_made.made == 0
    assert logmagic.stats()["net"]["queued"] == 3


def test_a_network_sink_with_its_own_emit_or_another_encoder_takes_the_general_path() -> None:
    class OwnEmit(Collected):
        def emit(self, record: Record) -> None:
            super().emit(record)

    assert call_paths.direct_gelf(OwnEmit()) is None
    assert call_paths.direct_gelf(Collected(encoder=JsonEncoder())) is None

    class LoudGelf(GelfEncoder):
        __slots__ = ()

    assert call_paths.direct_gelf(Collected(encoder=LoudGelf())) is None
