"""logmagic.integrations.celery in one process: the receivers, the message headers (kombu's
in-memory transport), tasks run eagerly, and the take-over of Celery's logging setup.

A worker process, redis and the pools are in tests/e2e/test_celery.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery, signals

import logmagic
from logmagic import trace_context
from logmagic.integrations import celery as logmagic_celery
from logmagic.integrations import stdlib
from tests.conftest import ListSink

SIGNALS = {
    "publish": signals.before_task_publish,
    "prerun": signals.task_prerun,
    "postrun": signals.task_postrun,
    "logging": signals.setup_logging,
}


@pytest.fixture(autouse=True)
def _uninstall() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    logmagic_celery.uninstall()
    stdlib.uncapture()
    root.setLevel(level)


def connected(kind: str) -> int:
    """How many receivers of ``install()`` the signal has (by their ``dispatch_uid``)."""
    uid = logmagic_celery._UIDS[kind]
    return sum(1 for key, _ in SIGNALS[kind].receivers if key[0] == uid)


@pytest.fixture
def app() -> Iterator[Celery]:
    """An app on kombu's in-memory broker, with one task of each kind the tests need."""
    app = Celery("unit", broker="memory://")
    app.conf.update(task_default_queue="unit", task_always_eager=True)
    log = logmagic.local("unit.tasks")

    @app.task(name="unit.work", shared=False)
    def work(label: str) -> str:
        log.info("work", label=label)
        return label

    @app.task(name="unit.outer", shared=False)
    def outer() -> None:
        log.info("outer before")
        work.apply(args=("inner",))
        log.info("outer after")

    @app.task(name="unit.fail", shared=False)
    def fail() -> None:
        log.info("failing")
        raise RuntimeError("boom")

    yield app
    app.close()


def published(app: Celery, send: Any) -> dict[str, Any]:
    """The headers of the message ``send()`` publishes, read back from the broker."""
    app.conf.task_always_eager = False
    send()
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue("unit")
        message = queue.get(timeout=5)
        message.ack()
        queue.close()
    return dict(message.headers)


def by_msg(sink: ListSink, msg: str) -> dict[str, Any]:
    found = [r.fields for r in sink.records if r.msg == msg]
    assert len(found) == 1, [(r.msg, r.fields) for r in sink.records]
    return found[0]


# -- install() ----------------------------------------------------------------------------------


def test_install_connects_each_receiver_once_however_often_it_is_called() -> None:
    logmagic_celery.install()
    logmagic_celery.install()
    assert logmagic_celery.installed()
    assert {kind: connected(kind) for kind in SIGNALS} == {"publish": 1, "prerun": 1, "postrun": 1, "logging": 1}


def test_uninstall_disconnects_them_all() -> None:
    logmagic_celery.install()
    logmagic_celery.uninstall()
    assert not logmagic_celery.installed()
    assert {kind: connected(kind) for kind in SIGNALS} == {"publish": 0, "prerun": 0, "postrun": 0, "logging": 0}


def test_take_over_logging_false_leaves_celerys_logging_setup_alone_and_the_last_call_decides() -> None:
    logmagic_celery.install()
    logmagic_celery.install(take_over_logging=False)
    assert connected("logging") == 0
    assert connected("prerun") == 1
    logmagic_celery.install()
    assert connected("logging") == 1


def test_install_refuses_a_take_over_logging_that_is_not_a_bool() -> None:
    with pytest.raises(TypeError, match="take_over_logging must be True or False, got 'no'"):
        logmagic_celery.install(take_over_logging="no")  # type: ignore[arg-type]
    assert connected("prerun") == 0


# -- publishing ---------------------------------------------------------------------------------


def test_a_message_published_in_a_transaction_carries_its_id(app: Celery) -> None:
    logmagic_celery.install()
    with logmagic.transaction() as txn_id:
        headers = published(app, lambda: app.send_task("unit.work", args=("x",)))
    assert headers["X-Txn-Id"] == txn_id


def test_a_message_published_outside_a_transaction_carries_no_id(app: Celery) -> None:
    logmagic_celery.install()
    headers = published(app, lambda: app.send_task("unit.work", args=("x",)))
    assert not {name.lower() for name in headers} & {"x-txn-id"}


def test_a_header_the_caller_set_is_left_alone_in_any_case(app: Celery) -> None:
    logmagic_celery.install()
    with logmagic.transaction():
        headers = published(app, lambda: app.send_task("unit.work", args=("x",), headers={"x-txn-id": "mine"}))
    assert [(k, v) for k, v in headers.items() if k.lower() == "x-txn-id"] == [("x-txn-id", "mine")]


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def in_a_trace() -> Iterator[None]:
    """A current trace context, as the web middleware sets one for a request with a traceparent."""
    token = trace_context.set_current(trace_context.parse_traceparent(TRACEPARENT, "vendor=abc"))
    yield
    trace_context.reset_current(token)


def test_a_message_published_in_a_trace_carries_its_traceparent_and_tracestate(app: Celery, in_a_trace: None) -> None:
    logmagic_celery.install()
    with logmagic.transaction() as txn_id:
        headers = published(app, lambda: app.send_task("unit.work", args=("x",)))
    assert (headers["X-Txn-Id"], headers["traceparent"], headers["tracestate"]) == (txn_id, TRACEPARENT, "vendor=abc")


def test_a_traceparent_the_caller_set_keeps_its_own_tracestate(app: Celery, in_a_trace: None) -> None:
    logmagic_celery.install()
    mine = "00-11111111111111111111111111111111-2222222222222222-00"
    headers = published(app, lambda: app.send_task("unit.work", args=("x",), headers={"Traceparent": mine}))
    assert headers["Traceparent"] == mine
    assert "traceparent" not in headers and "tracestate" not in headers


def test_without_install_nothing_is_added(app: Celery) -> None:
    with logmagic.transaction():
        headers = published(app, lambda: app.send_task("unit.work", args=("x",)))
    assert "X-Txn-Id" not in headers


# -- tasks run eagerly: the scope opened by task_prerun and closed by task_postrun ---------------


def test_an_eager_task_runs_in_the_callers_transaction_with_its_fields(app: Celery, sink: ListSink) -> None:
    logmagic_celery.install()
    with logmagic.transaction() as txn_id:
        result = app.tasks["unit.work"].delay("eager")
        assert logmagic.current_txn_id() == txn_id
        assert logmagic.context_fields() == {}
    fields = by_msg(sink, "work")
    assert fields["txnId"] == txn_id
    assert fields["celeryTaskId"] == result.id
    assert fields["celeryTask"] == "unit.work"
    assert logmagic.current_txn_id() is None


def test_an_eager_task_outside_a_transaction_gets_a_fresh_id_that_ends_with_it(app: Celery, sink: ListSink) -> None:
    logmagic_celery.install()
    app.tasks["unit.work"].delay("a")
    app.tasks["unit.work"].delay("b")
    ids = [r.fields["txnId"] for r in sink.records if r.msg == "work"]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert all(logmagic.parse_txn_id(t) for t in ids)
    assert logmagic.current_txn_id() is None and logmagic.context_fields() == {}


def test_a_header_given_to_an_eager_task_wins_over_the_callers_transaction(app: Celery, sink: ListSink) -> None:
    logmagic_celery.install()
    with logmagic.transaction():
        app.tasks["unit.work"].apply(args=("h",), headers={"X-Txn-Id": "given-by-header"})
    assert by_msg(sink, "work")["txnId"] == "given-by-header"


def test_a_valid_header_is_used_even_where_inbound_ids_are_not_trusted(app: Celery, sink: ListSink) -> None:
    """``trust_inbound=False`` is for a web edge facing clients; task messages come from the
    application's own producers."""
    logmagic.configure(trust_inbound=False)
    logmagic_celery.install()
    app.tasks["unit.work"].apply(args=("h",), headers={"X-Txn-Id": "from-the-producer"})
    fields = by_msg(sink, "work")
    assert fields["txnId"] == "from-the-producer"
    assert "clientTxnId" not in fields


def test_a_traceparent_header_is_continued_as_the_web_middleware_continues_one(app: Celery, sink: ListSink) -> None:
    logmagic_celery.install()
    app.tasks["unit.work"].apply(args=("t",), headers={"traceparent": TRACEPARENT})
    fields = by_msg(sink, "work")
    assert fields["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert len(fields["span_id"]) == 16 and fields["span_id"] != "00f067aa0ba902b7"  # the task's own span


def test_a_task_run_inside_a_task_has_its_own_fields_and_the_outer_ones_come_back(app: Celery, sink: ListSink) -> None:
    logmagic_celery.install()
    with logmagic.transaction() as txn_id:
        outer_id = app.tasks["unit.outer"].delay().id
    before, inner, after = by_msg(sink, "outer before"), by_msg(sink, "work"), by_msg(sink, "outer after")
    assert before["celeryTaskId"] == after["celeryTaskId"] == outer_id
    assert after["celeryTask"] == "unit.outer"
    assert inner["celeryTask"] == "unit.work" and inner["celeryTaskId"] != outer_id
    assert before["txnId"] == inner["txnId"] == after["txnId"] == txn_id


def test_a_failing_task_leaves_nothing_in_force(app: Celery, sink: ListSink) -> None:
    logmagic_celery.install()
    with logmagic.context(request="r1"):
        result = app.tasks["unit.fail"].apply()
        assert result.failed()
        assert logmagic.context_fields() == {"request": "r1"}
        assert logmagic.current_txn_id() is None
    failing = by_msg(sink, "failing")
    assert failing["celeryTask"] == "unit.fail"
    assert failing["request"] == "r1"  # fields in force where the task was called stay under it


def test_without_install_a_task_gets_no_fields(app: Celery, sink: ListSink) -> None:
    app.tasks["unit.work"].delay("plain")
    assert "celeryTaskId" not in by_msg(sink, "work")


# -- Celery's logging setup ---------------------------------------------------------------------


def setup_logging(loglevel: int, logfile: str | None = None) -> None:
    """What a worker does at start, the signal part (Celery's own setup is once per process)."""
    signals.setup_logging.send(sender=None, loglevel=loglevel, logfile=logfile, format="%(message)s", colorize=False)


def ours() -> list[stdlib.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, stdlib.Handler)]


def test_the_worker_captures_logging_at_its_loglevel_when_nothing_did(sink: ListSink) -> None:
    logmagic_celery.install()
    setup_logging(logging.INFO)
    assert [h.level for h in ours()] == [logging.INFO]
    logging.getLogger("celery.worker").info("ready")
    assert [r.msg for r in sink.records] == ["ready"]


def test_the_worker_loglevel_makes_an_existing_capture_more_verbose_never_less() -> None:
    logmagic_celery.install()
    stdlib.capture("INFO")
    setup_logging(logging.WARNING)
    assert [h.level for h in ours()] == [logging.INFO]
    setup_logging(logging.DEBUG)
    assert [h.level for h in ours()] == [logging.DEBUG]
    assert logging.getLogger().level == logging.DEBUG


def test_a_logfile_given_to_the_worker_is_not_written_and_a_warning_says_so(sink: ListSink) -> None:
    logmagic_celery.install()
    setup_logging(logging.INFO, logfile="/var/log/celery.log")
    warning = [r for r in sink.records if r.facility == logmagic_celery.FACILITY]
    assert [(r.level, r.fields["logfile"]) for r in warning] == [(logmagic.WARNING, "/var/log/celery.log")]
