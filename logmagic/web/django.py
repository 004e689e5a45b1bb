"""Django middleware: ``"logmagic.web.django.TransactionMiddleware"`` first in ``settings.MIDDLEWARE``.

It does per request what the WSGI and ASGI middleware do, from inside Django, so that Django's
test ``Client``, ``runserver``, gunicorn and Django's ASGI handler all go through it:

* the request's id is decided by ``begin`` (a valid inbound ``X-Txn-Id``, or a fresh one), put
  in ``request.META["logmagic.txn_id"]`` and made current; ``X-Response-Id`` carries it back;
* one access record when the response is closed (after a streamed body), as the WSGI one;
* an unhandled exception (from a view, another middleware, a template) gives one ERR record
  with the traceback and the id, whatever ``DEBUG`` says. Django's own record of it
  (``django.request``) is marked, so that logmagic's ``logging`` capture does not write the
  traceback a second time (Django's other handlers, ``mail_admins``, still get it);
* with ``DEBUG = False`` Django's built-in "Server Error (500)" page becomes the page that
  carries the id (JSON or text, as the client accepts). A page of the project's own (a
  ``500.html`` template, a ``handler500`` view) is kept, and so is the debug page of
  ``DEBUG = True``; the ``X-Response-Id`` header is on every response.

Synchronously (WSGI) the id stays current until the server closes the response, so the
server's own access line (``runserver``'s ``django.server``) carries it. Asynchronously it is
current while the middleware runs and while a streamed body is sent.

Options come from ``settings.LOGMAGIC_MIDDLEWARE``, a dict of the keywords of
``WSGIMiddleware``; a wrong one is ``ImproperlyConfigured`` when Django loads the middleware.
When logmagic's WSGI or ASGI middleware already wraps the project, this one keeps the id it
made and writes only the error record and page: one id, one access record.
"""

from __future__ import annotations

import inspect
import sys
import time
import traceback
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase, StreamingHttpResponse

from logmagic import txn
from logmagic.api import local  # the runtime: the configuration and the exit flush come with it
from logmagic.levels import ERR
from logmagic.request import ENVIRON_KEY, STATE_KEY
from logmagic.sinks.stdlib import mark_reported
from logmagic.web._common import Options, access_level, begin, error_body

__all__ = ["SETTING", "TransactionMiddleware"]

#: The Django setting holding the middleware's options (a dict of ``WSGIMiddleware`` keywords).
SETTING = "LOGMAGIC_MIDDLEWARE"
#: Where a request keeps its exchange (the middleware's state for it).
_EXCHANGE = "_logmagic_exchange"
#: Django skips ``log_response`` for a response that has this attribute set.
_DJANGO_LOGGED = "_has_been_logged"

GetResponse = Callable[[HttpRequest], Any]


def _options() -> Options:
    """``Options`` from ``settings.LOGMAGIC_MIDDLEWARE``; a wrong value is ``ImproperlyConfigured``."""
    given = getattr(settings, SETTING, None)
    if given is None:
        return Options.make()
    if not isinstance(given, Mapping):
        raise ImproperlyConfigured(f"{SETTING} must be a dict of options, got {type(given).__name__}")
    known = [name for name in inspect.signature(Options.make).parameters if name != "cls"]
    unknown = sorted(str(name) for name in given if name not in known)
    if unknown:
        raise ImproperlyConfigured(
            f"{SETTING}: unknown option {', '.join(unknown)}; the options are {', '.join(known)}"
        )
    try:
        return Options.make(**given)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{SETTING}: {exc}") from exc


class TransactionMiddleware:
    """A transaction id, an access record and an error record with the id for every request.

    Put it first in ``MIDDLEWARE``, so that what every other middleware logs carries the id and
    their exceptions are covered too. Sync and async capable: Django runs it in the mode of the
    stack below it. Options: ``settings.LOGMAGIC_MIDDLEWARE`` (see the module documentation).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.options = _options()
        self.log = local(self.options.facility)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        got_request_exception.connect(_on_request_exception, dispatch_uid=__name__)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        ex = _Exchange.start(self, request)
        try:
            response = self.get_response(request)
        except BaseException as exc:  # DEBUG_PROPAGATE_EXCEPTIONS: Django lets it through
            ex.escaped(exc)
            raise
        # The id stays current until the server closes the response: the server's access
        # line, written in this thread after the body was sent, carries it.
        return ex.respond(response)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        ex = _Exchange.start(self, request)
        try:
            response: HttpResponseBase = await self.get_response(request)
        except BaseException as exc:
            ex.escaped(exc)
            raise
        response = ex.respond(response)
        if not response.streaming:
            # This task goes on to send the response, and Django closes it in a worker thread,
            # in a copy of this context: the id is given back here. A streamed body is sent
            # with the id current and gives it back when it ends.
            ex.release()
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """A view raised: write the error record now, before Django's handlers write theirs."""
        ex = getattr(request, _EXCHANGE, None)
        if isinstance(ex, _Exchange):
            ex.failed(exception)


def _on_request_exception(sender: object, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django's ``got_request_exception``: an unhandled exception, also one of another middleware
    or of a template, which ``process_exception`` does not see.

    Django sends it while the exception is handled (in async mode too: asgiref hands the
    exception to the worker thread), so ``sys.exc_info()`` has it. Were it missing, Django's
    own ``django.request`` record would still carry the traceback.
    """
    ex = getattr(request, _EXCHANGE, None)
    if not isinstance(ex, _Exchange):
        return
    ex.signalled = True
    exc = sys.exc_info()[1]
    if exc is not None:
        ex.failed(exc)


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _outer_txn_id(request: HttpRequest) -> str | None:
    """The id logmagic's WSGI or ASGI middleware gave this request, if one wraps the project."""
    found = request.META.get(ENVIRON_KEY)
    if isinstance(found, str):
        return found
    scope = getattr(request, "scope", None)
    state = scope.get("state") if isinstance(scope, dict) else None
    found = state.get(STATE_KEY) if isinstance(state, dict) else None
    return found if isinstance(found, str) else None


def _default_server_error() -> bytes:
    """The body of Django's built-in 500 page (``django.views.defaults.server_error`` without
    a ``500.html``), which carries no id."""
    from django.views.defaults import ERROR_PAGE_TEMPLATE

    return (ERROR_PAGE_TEMPLATE % {"title": "Server Error (500)", "details": ""}).encode(settings.DEFAULT_CHARSET)


class _Exchange:
    """One request's state, from the middleware call to the response's ``close()``."""

    def __init__(self, mw: TransactionMiddleware, request: HttpRequest, txn_id: str) -> None:
        self.mw = mw
        self.request = request
        self.txn_id = txn_id
        self.nested = False
        self.response_header = ""
        self.undo: Callable[[], None] | None = None
        self.started = time.perf_counter()
        self.response: HttpResponseBase | None = None
        self.status: int | None = None
        self.streamed: int | None = None  # bytes of a streamed body that went through ``count``
        self.aborted = False
        self.errors: list[BaseException] = []  # written with their traceback
        self.signalled = False  # Django handled an unhandled exception for this request
        self.finished = False

    @classmethod
    def start(cls, mw: TransactionMiddleware, request: HttpRequest) -> _Exchange:
        outer = _outer_txn_id(request)
        if outer is not None:
            ex = cls(mw, request, outer)
            ex.nested = True
        else:
            inbound = begin(mw.options, request.headers.get, mw.log)
            ex = cls(mw, request, inbound.txn_id)
            ex.response_header = inbound.response_header
            ex.undo = inbound.activate()
            request.META[ENVIRON_KEY] = inbound.txn_id
            scope = getattr(request, "scope", None)
            if isinstance(scope, dict):  # Django ASGI: what the request rewriter reads
                state = scope.get("state")
                if not isinstance(state, dict):
                    state = scope["state"] = {}
                state[STATE_KEY] = inbound.txn_id
        setattr(request, _EXCHANGE, ex)
        return ex

    def failed(self, exc: BaseException, message: str = "unhandled exception in the application") -> None:
        """Write the ERR record of ``exc`` with its traceback, once per exception."""
        if any(e is exc for e in self.errors):
            return
        self.errors.append(exc)
        fields = {"request": self.request, "txnId": self.txn_id}
        self.mw.log.forward(ERR, message, fields, full_message=_traceback(exc))
        mark_reported(exc)

    def respond(self, response: HttpResponseBase) -> HttpResponseBase:
        """The response to send: the id added, Django's built-in 500 page replaced, the end hooked."""
        if (self.errors or self.signalled) and self.replaceable(response):
            response = self.error_page(response)
        if self.nested:
            return response
        response[self.response_header] = self.txn_id
        self.response = response
        self.status = response.status_code
        if isinstance(response, StreamingHttpResponse) and getattr(response, "file_to_stream", None) is None:
            content = response.streaming_content
            if isinstance(content, AsyncIterable):
                response.streaming_content = self.acount(content)
            else:
                response.streaming_content = self.count(content)
        closers = getattr(response, "_resource_closers", None)
        if isinstance(closers, list):  # called by response.close(), which every server calls at the end
            closers.append(self.finish)
        else:  # pragma: no cover - a Django without it
            self.finish()
        return response

    @staticmethod
    def replaceable(response: HttpResponseBase) -> bool:
        """Whether ``response`` is Django's built-in 500 page, made without ``DEBUG``."""
        if response.status_code != 500 or settings.DEBUG or response.streaming:
            return False
        return getattr(response, "content", None) == _default_server_error()

    def error_page(self, replaced: HttpResponseBase) -> HttpResponse:
        body, ctype = error_body(self.txn_id, self.request.headers.get("Accept") or "")
        page = HttpResponse(body, status=500, content_type=ctype)
        # Django logged the exception's own 500 already; without this it logs ours again.
        setattr(page, _DJANGO_LOGGED, getattr(replaced, _DJANGO_LOGGED, False))
        return page

    def count(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """A streamed body, counted; an exception in it is written and re-raised."""
        self.streamed = 0
        try:
            for chunk in chunks:
                self.streamed += len(chunk)
                yield chunk
        except Exception as exc:
            self.broke(exc)
            raise

    async def acount(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """An async streamed body, counted; the request's id stays current until it ends."""
        self.streamed = 0
        try:
            async for chunk in chunks:
                self.streamed += len(chunk)
                yield chunk
        except Exception as exc:
            self.broke(exc)
            raise
        finally:
            self.release()  # in the task that ran the middleware, as the values it undoes

    def broke(self, exc: Exception) -> None:
        """A streamed body raised: written, and the request ends here (Django's ASGI handler does
        not close a response whose body raised)."""
        self.aborted = True
        self.failed(exc, "unhandled exception after the response started; the connection is closed")
        self.finish()

    def escaped(self, exc: BaseException) -> None:
        """An exception came out of Django (``DEBUG_PROPAGATE_EXCEPTIONS``): written, and the
        request ends here; the server answers it."""
        if isinstance(exc, Exception):
            self.failed(exc)
            self.status = 500
        self.finish()

    def finish(self) -> None:
        """The response was closed: write the access record, once, and end the transaction."""
        if self.finished:
            return
        self.finished = True
        try:
            if self.mw.options.access_log and not self.nested:
                self.access_record()
        finally:
            self.release()

    def access_record(self) -> None:
        request = self.request
        status = self.status
        extra = {"aborted": True} if self.aborted else {}
        self.mw.log.log(
            ERR if self.aborted else access_level(status),
            f"{request.method} {request.path} {status if status is not None else '-'}",
            {"request": request, "txnId": self.txn_id},
            status=status,
            duration_ms=round((time.perf_counter() - self.started) * 1000, 3),
            bytes=self.body_bytes(),
            **extra,
        )

    def body_bytes(self) -> int | None:
        """Bytes of the body: counted when streamed; a file the server sends itself, its length."""
        response = self.response
        if response is None:  # no response: the exception went on to the server
            return 0
        if self.streamed is not None:
            return self.streamed
        if response.streaming:
            length = response.get("Content-Length")
            return int(length) if length is not None and length.isdigit() else None
        content: bytes = getattr(response, "content", b"")
        return len(content)

    def release(self) -> None:
        """Undo what ``start`` made current, once."""
        undo, self.undo = self.undo, None
        if undo is None:
            return
        try:
            undo()
        except ValueError:  # closed in a copy of the request's context, discarded after it
            txn.end_current()  # the transaction ends all the same (its flight recorder)
