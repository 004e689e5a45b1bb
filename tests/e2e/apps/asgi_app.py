"""A FastAPI app wrapped in logmagic's ASGI middleware, served by uvicorn in the e2e tests.

Logging goes where ``LOGMAGIC_SINKS``/``LOGMAGIC_ROUTES`` say; the host in ids and records is
``$APP_HOST``. ``/call-b`` calls ``$BACKEND_URL/hello`` with an httpx client that forwards the id.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

import logmagic
import logmagic.web

logmagic.configure(host=os.environ["APP_HOST"], env=True)
log = logmagic.local("e2e.asgi")

api = FastAPI()


@api.get("/ready")
async def ready() -> dict[str, bool]:
    return {"ready": True}


@api.get("/hello")
async def hello(request: Request) -> dict[str, Any]:
    log.info("plain record in the handler")
    log.info("record with the request", {"request": request}, step=2)
    return {"app_txn_id": request.state.txn_id, "current": logmagic.current_txn_id()}


@api.get("/interleave")
async def interleave(n: int) -> dict[str, Any]:
    log.info("before the pause", n=n)
    await asyncio.sleep(0.2)  # other requests run in between, on the same event loop
    log.info("after the pause", n=n)
    return {"n": n, "current": logmagic.current_txn_id()}


@api.get("/boom")
async def boom(request: Request) -> dict[str, Any]:
    log.info("about to fail")
    raise RuntimeError("kaboom from the asgi app")


@api.get("/deliberate-500")
async def deliberate_500() -> PlainTextResponse:
    return PlainTextResponse("the app chose this 500", status_code=500)


@api.get("/stream")
async def stream() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            await asyncio.sleep(0)
            log.info("async chunk", chunk=i)
            yield f"{i}:{logmagic.current_txn_id()}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@api.get("/stream-fail")
async def stream_fail() -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first\n"
        yield b"second\n"
        raise RuntimeError("the stream broke")

    return StreamingResponse(chunks(), media_type="text/plain")


@api.get("/stream-sync")
def stream_sync() -> StreamingResponse:
    def chunks() -> Iterator[bytes]:
        for i in range(5):
            log.info("sync chunk", chunk=i)
            yield f"{i}:{logmagic.current_txn_id()}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@api.get("/call-b")
async def call_b(request: Request) -> dict[str, Any]:
    log.info("calling service B", {"request": request})
    async with httpx.AsyncClient(event_hooks={"request": [logmagic.web.httpx_async_hook]}) as client:
        resp = await client.get(f"{os.environ['BACKEND_URL']}/hello", timeout=15)
    log.info("service B answered", b_status=resp.status_code)
    return {"b_status": resp.status_code, "b_body": resp.json(), "b_response_id": resp.headers.get("X-Response-Id")}


app = logmagic.web.ASGIMiddleware(api, inbound_headers=("X-Txn-Id", "X-Request-Id"))
