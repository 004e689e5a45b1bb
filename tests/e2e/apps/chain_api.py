"""The edge of the four-process chain test: a FastAPI app under uvicorn that calls the Flask
service (``$FLASK_URL``) over httpx with logmagic's hook (txnId and traceparent go along)."""

from __future__ import annotations

import os

import httpx
from fastapi import FastAPI

import logmagic
import logmagic.web

logmagic.configure(host=os.environ["APP_HOST"], env=True)
log = logmagic.local("chain.api")

api = FastAPI()


@api.get("/ready")
async def ready() -> dict[str, bool]:
    return {"ready": True}


@api.post("/orders")
async def place_order() -> dict[str, str]:
    log.info("placing an order")
    async with httpx.AsyncClient(event_hooks={"request": [logmagic.web.httpx_async_hook]}) as client:
        response = await client.post(f"{os.environ['FLASK_URL']}/orders")
    log.info("the order service answered", status=response.status_code)
    return {"task": response.json()["task"]}


app = logmagic.web.ASGIMiddleware(api)
