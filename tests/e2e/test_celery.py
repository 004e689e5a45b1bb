"""Celery end to end: a real redis-server, a real ``celery worker`` process, this process publishing.

The worker runs ``tests/e2e/apps/celery_app.py`` (``stdlib.capture()`` and ``install()``, as
docs/jobs.md says) with its stderr, logmagic's GELF lines, in a file. It is started once per
pool: ``solo`` (tasks in the worker's main thread, where the consumer also logs), ``prefork``
(tasks in forked children) and ``threads``. This process is the producer: a Celery app of its
own for the same broker, with ``install()``, publishing by task name.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery, chain

import logmagic
from logmagic import trace_context
from logmagic.integrations import celery as logmagic_celery

from .jobqueues import Record, Worker, redis_server, start_worker, worker_env

pytestmark = pytest.mark.slow

POOLS = ("solo", "prefork", "threads")
#: The host name each worker puts in the ids it makes.
HOST = {pool: f"celery-{pool}-host" for pool in POOLS}


@pytest.fixture(scope="module", params=POOLS)
def worker(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """A ``celery worker`` with the pool of the parameter, on a redis-server of its own; ready
    once it has logged Celery's "ready." record (through logmagic)."""
    pool = request.param
    workdir = tmp_path_factory.mktemp(f"celery-{pool}")
    with redis_server(workdir / "redis") as url:
        env = worker_env(HOST[pool], CELERY_BROKER_URL=url)
        argv = [
            sys.executable, "-m", "celery", "-A", "celery_app", "worker",
            "-P", pool, "-c", "2", "-l", "INFO", "-n", f"{pool}@e2e",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        proc = start_worker(f"celery-{pool}", argv, workdir, env, broker=url)
        try:
            proc.wait_for(lambda r: r.get("_facility") == "celery.apps.worker" and "ready" in r["short_message"])
            yield proc
        finally:
            proc.stop()


@pytest.fixture
def producer(worker: Worker) -> Iterator[Celery]:
    """This process as a producer for the worker's broker, with ``install()``."""
    app = Celery("producer", broker=worker.broker)
    app.conf.update(task_default_queue="e2e", broker_connection_retry_on_startup=True)
    logmagic_celery.install()
    try:
        yield app
    finally:
        logmagic_celery.uninstall()
        app.close()


def send(app: Celery, name: str, *args: Any, **options: Any) -> str:
    """Publish task ``name`` with ``args``; its id."""
    return str(app.send_task(name, args=args, **options).id)


def of_task(task_id: str, message: str | None = None, facility: str | None = None) -> Any:
    """A predicate: records of the task ``task_id`` (by ``celeryTaskId``), with ``message``
    in the text and of ``facility`` when given."""

    def pred(r: Record) -> bool:
        return (
            r.get("_celeryTaskId") == task_id
            and (message is None or message in r["short_message"])
            and (facility is None or r.get("_facility") == facility)
        )

    return pred


def one(worker: Worker, pred: Any) -> Record:
    found = worker.wait_for(pred)
    assert len(found) == 1, found
    return found[0]


def test_every_record_of_a_task_published_in_a_transaction_carries_its_txnid_and_the_task(
    worker: Worker, producer: Celery
) -> None:
    with logmagic.transaction() as txn_id:
        task_id = send(producer, "e2e.work", "in-txn")

    own = one(worker, of_task(task_id, "work", "tasks"))
    via_logging = one(worker, of_task(task_id, "work via logging in-txn", "tasks.std"))
    # Celery's own record, written by its trace module through logging and stdlib.capture().
    succeeded = one(worker, of_task(task_id, "succeeded", "celery.app.trace"))
    for record in (own, via_logging, succeeded):
        assert record["_txnId"] == txn_id
        assert record["_celeryTask"] == "e2e.work"
    assert own["_label"] == "in-txn"
    assert succeeded["level"] == 6
    assert task_id in succeeded["short_message"]


def test_a_task_published_outside_any_transaction_runs_in_a_fresh_txnid_made_by_the_worker(
    worker: Worker, producer: Celery
) -> None:
    assert logmagic.current_txn_id() is None
    first, second = send(producer, "e2e.work", "a"), send(producer, "e2e.work", "b")

    ids = [one(worker, of_task(t, "work", "tasks"))["_txnId"] for t in (first, second)]
    assert ids[0] != ids[1]
    for txn_id in ids:
        assert logmagic.parse_txn_id(txn_id).host in HOST.values()  # made in the worker, not here
    succeeded = one(worker, of_task(first, "succeeded", "celery.app.trace"))
    assert succeeded["_txnId"] == ids[0]


def test_a_task_published_by_a_task_and_the_steps_of_a_chain_carry_the_same_txnid(
    worker: Worker, producer: Celery
) -> None:
    with logmagic.transaction() as txn_id:
        parent_id = send(producer, "e2e.parent", "family")
        chain(
            producer.signature("e2e.step", args=(1, "first")),
            producer.signature("e2e.step", kwargs={"label": "second"}),
        ).apply_async()

    parent = one(worker, of_task(parent_id, "parent", "tasks"))
    child = one(worker, lambda r: r["short_message"] == "child" and r.get("_label") == "family")
    steps = worker.wait_for(lambda r: r["short_message"] == "step" and r.get("_txnId") == txn_id, count=2)
    assert parent["_txnId"] == child["_txnId"] == txn_id
    assert child["_celeryTask"] == "e2e.child" and child["_celeryTaskId"] != parent_id
    assert sorted((s["_label"], s["_value"]) for s in steps) == [("first", 1), ("second", 2)]
    assert steps[0]["_celeryTaskId"] != steps[1]["_celeryTaskId"]


def test_a_failing_task_logs_its_error_in_its_transaction_and_the_next_task_starts_clean(
    worker: Worker, producer: Celery
) -> None:
    with logmagic.transaction() as txn_id:
        failing = send(producer, "e2e.fail", "f1")
    error = one(worker, of_task(failing, "raised unexpected", "celery.app.trace"))
    assert error["_txnId"] == txn_id
    assert error["_celeryTask"] == "e2e.fail"
    assert error["level"] == 3
    assert "RuntimeError: boom f1" in error["full_message"]

    following = send(producer, "e2e.work", "after-failure")
    record = one(worker, of_task(following, "work", "tasks"))
    assert record["_txnId"] != txn_id
    # What was current in the worker thread just before the next task's scope opened: nothing.
    probe = one(worker, lambda r: r["short_message"] == "prerun probe" and r.get("_probeTaskId") == following)
    assert "_txnId" not in probe and "_celeryTaskId" not in probe and "_celeryTask" not in probe
    # The consumer's "received" record (in the solo pool, the thread that ran the failed task)
    # carries its own message's task, and no id of the failed one (its message had none).
    received = one(worker, lambda r: r.get("_facility") == "celery.worker.strategy" and following in r["short_message"])
    assert "_txnId" not in received
    assert received["_celeryTaskId"] == following and received["_celeryTask"] == "e2e.work"


def test_a_retried_task_runs_again_in_the_same_transaction(worker: Worker, producer: Celery) -> None:
    with logmagic.transaction() as txn_id:
        task_id = send(producer, "e2e.flaky", "again")

    attempts = worker.wait_for(of_task(task_id, "flaky attempt", "tasks"), count=2)
    assert sorted(a["_attempt"] for a in attempts) == [0, 1]
    assert {a["_txnId"] for a in attempts} == {txn_id}
    retry = one(worker, of_task(task_id, "retry", "celery.app.trace"))
    assert retry["_txnId"] == txn_id
    assert one(worker, of_task(task_id, "succeeded", "celery.app.trace"))["_txnId"] == txn_id


def test_a_header_the_caller_set_wins_and_an_invalid_one_is_replaced_with_a_warning(
    worker: Worker, producer: Celery
) -> None:
    given = logmagic.new_txn_id()
    with logmagic.transaction():
        explicit = send(producer, "e2e.work", "explicit", headers={"X-Txn-Id": given})
    assert one(worker, of_task(explicit, "work", "tasks"))["_txnId"] == given

    forged = send(producer, "e2e.work", "forged", headers={"X-Txn-Id": 'bad id\n{"forged":1}'})
    record = one(worker, of_task(forged, "work", "tasks"))
    assert record["_txnId"].startswith(".rh-") and "\n" not in record["_txnId"]
    warning = one(worker, of_task(forged, "replaced an invalid inbound transaction id", "logmagic.celery"))
    assert warning["level"] == 4
    assert warning["_txnId"] == record["_txnId"]
    assert warning["_inbound"] == 'bad id\\n{"forged":1}'


def test_a_task_published_in_a_trace_continues_it_in_the_worker(worker: Worker, producer: Celery) -> None:
    # What the web middleware makes current for a request that came with a traceparent.
    trace = trace_context.parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    token = trace_context.set_current(trace)
    try:
        with logmagic.transaction() as txn_id:
            task_id = send(producer, "e2e.work", "traced")
    finally:
        trace_context.reset_current(token)

    record = one(worker, of_task(task_id, "work", "tasks"))
    assert record["_txnId"] == txn_id
    assert record["_trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert record["_span_id"] not in ("00f067aa0ba902b7", None)  # the task's own span in that trace


def test_the_worker_writes_only_gelf_records_on_stderr_celerys_included(worker: Worker, producer: Celery) -> None:
    task_id = send(producer, "e2e.work", "last")
    one(worker, of_task(task_id, "succeeded", "celery.app.trace"))
    records = worker.records()  # fails on any line that is not a GELF record
    facilities = {r.get("_facility") for r in records}
    assert {"celery.apps.worker", "celery.worker.strategy", "celery.app.trace", "tasks"} <= facilities
