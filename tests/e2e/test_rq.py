"""RQ end to end, the recipe of docs/jobs.md: a real redis-server, a real ``rq worker``.

This process enqueues through ``Queue(job_class=TxnJob)`` (``tests/e2e/apps/rq_logmagic.py``,
the recipe as the docs show it); then ``rq worker --burst`` with the recipe's worker and job
classes runs every job and exits. Its stderr, logmagic's GELF lines, is read afterwards. The
default worker forks a work horse per job, so the job runs in a process of its own.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from rq import Queue

import logmagic

from .apps.rq_logmagic import TxnJob
from .jobqueues import Record, gelf_records, redis_server, worker_env

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parent.parent.parent / "docs" / "jobs.md"
RECIPE = Path(__file__).parent / "apps" / "rq_logmagic.py"
#: ``LOGMAGIC_VERSION`` of the worker's environment (``worker_env``): the ``v-`` of the ids it makes.
WORKER_VERSION = "e2e-1.0"


def run_rq_worker(tmp_path: Path, enqueue: Callable[[Queue], None]) -> list[Record]:
    """Enqueue with ``enqueue`` on a fresh redis-server, run ``rq worker --burst`` until the
    queue is empty, and return the records of its stderr (each line must be a GELF record)."""
    with redis_server(tmp_path / "redis") as url:
        connection = redis.Redis.from_url(url)
        try:
            enqueue(Queue("e2e", connection=connection, job_class=TxnJob))
        finally:
            connection.close()
        rq = str(Path(sys.executable).parent / "rq")
        argv = [
            rq, "worker", "--burst", "--url", url, "--name", "e2e-rq",
            "--worker-class", "rq_logmagic.TxnWorker", "--job-class", "rq_logmagic.TxnJob", "e2e",
        ]  # fmt: skip
        err, out = tmp_path / "rq.err", tmp_path / "rq.out"
        with err.open("wb") as stderr, out.open("wb") as stdout:
            done = subprocess.run(
                argv, env=worker_env("rq-host"), stdout=stdout, stderr=stderr, timeout=120, check=False
            )
        assert done.returncode == 0, f"rq worker exited {done.returncode}\n{out.read_text()}\n{err.read_text()}"
        return gelf_records(err)


def only(records: list[Record], pred: Callable[[Record], bool]) -> Record:
    found = [r for r in records if pred(r)]
    assert len(found) == 1, found
    return found[0]


def test_jobs_run_in_the_transaction_they_were_enqueued_in_with_rq_own_records(tmp_path: Path) -> None:
    ids: dict[str, str] = {}

    def enqueue(queue: Queue) -> None:
        with logmagic.transaction() as txn_id:
            ids["txn"] = txn_id
            ids["work"] = queue.enqueue("rq_jobs.work", "in-txn").id
            ids["parent"] = queue.enqueue("rq_jobs.parent", "family").id
            first = queue.enqueue("rq_jobs.work", "first-step")
            ids["second"] = queue.enqueue("rq_jobs.work", "second-step", depends_on=first).id
        ids["outside1"] = queue.enqueue("rq_jobs.work", "outside-1").id
        ids["outside2"] = queue.enqueue("rq_jobs.work", "outside-2").id

    records = run_rq_worker(tmp_path, enqueue)
    txn_id = ids["txn"]

    work = only(records, lambda r: r["short_message"] == "work" and r.get("_label") == "in-txn")
    via_logging = only(records, lambda r: r["short_message"] == "work via logging in-txn")
    # rq's own record of the job's success, written in the work horse through logging.
    job_ok = only(
        records, lambda r: r.get("_facility") == "rq.worker" and f"Job OK ({ids['work']})" in r["short_message"]
    )
    for record in (work, via_logging, job_ok):
        assert record["_txnId"] == txn_id
        assert record["_rqJobId"] == ids["work"]
        assert record["_rqJob"] == "rq_jobs.work"

    # A job enqueued by a job, and a job that depended on another: the same transaction.
    parent = only(records, lambda r: r["short_message"] == "parent")
    child = only(records, lambda r: r["short_message"] == "child")
    second = only(records, lambda r: r.get("_label") == "second-step" and r["short_message"] == "work")
    assert parent["_txnId"] == child["_txnId"] == second["_txnId"] == txn_id
    assert parent["_rqJobId"] == ids["parent"] and child["_rqJobId"] not in (ids["parent"], None)
    assert second["_rqJobId"] == ids["second"]

    # Enqueued outside any transaction: a fresh id each, made in the worker.
    outside = [
        only(records, lambda r, n=n: r.get("_label") == f"outside-{n}" and r["short_message"] == "work") for n in (1, 2)
    ]
    assert outside[0]["_txnId"] != outside[1]["_txnId"]
    assert txn_id not in {o["_txnId"] for o in outside}
    for record in outside:  # made in the worker, whose version is the environment's, not here
        assert logmagic.parse_txn_id(record["_txnId"]).version == WORKER_VERSION


def test_a_failing_job_logs_its_traceback_in_its_transaction_and_the_next_job_starts_clean(tmp_path: Path) -> None:
    ids: dict[str, str] = {}

    def enqueue(queue: Queue) -> None:
        with logmagic.transaction() as txn_id:
            ids["txn"] = txn_id
            ids["fail"] = queue.enqueue("rq_jobs.fail", "f1").id
        ids["next"] = queue.enqueue("rq_jobs.work", "after-failure").id

    records = run_rq_worker(tmp_path, enqueue)

    error = only(
        records, lambda r: r.get("_facility") == "rq.worker" and r["level"] == 3 and ids["fail"] in r["short_message"]
    )
    assert error["_txnId"] == ids["txn"]
    assert error["_rqJob"] == "rq_jobs.fail"
    assert "RuntimeError: boom f1" in error.get("full_message", "") + error["short_message"]

    following = only(records, lambda r: r.get("_label") == "after-failure" and r["short_message"] == "work")
    assert following["_txnId"] != ids["txn"] and following["_rqJobId"] == ids["next"]
    # The worker's own record of taking the next job off the queue: outside any job.
    taken = f"e2e: rq_jobs.work('after-failure') ({ids['next']})"
    dequeued = only(records, lambda r: r.get("_facility") == "rq.worker" and r["short_message"].endswith(taken))
    assert "_txnId" not in dequeued and "_rqJobId" not in dequeued


def test_the_recipe_in_the_docs_is_the_module_the_tests_run() -> None:
    """docs/jobs.md shows the recipe's code; the tests run tests/e2e/apps/rq_logmagic.py."""
    docs = DOCS.read_text(encoding="utf-8")
    code = RECIPE.read_text(encoding="utf-8").split('"""', 2)[2].strip()  # without the module docstring
    assert code in docs
