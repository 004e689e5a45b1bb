"""The Celery app of the end-to-end tests, run by a real ``celery -A celery_app worker``.

Set up as docs/jobs.md says: ``stdlib.capture()`` and ``install()`` where the app is defined.
The broker is ``$CELERY_BROKER_URL`` (a redis-server the test started). The tasks log through a
logmagic logger (``tasks``) and through ``logging`` (``tasks.std``), so that both kinds of
record are checked. ``probe`` is a ``task_prerun`` receiver connected *before* ``install()``, so
it runs before the task's scope is opened: its record shows what is current in the worker
thread between tasks (nothing, unless a scope leaked from an earlier task).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, signals

import logmagic
from logmagic.integrations import celery as logmagic_celery
from logmagic.integrations import stdlib

# Celery warns with the warnings module when it runs as root: as a record, not a plain line.
logging.captureWarnings(True)
logmagic.configure(host=os.environ["APP_HOST"])

app = Celery("celery_app", broker=os.environ["CELERY_BROKER_URL"])
app.conf.update(broker_connection_retry_on_startup=True, task_default_queue="e2e")

log = logmagic.local("tasks")
std = logging.getLogger("tasks.std")


@signals.task_prerun.connect(weak=False)
def probe(task_id: str | None = None, **_: Any) -> None:
    log.info("prerun probe", probeTaskId=task_id)


stdlib.capture()
logmagic_celery.install()


@app.task(name="e2e.work")
def work(label: str) -> str:
    log.info("work", label=label)
    std.info("work via logging %s", label)
    return label


@app.task(name="e2e.parent")
def parent(label: str) -> None:
    log.info("parent", label=label)
    child.delay(label)


@app.task(name="e2e.child")
def child(label: str) -> None:
    log.info("child", label=label)


@app.task(name="e2e.step")
def step(value: int, label: str) -> int:
    log.info("step", label=label, value=value)
    return value + 1


@app.task(name="e2e.fail")
def fail(label: str) -> None:
    log.info("about to fail", label=label)
    raise RuntimeError(f"boom {label}")


@app.task(name="e2e.flaky", bind=True, max_retries=1)
def flaky(self: Any, label: str) -> str:
    log.info("flaky attempt", label=label, attempt=self.request.retries)
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return label
