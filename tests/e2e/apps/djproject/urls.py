"""The views of the e2e Django project."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path

import logmagic

log = logmagic.local("e2e.django")


def ready(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ready")


def hello(request: HttpRequest) -> JsonResponse:
    request.account_id = "acct-django-7"  # type: ignore[attr-defined]  # as an auth middleware would
    log.info("django view", {"request": request})
    return JsonResponse(
        {"app_txn_id": request.META.get("logmagic.txn_id"), "current": logmagic.current_txn_id(), "pid": os.getpid()}
    )


async def ahello(request: HttpRequest) -> JsonResponse:
    await asyncio.sleep(0)
    log.info("async django view", {"request": request})
    return JsonResponse({"app_txn_id": request.META.get("logmagic.txn_id"), "current": logmagic.current_txn_id()})


def boom(request: HttpRequest) -> HttpResponse:
    log.info("about to fail")
    raise RuntimeError("kaboom from the django view")


async def aboom(request: HttpRequest) -> HttpResponse:
    log.info("about to fail")
    raise RuntimeError("kaboom from the async django view")


def deliberate_500(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the view chose this 500", status=500)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[str]:
        for i in range(5):
            log.info("django chunk", chunk=i)
            yield f"{i}:{logmagic.current_txn_id()}\n"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def astream(request: HttpRequest) -> StreamingHttpResponse:
    async def chunks() -> AsyncIterator[str]:
        for i in range(5):
            await asyncio.sleep(0)
            log.info("django chunk", chunk=i)
            yield f"{i}:{logmagic.current_txn_id()}\n"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def stream_fail(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[str]:
        yield "first\n"
        raise RuntimeError("the stream broke")

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def file(request: HttpRequest) -> FileResponse:
    return FileResponse(open(__file__, "rb"), content_type="text/plain")  # FileResponse closes it


urlpatterns = [
    path("file", file),
    path("ready", ready),
    path("hello", hello),
    path("ahello", ahello),
    path("boom", boom),
    path("aboom", aboom),
    path("deliberate-500", deliberate_500),
    path("stream", stream),
    path("astream", astream),
    path("stream-fail", stream_fail),
]
