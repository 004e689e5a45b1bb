"""Flask: ``logmagic.web.flask.init_app(app)``.

``init_app`` wraps ``app.wsgi_app`` in ``WSGIMiddleware`` (so ``flask run``, gunicorn and
``app.test_client()`` all go through it: the id, ``X-Response-Id``, the access record) and
hooks Flask's own exception handling, which otherwise catches an unhandled exception before
the middleware sees it:

* Flask's ``log_exception`` is replaced: the exception is written once, as the middleware's
  ERR record "unhandled exception in the application" with the traceback and the id, instead
  of Flask's "Exception on /path [GET]" without the id. A ``log_exception`` of the app's own
  class is still called after it.
* A 500 error handler answers with the page that carries the id (JSON or text, as the client
  accepts), unless the app registers a 500 handler of its own (before or after ``init_app``);
  ``abort(500)`` keeps Werkzeug's page.
* Where Flask propagates exceptions (``PROPAGATE_EXCEPTIONS = True``), the middleware writes
  the record and the page. In debug and testing mode, where Flask propagates them by default
  for the debugger and the test client, the exception is raised again after that, as Flask
  would: the debugger shows it and the test sees it.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from flask import Flask, Response, current_app, got_request_exception, request
from werkzeug.exceptions import InternalServerError

from logmagic.levels import ERR
from logmagic.request import ENVIRON_KEY
from logmagic.web._common import error_body
from logmagic.web.wsgi import StartResponse, WSGIMiddleware

__all__ = ["EXTENSION", "init_app"]

#: The key of ``app.extensions`` holding the app's ``WSGIMiddleware``.
EXTENSION = "logmagic"
#: The environ key of an exception Flask propagates in debug or testing mode, raised again
#: outside the middleware.
_RERAISE = "logmagic.flask.reraise"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


def init_app(app: Flask, **options: Any) -> WSGIMiddleware:
    """Give ``app`` logmagic's middleware and exception handling; returns the middleware.

    ``options`` are the keywords of ``WSGIMiddleware`` (``inbound_headers``, ``facility``...).
    Calling it twice for one app is a ``RuntimeError``: the middleware would wrap itself.
    """
    if not isinstance(app, Flask):
        raise TypeError(f"init_app needs a Flask app, got {type(app).__name__}")
    if EXTENSION in app.extensions:
        raise RuntimeError("logmagic.web.flask.init_app was already called for this app")
    mw = WSGIMiddleware(app.wsgi_app, **options)
    app.extensions[EXTENSION] = mw
    app.wsgi_app = _Reraise(mw)  # type: ignore[method-assign]
    own_log_exception = type(app).log_exception if type(app).log_exception is not Flask.log_exception else None

    def log_exception(exc_info: ExcInfo) -> None:
        exc = exc_info[1]
        if exc is None:
            return
        full = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        mw.log.forward(ERR, "unhandled exception in the application", {"request": request.environ}, full_message=full)
        if own_log_exception is not None:
            own_log_exception(app, exc_info)

    app.log_exception = log_exception  # type: ignore[method-assign]
    if InternalServerError not in app.error_handler_spec[None][500]:
        app.register_error_handler(InternalServerError, _error_page)
    got_request_exception.connect(_note_propagated, app, weak=False)
    return mw


def _error_page(error: InternalServerError) -> Response | InternalServerError:
    """The 500 page of an unhandled exception, carrying the id; ``abort(500)`` is left as it is."""
    txn_id = request.environ.get(ENVIRON_KEY)
    if error.original_exception is None or not isinstance(txn_id, str):
        return error
    body, ctype = error_body(txn_id, request.headers.get("Accept", ""))
    return current_app.response_class(body, 500, content_type=ctype)


def _note_propagated(sender: Flask, exception: Exception, **extra: Any) -> None:
    """Flask's ``got_request_exception``: remember an exception Flask is about to propagate
    because it is in debug or testing mode, to raise it again outside the middleware."""
    if sender.config["PROPAGATE_EXCEPTIONS"] is None and (sender.testing or sender.debug):
        request.environ[_RERAISE] = exception


class _Reraise:
    """``app.wsgi_app``: the middleware, and then the exception Flask meant to propagate."""

    def __init__(self, mw: WSGIMiddleware) -> None:
        self.mw = mw

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = self.mw(environ, start_response)
        exc = environ.pop(_RERAISE, None)
        if isinstance(exc, BaseException):
            close = getattr(body, "close", None)
            if close is not None:
                close()  # the access record of the 500, written by the middleware
            raise exc
        return body
