"""Apps for the OpenTelemetry tests: ``asgi`` (uvicorn) and ``wsgi`` (gunicorn), traced with the
OpenTelemetry SDK (a real ``TracerProvider``; spans are recorded, not exported).

* ``/span``: writes a record before a span, then opens span ``work`` and, inside it, writes a
  logmagic and a ``logging`` record and calls ``$BACKEND_URL/echo`` with the httpx hook;
  answers the span's ids and what the backend received.
* ``/wrapped/span``: the same, with the whole request (the logmagic middleware included)
  inside a server span ``outer`` opened around the middleware, as OpenTelemetry's own ASGI/WSGI
  instrumentation does; the answer also carries ``outer``'s ids.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import logmagic
import logmagic.web
from logmagic.integrations import stdlib

StartResponse = Callable[..., Any]

trace.set_tracer_provider(TracerProvider())
tracer = trace.get_tracer("e2e.otel")

logmagic.configure(host=os.environ["APP_HOST"])
stdlib.capture("DEBUG")
log = logmagic.local("e2e.otel")
std = logging.getLogger("e2e.otel.stdlib")


def ids(span: trace.Span) -> dict[str, str]:
    ctx = span.get_span_context()
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "flags": format(int(ctx.trace_flags), "02x"),
    }


def work() -> dict[str, Any]:
    log.info("before the span")
    with tracer.start_as_current_span("work") as span:
        log.info("logmagic record in the span")
        std.info("stdlib record in the span")
        with httpx.Client(event_hooks={"request": [logmagic.web.httpx_hook]}) as client:
            echoed = client.get(f"{os.environ['BACKEND_URL']}/echo", timeout=15).json()
        return {"span": ids(span), "backend": echoed}


def _inner(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/ready":
        body = b"{}"
    elif path in ("/span", "/wrapped/span"):
        body = json.dumps(work()).encode()
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


_wsgi = logmagic.web.WSGIMiddleware(_inner)


def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if not environ["PATH_INFO"].startswith("/wrapped/"):
        return _wsgi(environ, start_response)
    with tracer.start_as_current_span("outer") as outer:
        environ["e2e.outer"] = ids(outer)
        # The body is made (and closed: the access record) inside the span, as an instrumentation
        # wrapping the middleware would; then the answer gets outer's ids.
        body = _wsgi(environ, start_response)
        try:
            chunks = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    data = json.loads(chunks)
    data["outer"] = environ["e2e.outer"]
    return [json.dumps(data).encode()]


async def _asgi_inner(scope: Any, receive: Any, send: Any) -> None:
    path = scope["path"]
    if path in ("/span", "/wrapped/span"):
        data = work()
        if "e2e.outer" in scope.get("state", {}):
            data["outer"] = scope["state"]["e2e.outer"]
        body = json.dumps(data).encode()
        status = 200
    else:
        body, status = b"{}", 200 if path == "/ready" else 404
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


_asgi = logmagic.web.ASGIMiddleware(_asgi_inner)


async def asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http" or not scope["path"].startswith("/wrapped/"):
        await _asgi(scope, receive, send)
        return
    with tracer.start_as_current_span("outer") as outer:
        scope = {**scope, "state": {**scope.get("state", {}), "e2e.outer": ids(outer)}}
        await _asgi(scope, receive, send)
