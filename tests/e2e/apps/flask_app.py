"""A Flask app with ``logmagic.web.flask.init_app``, served by gunicorn in the e2e tests.

Flask handles its exceptions itself (no ``PROPAGATE_EXCEPTIONS``): the hook of ``init_app``
writes the error record and the 500 page. ``logging`` is captured, so that a record Flask
wrote of its own would be seen too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, request

import logmagic
import logmagic.web.flask
from logmagic.integrations import stdlib

logmagic.configure(host=os.environ["APP_HOST"], env=True)
stdlib.capture()
log = logmagic.local("e2e.flask")

app = Flask("e2e_flask")
logmagic.web.flask.init_app(app, inbound_headers=("X-Txn-Id", "X-Request-Id"))


@app.get("/ready")
def ready() -> dict[str, bool]:
    return {"ready": True}


@app.get("/hello")
def hello() -> dict[str, Any]:
    log.info("plain record in the view")
    log.info("record with the request", {"request": request}, step=2)
    return {
        "app_txn_id": request.environ.get("logmagic.txn_id"),
        "current": logmagic.current_txn_id(),
        "inbound": request.headers.get("X-Txn-Id"),
        "pid": os.getpid(),
    }


@app.get("/slow")
def slow() -> dict[str, Any]:
    time.sleep(float(request.args.get("s", "0.3")))  # keeps this worker busy so the next request goes to another
    log.info("slow request done")
    return {"current": logmagic.current_txn_id(), "pid": os.getpid()}


@app.get("/boom")
def boom() -> dict[str, Any]:
    log.info("about to fail")
    raise RuntimeError("kaboom from the flask app")


@app.get("/abort-500")
def abort_500() -> dict[str, Any]:
    abort(500)


@app.get("/stream")
def stream() -> Response:
    def chunks() -> Iterator[str]:
        for i in range(5):
            log.info("wsgi chunk", chunk=i)
            yield f"{i}:{logmagic.current_txn_id()}\n"

    return Response(chunks(), mimetype="text/plain")


@app.get("/stream-fail")
def stream_fail() -> Response:
    def chunks() -> Iterator[str]:
        yield "first\n"
        yield "second\n"
        raise RuntimeError("the stream broke")

    return Response(chunks(), mimetype="text/plain")
