"""Apps for the header and trace-context tests: ``asgi`` (Starlette, uvicorn) and ``wsgi`` (plain
WSGI, gunicorn), the same endpoints in both.

``logmagic.configure`` takes ``txn_header``, ``response_header`` and ``trust_inbound`` from the
environment variables ``TXN_HEADER``, ``RESPONSE_HEADER`` and ``TRUST_INBOUND`` (``0``/``1``)
when they are set. ``logging`` is captured, so the tests see stdlib records too. Paths under
``/internal`` go through a second middleware with ``trust_inbound=True`` and
``response_header="X-Internal-Ref"``, which win over the configuration.

* ``/hello``: one logmagic and one ``logging`` record; answers the current id, the context
  fields and ``txn_headers()``.
* ``/call-httpx`` and ``/call-requests``: call ``$BACKEND_URL/echo`` with the httpx hook or
  the requests adapter and answer what the backend says it received.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import logmagic
import logmagic.web
from logmagic.integrations import stdlib

StartResponse = Callable[..., Any]


def _flag(name: str) -> bool | None:
    value = os.environ.get(name)
    return None if value is None else value == "1"


logmagic.configure(
    host=os.environ["APP_HOST"],
    txn_header=os.environ.get("TXN_HEADER"),
    response_header=os.environ.get("RESPONSE_HEADER"),
    trust_inbound=_flag("TRUST_INBOUND"),
)
stdlib.capture("DEBUG")
log = logmagic.local("e2e.trace")
std = logging.getLogger("e2e.trace.stdlib")


def hello() -> dict[str, Any]:
    log.info("logmagic record in the handler")
    std.info("stdlib record in the handler")
    return {
        "current": logmagic.current_txn_id(),
        "fields": logmagic.context_fields(),
        "outbound": logmagic.web.txn_headers(),
    }


def call_httpx() -> Any:
    with httpx.Client(event_hooks={"request": [logmagic.web.httpx_hook]}) as client:
        return client.get(f"{os.environ['BACKEND_URL']}/echo", timeout=15).json()


def call_requests() -> Any:
    with requests.Session() as session:
        session.mount("http://", logmagic.web.requests_adapter())
        return session.get(f"{os.environ['BACKEND_URL']}/echo", timeout=15).json()


# -- WSGI ----------------------------------------------------------------------------------


def _wsgi_inner(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"].removeprefix("/internal")
    handlers: dict[str, Callable[[], Any]] = {
        "/ready": lambda: {"ready": True},
        "/hello": hello,
        "/call-httpx": call_httpx,
        "/call-requests": call_requests,
    }
    handler = handlers.get(path)
    if handler is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body = json.dumps(handler()).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


_wsgi_edge = logmagic.web.WSGIMiddleware(_wsgi_inner)
_wsgi_internal = logmagic.web.WSGIMiddleware(_wsgi_inner, trust_inbound=True, response_header="X-Internal-Ref")


def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"].startswith("/internal/"):
        return _wsgi_internal(environ, start_response)
    return _wsgi_edge(environ, start_response)


# -- ASGI ----------------------------------------------------------------------------------


async def _hello(request: Request) -> JSONResponse:
    return JSONResponse(hello())


async def _call_httpx(request: Request) -> JSONResponse:
    async with httpx.AsyncClient(event_hooks={"request": [logmagic.web.httpx_async_hook]}) as client:
        resp = await client.get(f"{os.environ['BACKEND_URL']}/echo", timeout=15)
    return JSONResponse(resp.json())


async def _call_requests(request: Request) -> JSONResponse:
    return JSONResponse(call_requests())  # blocking, but in the request's own context


async def _ready(request: Request) -> JSONResponse:
    return JSONResponse({"ready": True})


_routes = [
    Route("/ready", _ready),
    Route("/hello", _hello),
    Route("/call-httpx", _call_httpx),
    Route("/call-requests", _call_requests),
]
_starlette = Starlette(routes=_routes)
_asgi_edge = logmagic.web.ASGIMiddleware(_starlette)
_asgi_internal = logmagic.web.ASGIMiddleware(
    Starlette(routes=[Route(f"/internal{r.path}", r.endpoint) for r in _routes]),
    trust_inbound=True,
    response_header="X-Internal-Ref",
)


async def asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] in ("http", "websocket") and scope["path"].startswith("/internal/"):
        await _asgi_internal(scope, receive, send)
    else:
        await _asgi_edge(scope, receive, send)
