"""ASGI middleware: a transaction id per HTTP or websocket connection; lifespan passes through.

The id is accepted from a valid inbound ``X-Txn-Id`` (configurable) or made fresh, exposed to
the app as ``scope["state"]["txn_id"]`` (Starlette: ``request.state.txn_id``), current
(``logmagic.current_txn_id()``) for the whole request including streamed bodies, returned as
``X-Response-Id`` (also on a websocket's accept) and written on one access record at the end.
An unhandled exception becomes an ERR record with the traceback and, if nothing was sent yet,
a 500 response carrying the id; if the response had started, the error is logged and the
connection is closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from logmagic.api import local  # the runtime: the configuration and the exit flush come with it
from logmagic.levels import ERR
from logmagic.loop_watch import watch_event_loop
from logmagic.request import STATE_KEY, scope_path
from logmagic.web._common import Options, access_level, begin, error_body

__all__ = ["ASGIApp", "ASGIMiddleware", "Message", "Receive", "Scope", "Send"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: An app the middleware wraps. Frameworks annotate the scope and messages each their own way
#: (Starlette a ``MutableMapping``, Django a ``dict``, asgiref ``TypedDict`` unions), so they are
#: ``Any`` here, as in Starlette's own middleware factory: every framework's app is accepted, and
#: the middleware is itself an app of this type.
ASGIApp = Callable[[Any, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class ASGIMiddleware:
    """Wrap an ASGI app: ``app = logmagic.web.ASGIMiddleware(app, inbound_headers=["X-Txn-Id"])``.

    The options are named keywords, not ``**options``: Starlette's and FastAPI's
    ``add_middleware(ASGIMiddleware, ...)`` and ``Middleware(ASGIMiddleware, ...)`` type their
    arguments by this signature, which a ``**options: Any`` does not satisfy (it would also take
    a second ``app``), and a misspelt option is a type error there too.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        inbound_headers: Iterable[str] | str | None = None,
        response_header: str | None = None,
        facility: str = Options.facility,
        access_log: bool = Options.access_log,
        trust_inbound: bool | None = None,
        watch_loop: bool | float = False,
    ) -> None:
        self.app = app
        self.options = Options.make(inbound_headers, response_header, facility, access_log, trust_inbound)
        self.log = local(self.options.facility)
        #: ``watch_loop``: the stall threshold in seconds (``True``: 0.1), or 0 for no watch.
        self.watch_threshold = 0.1 if watch_loop is True else float(watch_loop)
        if self.watch_threshold and not 0.001 <= self.watch_threshold <= 3600:
            raise ValueError(f"watch_loop must be True, False or a threshold in seconds, got {watch_loop!r}")
        self._watched: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.watch_threshold:
            loop = asyncio.get_running_loop()
            if loop is not self._watched:  # the first call on each loop (lifespan, or a request)
                watch_event_loop(loop, self.watch_threshold)
                self._watched = loop
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _joined(scope.get("headers") or ())

        def get_header(name: str) -> str | None:
            value = headers.get(name.lower().encode("latin-1"))
            return None if value is None else value.decode("latin-1")

        inbound = begin(self.options, get_header, self.log)
        txn_id = inbound.txn_id
        state = dict(scope.get("state") or {})
        state[STATE_KEY] = txn_id
        scope = {**scope, "state": state}
        undo = inbound.activate()
        ex = _Exchange(self, scope, txn_id, get_header("accept") or "", inbound.response_header)
        try:
            await self.app(scope, receive, ex.send_to(send))
            await ex.release(send)
        except Exception:
            ex.held.clear()  # a framework's own 500 page, replaced by ours that carries the id
            if ex.response_started or kind == "websocket":
                ex.aborted = True
                self.log.exception(
                    "unhandled exception after the response started; the connection is closed", {"request": scope}
                )
                raise
            self.log.exception("unhandled exception in the application", {"request": scope})
            await ex.error_page(send)
        finally:
            ex.finish()
            undo()


def _joined(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Request headers by (lower-case) name; a header sent several times has its values joined
    by ``,`` as HTTP reads them, so two ``traceparent`` or two ids are seen as one invalid value
    (as WSGI servers show them), never one of them picked silently."""
    out: dict[bytes, bytes] = {}
    for key, value in raw:
        key = key.lower()
        out[key] = out[key] + b"," + value if key in out else value
    return out


#: A held-back 500 response larger than this is sent on as it is.
_MAX_HELD = 64 * 1024


class _Exchange:
    """One request's state: status, bytes, timing."""

    def __init__(self, mw: ASGIMiddleware, scope: Scope, txn_id: str, accept: str, response_header: str) -> None:
        self.mw = mw
        self.scope = scope
        self.txn_id = txn_id
        self.accept = accept
        self.response_header = response_header.lower().encode("latin-1")
        self.started = time.perf_counter()
        self.status: int | None = None
        self.bytes = 0
        self.response_started = False
        self.aborted = False
        #: A 500 response the app (or its framework) sent, held back until we know whether an
        #: exception follows it: then our page, which carries the id, replaces it.
        self.held: list[Message] = []
        self.held_bytes = 0

    async def release(self, send: Send) -> None:
        """Send a held 500 response as it was (no exception followed it)."""
        held, self.held = self.held, []
        for message in held:
            await send(message)
        if held:
            self.response_started = True

    def send_to(self, send: Send) -> Send:
        header = (self.response_header, self.txn_id.encode("latin-1"))

        async def wrapped(message: Message) -> None:
            kind = message.get("type")
            if kind == "http.response.start":
                self.status = message.get("status")
                message = {**message, "headers": [*message.get("headers", ()), header]}
                if self.status == 500:
                    self.held.append(message)
                    return
                self.response_started = True
            elif kind == "http.response.body":
                self.bytes += len(message.get("body", b""))
                if self.held:
                    self.held.append(message)
                    self.held_bytes += len(message.get("body", b""))
                    if self.held_bytes > _MAX_HELD:
                        await self.release(send)
                    return
            elif kind == "websocket.accept":
                self.status = 101
                message = {**message, "headers": [*message.get("headers", ()), header]}
                self.response_started = True
            elif kind == "websocket.close" and not self.response_started:
                self.status = 403
            elif kind == "websocket.send":
                data = message.get("bytes") or message.get("text") or b""
                self.bytes += len(data)
            await send(message)

        return wrapped

    async def error_page(self, send: Send) -> None:
        body, ctype = error_body(self.txn_id, self.accept)
        self.status = 500
        self.bytes = len(body)
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", ctype.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (self.response_header, self.txn_id.encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def finish(self) -> None:
        if not self.mw.options.access_log:
            return
        scope = self.scope
        method = scope.get("method") or "WEBSOCKET"
        path = scope_path(scope)
        extra = {"aborted": True} if self.aborted else {}
        self.mw.log.log(
            ERR if self.aborted else access_level(self.status),
            f"{method} {path} {self.status if self.status is not None else '-'}",
            {"request": scope},
            status=self.status,
            duration_ms=round((time.perf_counter() - self.started) * 1000, 3),
            bytes=self.bytes,
            **extra,
        )
