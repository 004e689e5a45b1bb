"""A Starlette app for the flight recorder and the loop-stall detector, served by uvicorn.

The route is INFO (``LOGMAGIC_ROUTES``) and the flight recorder keeps DEBUG
(``LOGMAGIC_FLIGHT_RECORDER``): ``/work`` logs DEBUG lines and succeeds, ``/fail`` logs them
and raises, ``/flood`` logs many large DEBUG lines and succeeds, ``/block`` holds the event
loop with ``time.sleep``, ``/nap`` awaits ``asyncio.sleep`` for as long.
"""

from __future__ import annotations

import asyncio
import os
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

import logmagic
import logmagic.web
from logmagic import flight_recorder

logmagic.configure(host=os.environ["APP_HOST"], env=True)
log = logmagic.local("e2e.recorder")


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def work(request: Request) -> PlainTextResponse:
    for step in range(3):
        log.debug("working", step=step)
        await asyncio.sleep(0)
    log.info("worked")
    return PlainTextResponse("done")


async def fail(request: Request) -> PlainTextResponse:
    log.debug("loaded the order", order="o-17")
    await asyncio.sleep(0.01)
    log.debug("calling the payment service", attempt=1)
    raise RuntimeError("payment service said no")


async def flood(request: Request) -> PlainTextResponse:
    for n in range(2000):
        log.debug("flood", n=n, blob="z" * 2000)
    return PlainTextResponse("flooded")


#: The stall threshold, in seconds: a quarter of the handlers' half second, and far above what a
#: loaded machine's scheduler delays the loop by, so that a stall record is the handler's.
WATCH_THRESHOLD = 0.125


async def block(request: Request) -> PlainTextResponse:
    time.sleep(0.5)
    return PlainTextResponse("blocked")


async def nap(request: Request) -> PlainTextResponse:
    await asyncio.sleep(0.5)
    return PlainTextResponse("napped")


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(flight_recorder.stats())


app = logmagic.web.ASGIMiddleware(
    Starlette(
        routes=[
            Route("/ready", ready),
            Route("/work", work),
            Route("/fail", fail),
            Route("/flood", flood),
            Route("/block", block),
            Route("/nap", nap),
            Route("/stats", stats),
        ]
    ),
    watch_loop=WATCH_THRESHOLD,
)
