"""Web integration: WSGI/ASGI middleware and outbound propagation of the transaction id.

Nothing here imports a web framework; the ``requests`` adapter imports ``requests`` when made.
"""

from logmagic.web.asgi import ASGIMiddleware
from logmagic.web.outbound import HEADER, httpx_async_hook, httpx_hook, requests_adapter, txn_headers
from logmagic.web.wsgi import WSGIMiddleware

__all__ = [
    "HEADER",
    "ASGIMiddleware",
    "WSGIMiddleware",
    "httpx_async_hook",
    "httpx_hook",
    "requests_adapter",
    "txn_headers",
]
