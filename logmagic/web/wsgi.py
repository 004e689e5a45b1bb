"""WSGI middleware: a transaction id per request, current for the whole request.

The id is accepted from a valid inbound ``X-Txn-Id`` (configurable) or made fresh, exposed to
the app as ``environ["logmagic.txn_id"]``, current (``logmagic.current_txn_id()``) while the app
runs and while its response body is iterated, returned as ``X-Response-Id`` and written on
one access record when the response ends. An unhandled exception becomes an ERR record with the
traceback and a 500 response that carries the id.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import Context, copy_context
from types import TracebackType
from typing import Any

from logmagic import txn
from logmagic.api import local  # the runtime: the configuration and the exit flush come with it
from logmagic.levels import ERR
from logmagic.request import ENVIRON_KEY, environ_path
from logmagic.web._common import Options, access_level, begin, error_body

__all__ = ["ExcInfo", "StartResponse", "WSGIApp", "WSGIMiddleware"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType]


class WSGIMiddleware:
    """Wrap a WSGI app: ``app = logmagic.web.WSGIMiddleware(app, inbound_headers=["X-Txn-Id"])``."""

    def __init__(self, app: WSGIApp, **options: Any) -> None:
        self.app = app
        self.options = Options.make(**options)
        self.log = local(self.options.facility)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        ctx = copy_context()
        return ctx.run(self._call, ctx, environ, start_response)

    def _call(self, ctx: Context, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        inbound = begin(self.options, lambda name: environ.get(_environ_key(name)), self.log)
        inbound.activate()  # in ``ctx``, a copy of the server's context: nothing to undo
        txn_id = inbound.txn_id
        environ[ENVIRON_KEY] = txn_id
        state = _Exchange(self, ctx, environ, txn_id, inbound.response_header)

        def start(status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None) -> Any:
            state.status = _status_code(status)
            headers = [*headers, (state.response_header, txn_id)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            body = self.app(environ, start)
        except Exception:
            self.log.exception("unhandled exception in the application", {"request": environ})
            return state.error_page(start_response)
        return _Body(state, body)


def _environ_key(header: str) -> str:
    """The WSGI environ key of a request header (servers join repeated headers with ``,``)."""
    return "HTTP_" + header.upper().replace("-", "_")


def _status_code(status: str) -> int | None:
    try:
        return int(status.split(" ", 1)[0])
    except ValueError:
        return None


class _Exchange:
    """One request's state, shared by the middleware call and the body iterator."""

    def __init__(
        self, mw: WSGIMiddleware, ctx: Context, environ: dict[str, Any], txn_id: str, response_header: str
    ) -> None:
        self.mw = mw
        self.ctx = ctx
        self.environ = environ
        self.txn_id = txn_id
        self.response_header = response_header
        self.started = time.perf_counter()
        self.status: int | None = None
        self.bytes = 0
        self.aborted = False
        self.logged = False

    def error_page(self, start_response: StartResponse) -> list[bytes]:
        body, ctype = error_body(self.txn_id, self.environ.get("HTTP_ACCEPT", ""))
        headers = [
            ("Content-Type", ctype),
            ("Content-Length", str(len(body))),
            (self.response_header, self.txn_id),
        ]
        if self.status is None:
            start_response("500 Internal Server Error", headers)
        else:  # the app had called start_response: replacing its headers needs exc_info
            start_response("500 Internal Server Error", headers, sys.exc_info())
        self.status = 500
        self.bytes = len(body)
        self.finish()
        return [body]

    def finish(self) -> None:
        """Write the access record, once; the request's transaction ends with it (its flight
        recorder, if any, throws away what it kept: an error was written already)."""
        try:
            self._access_record()
        finally:
            txn.end_current()

    def _access_record(self) -> None:
        if self.logged or not self.mw.options.access_log:
            return
        self.logged = True
        env = self.environ
        method = env.get("REQUEST_METHOD", "")
        path = environ_path(env)
        extra = {"aborted": True} if self.aborted else {}
        self.mw.log.log(
            ERR if self.aborted else access_level(self.status),
            f"{method} {path} {self.status if self.status is not None else '-'}",
            {"request": env},
            status=self.status,
            duration_ms=round((time.perf_counter() - self.started) * 1000, 3),
            bytes=self.bytes,
            **extra,
        )


class _Body:
    """The app's response body, iterated inside the request's context and counted."""

    def __init__(self, state: _Exchange, body: Iterable[bytes]) -> None:
        self.state = state
        self.body = body
        self.it: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        state = self.state
        try:
            if self.it is None:
                self.it = state.ctx.run(iter, self.body)
            chunk: bytes = state.ctx.run(next, self.it)
        except StopIteration:
            raise
        except Exception:
            state.aborted = True
            state.ctx.run(
                state.mw.log.exception,
                "unhandled exception after the response started; the connection is closed",
                {"request": state.environ},
            )
            raise
        state.bytes += len(chunk)
        return chunk

    def close(self) -> None:
        state = self.state
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                state.ctx.run(close)
        finally:
            state.ctx.run(state.finish)
