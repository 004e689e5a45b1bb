"""A raw ASGI app that logs with ``logging`` and calls ``capture()``, served by uvicorn.

``/hello`` runs inside logmagic's ASGI middleware; ``/unwrapped-boom`` bypasses it and raises,
so that uvicorn itself logs the exception. Run with ``--lifespan off``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import logmagic
import logmagic.web
from logmagic.integrations import stdlib

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

logmagic.configure(host=os.environ["APP_HOST"])
stdlib.capture("DEBUG")
log = logging.getLogger("e2e.stdlib")


async def _text(send: Send, body: bytes, status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def _inner(scope: Scope, receive: Receive, send: Send) -> None:
    log.info("handled %s", scope["path"], extra={"step": 2})
    await _text(send, (logmagic.current_txn_id() or "").encode())


_wrapped = logmagic.web.ASGIMiddleware(_inner)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and scope["path"] == "/unwrapped-boom":
        raise RuntimeError("kaboom outside the middleware")
    await _wrapped(scope, receive, send)
