"""The middle of the four-process chain test: a Flask service under gunicorn, set up with
``logmagic.web.flask.init_app``, that publishes a Celery task (``e2e.work`` of
``celery_app``) with logmagic's Celery integration installed."""

from __future__ import annotations

import os

from celery import Celery
from flask import Flask

import logmagic
import logmagic.web.flask
from logmagic.integrations import celery as logmagic_celery

logmagic.configure(host=os.environ["APP_HOST"], env=True)
log = logmagic.local("chain.orders")

celery = Celery("chain_flask", broker=os.environ["CELERY_BROKER_URL"])
celery.conf.update(task_default_queue="e2e", broker_connection_retry_on_startup=True)
logmagic_celery.install()

app = Flask(__name__)
logmagic.web.flask.init_app(app)


@app.get("/ready")
def ready() -> dict[str, bool]:
    return {"ready": True}


@app.post("/orders")
def orders() -> dict[str, str]:
    log.info("queueing the order's work")
    result = celery.send_task("e2e.work", args=["chain"])
    log.info("queued", task=result.id)
    return {"task": str(result.id)}
