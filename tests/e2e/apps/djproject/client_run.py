"""Requests through Django's test ``Client`` and ``AsyncClient``, in a process of their own.

``python -m djproject.client_run`` prints one JSON line per check on stdout; logmagic writes its
records where ``LOGMAGIC_SINKS`` says. The test (tests/e2e/test_django.py) reads both.
"""

from __future__ import annotations

import asyncio
import json
import os
import wsgiref.util
from typing import Any, cast

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djproject.settings")

import django

django.setup()

from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402

import logmagic  # noqa: E402
import logmagic.web  # noqa: E402
from logmagic.web.django import TransactionMiddleware  # noqa: E402


def out(check: str, **values: Any) -> None:
    print(json.dumps({"check": check, **values}), flush=True)


def response(check: str, resp: Any) -> None:
    body = b"".join(resp.streaming_content) if resp.streaming else resp.content
    resp.close()
    out(check, status=resp.status_code, txn_id=resp.headers.get("X-Response-Id"), body=body.decode())


client = Client()
response("hello", client.get("/hello"))
response("inbound", client.get("/hello", headers={"X-Txn-Id": "upstream-7f3a"}))
response("boom", Client(raise_request_exception=False).get("/boom", headers={"Accept": "application/json"}))
response("stream", client.get("/stream"))
try:
    client.get("/boom")
except RuntimeError as exc:
    out("boom-raised", error=str(exc))  # the test client still raises a view's exception
with override_settings(DEBUG_PROPAGATE_EXCEPTIONS=True):
    try:
        Client(raise_request_exception=False).get("/boom", headers={"X-Txn-Id": "propagated-1"})
    except RuntimeError as exc:
        out("propagated", error=str(exc))


async def async_requests() -> None:
    aclient = AsyncClient()
    response("async-hello", await aclient.get("/ahello"))
    resp = await aclient.get("/astream")
    body = b"".join([chunk async for chunk in cast(Any, resp).streaming_content])
    resp.close()
    out("async-stream", status=resp.status_code, txn_id=resp.headers.get("X-Response-Id"), body=body.decode())
    out("async-after", current=logmagic.current_txn_id())


asyncio.run(async_requests())
out("after", current=logmagic.current_txn_id())

# logmagic's WSGI middleware around the project as well: its id is kept, one access record.
wrapped = logmagic.web.WSGIMiddleware(get_wsgi_application())


def call_wrapped(path: str) -> None:
    environ: dict[str, Any] = {"PATH_INFO": path, "HTTP_ACCEPT": "application/json"}
    wsgiref.util.setup_testing_defaults(environ)
    environ["SERVER_NAME"] = "testserver"
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen.update(status=status, headers=headers)

    body_iter = wrapped(environ, start_response)
    body = b"".join(body_iter)
    getattr(body_iter, "close", lambda: None)()
    ids = [v for k, v in seen["headers"] if k.lower() == "x-response-id"]
    out(f"wrapped{path}", status=seen["status"], txn_ids=ids, body=body.decode())


call_wrapped("/hello")
call_wrapped("/boom")


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


for bad in ({"inbound_header": ["X-Txn-Id"]}, {"inbound_headers": ["bad header"]}, ["X-Txn-Id"]):
    with override_settings(LOGMAGIC_MIDDLEWARE=bad):
        try:
            TransactionMiddleware(view)
        except ImproperlyConfigured as exc:
            out("bad-setting", error=str(exc))
