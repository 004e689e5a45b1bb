"""A plain WSGI app that logs with ``logging`` and calls ``capture()``, served by gunicorn.

``/hello`` runs inside logmagic's WSGI middleware; ``/unwrapped-boom`` bypasses it and raises,
so that gunicorn itself logs the exception.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import logmagic
import logmagic.web
from logmagic.integrations import stdlib

StartResponse = Callable[..., Any]

logmagic.configure(host=os.environ["APP_HOST"])
stdlib.capture("DEBUG")
log = logging.getLogger("e2e.stdlib")


def _inner(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    log.info("handled %s", environ["PATH_INFO"], extra={"step": 2})
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(logmagic.current_txn_id() or "").encode()]


_wrapped = logmagic.web.WSGIMiddleware(_inner)


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/unwrapped-boom":
        raise RuntimeError("kaboom outside the middleware")
    return _wrapped(environ, start_response)
