"""A middleware below logmagic's that raises for ``/mw-boom``: an exception that is not a view's.

Sync and async capable, so that Django runs the whole stack in one mode: sync under WSGI and
the test ``Client``, async under ASGI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest


class FailingMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        self._check(request)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> Any:
        self._check(request)
        return await self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        if request.path == "/mw-boom":
            raise LookupError("kaboom from a middleware")
