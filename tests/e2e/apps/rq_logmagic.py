"""logmagic for RQ: a job runs in the transaction it was enqueued in (the recipe of docs/jobs.md).

Producers enqueue through ``Queue(..., job_class=TxnJob)``; workers run
``rq worker --worker-class rq_logmagic.TxnWorker --job-class rq_logmagic.TxnJob``.
"""

from __future__ import annotations

from typing import Any

from rq.job import Job
from rq.worker import Worker

import logmagic
from logmagic.integrations import stdlib

#: The key of ``job.meta`` that holds the id of the transaction the job was enqueued in.
TXN_META_KEY = "txnId"


class TxnJob(Job):
    """A job that remembers the transaction current when it was made."""

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> Any:
        job = super().create(*args, **kwargs)
        txn_id = logmagic.current_txn_id()
        if txn_id is not None:
            job.meta.setdefault(TXN_META_KEY, txn_id)
        return job


class TxnWorker(Worker):
    """A worker that runs each job in its transaction, with ``rqJobId`` and ``rqJob`` on every record."""

    def work(self, *args: Any, **kwargs: Any) -> bool:
        # `rq worker` gave its logger handlers of its own: send its records through logmagic instead.
        stdlib.capture(take_over=("rq.worker",))
        return bool(super().work(*args, **kwargs))

    def perform_job(self, job: Job, *args: Any, **kwargs: Any) -> bool:
        txn_id = job.meta.get(TXN_META_KEY)
        with (
            logmagic.transaction(txn_id if isinstance(txn_id, str) else None),
            logmagic.context(rqJobId=job.id, rqJob=job.func_name),
        ):
            return bool(super().perform_job(job, *args, **kwargs))
