"""Service A, the public API (ASGI, Starlette under uvicorn): takes a charge, asks B to authorize it."""

from __future__ import annotations

import os

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import logmagic
import logmagic.web

logmagic.configure(host=os.environ.get("SERVICE_HOST", "api0.example"))
log = logmagic.local("story.api.charges")
BACKEND = os.environ["BACKEND_URL"]


async def charge(request: Request) -> JSONResponse:
    body = await request.json()
    log.info("charge requested", {"request": request}, amount=body.get("amount"))
    async with httpx.AsyncClient(event_hooks={"request": [logmagic.web.httpx_async_hook]}) as client:
        resp = await client.post(f"{BACKEND}/authorize", json=body, timeout=10)
    if resp.status_code != 200:
        log.err("authorization failed", {"request": request}, backend_status=resp.status_code)
        raise RuntimeError(f"backend answered {resp.status_code}")
    return JSONResponse({"ok": True})


app = logmagic.web.ASGIMiddleware(Starlette(routes=[Route("/charge", charge, methods=["POST"])]))
