"""Sending the current transaction id to backend services.

* Any client: ``headers={**logmagic.web.txn_headers(), ...}``.
* httpx: ``httpx.Client(event_hooks={"request": [logmagic.web.httpx_hook]})`` and
  ``httpx.AsyncClient(event_hooks={"request": [logmagic.web.httpx_async_hook]})``.
* requests: ``session.mount("http://", logmagic.web.requests_adapter())`` (and ``https://``).

A header the caller set explicitly is left alone.
"""

from __future__ import annotations

from typing import Any

from logmagic.txn import current_txn_id

__all__ = ["HEADER", "httpx_async_hook", "httpx_hook", "requests_adapter", "txn_headers"]

#: The header backend services receive the id in (the middleware's default inbound header).
HEADER = "X-Txn-Id"


def txn_headers() -> dict[str, str]:
    """``{"X-Txn-Id": <current id>}``, or ``{}`` outside a transaction."""
    txn_id = current_txn_id()
    return {HEADER: txn_id} if txn_id is not None else {}


def httpx_hook(request: Any) -> None:
    """httpx request event hook (sync clients)."""
    txn_id = current_txn_id()
    if txn_id is not None and HEADER not in request.headers:
        request.headers[HEADER] = txn_id


async def httpx_async_hook(request: Any) -> None:
    """httpx request event hook (``AsyncClient``)."""
    httpx_hook(request)


def requests_adapter(**kwargs: Any) -> Any:
    """A ``requests`` transport adapter that adds the id to every request it sends."""
    from requests.adapters import HTTPAdapter

    class TxnIdAdapter(HTTPAdapter):
        def add_headers(self, request: Any, **kw: Any) -> None:
            super().add_headers(request, **kw)
            txn_id = current_txn_id()
            if txn_id is not None and HEADER not in request.headers:
                request.headers[HEADER] = txn_id

    return TxnIdAdapter(**kwargs)
