"""Web integration: WSGI/ASGI middleware and outbound propagation of the transaction id.

Nothing here imports a web framework; the ``requests`` adapter imports ``requests`` when made.
The framework adapters import theirs, and are imported by their full name:
``logmagic.web.django.TransactionMiddleware`` (a ``MIDDLEWARE`` entry) and
``logmagic.web.flask.init_app``.
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
