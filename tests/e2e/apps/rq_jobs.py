"""The jobs of the RQ end-to-end tests (tests/e2e/test_rq.py), run by ``rq worker`` with the
recipe of docs/jobs.md (``rq_logmagic``). They log through a logmagic logger (``jobs``) and
through ``logging`` (``jobs.std``)."""

from __future__ import annotations

import logging

from rq import Queue, get_current_job
from rq_logmagic import TxnJob

import logmagic

log = logmagic.local("jobs")
std = logging.getLogger("jobs.std")


def work(label: str) -> str:
    log.info("work", label=label)
    std.info("work via logging %s", label)
    return label


def parent(label: str) -> None:
    log.info("parent", label=label)
    job = get_current_job()
    assert job is not None
    Queue(job.origin, connection=job.connection, job_class=TxnJob).enqueue(child, label)


def child(label: str) -> None:
    log.info("child", label=label)


def fail(label: str) -> None:
    log.info("about to fail", label=label)
    raise RuntimeError(f"boom {label}")
