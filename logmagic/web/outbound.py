"""Sending the current transaction id and trace context to backend services.

* Any client: ``headers={**logmagic.web.txn_headers(), ...}``.
* httpx: ``httpx.Client(event_hooks={"request": [logmagic.web.httpx_hook]})`` and
  ``httpx.AsyncClient(event_hooks={"request": [logmagic.web.httpx_async_hook]})``.
* requests: ``session.mount("http://", logmagic.web.requests_adapter())`` (and ``https://``).

The id goes in the configured ``txn_header`` (``X-Txn-Id`` by default). Inside a trace (a
request that came with a valid ``traceparent``, or a current OpenTelemetry span) the request
also carries ``traceparent`` (the same trace-id, this request's span as the parent-id, the flags
kept) and the ``tracestate`` that came with it. A header the caller set explicitly is left
alone; so is ``tracestate`` when the caller set ``traceparent``.
"""

from __future__ import annotations

from typing import Any

from logmagic import _propagation, trace_context
from logmagic.integrations import otel
from logmagic.trace_context import TRACEPARENT, TRACESTATE
from logmagic.txn import current_txn_id

__all__ = ["HEADER", "httpx_async_hook", "httpx_hook", "requests_adapter", "txn_headers"]

#: The default header backend services receive the id in; ``configure(txn_header=...)`` changes
#: the one actually sent.
HEADER = "X-Txn-Id"


def txn_headers() -> dict[str, str]:
    """The headers for an outbound request: ``{<txn_header>: <current id>}`` inside a
    transaction, plus ``traceparent`` (and ``tracestate``) inside a trace; ``{}`` outside both."""
    out: dict[str, str] = {}
    txn_id = current_txn_id()
    if txn_id is not None:
        out[_propagation.ACTIVE.txn_header] = txn_id
    trace = otel.current_trace() or trace_context.current()
    if trace is not None:
        out.update(trace.headers())
    return out


def _add_missing(headers: Any) -> None:
    """Add ``txn_headers()`` to a client's case-insensitive ``headers``, leaving alone those the
    caller set (and ``tracestate`` when the caller chose the ``traceparent``)."""
    callers_trace = TRACEPARENT in headers
    for name, value in txn_headers().items():
        if name == TRACESTATE and callers_trace:
            continue
        if name not in headers:
            headers[name] = value


def httpx_hook(request: Any) -> None:
    """httpx request event hook (sync clients)."""
    _add_missing(request.headers)


async def httpx_async_hook(request: Any) -> None:
    """httpx request event hook (``AsyncClient``)."""
    httpx_hook(request)


def requests_adapter(**kwargs: Any) -> Any:
    """A ``requests`` transport adapter that adds the id to every request it sends."""
    from requests.adapters import HTTPAdapter

    class TxnIdAdapter(HTTPAdapter):
        def add_headers(self, request: Any, **kw: Any) -> None:
            super().add_headers(request, **kw)
            _add_missing(request.headers)

    return TxnIdAdapter(**kwargs)
