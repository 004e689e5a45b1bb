"""The minimal apps ``bench_web.py`` measures, bare and wrapped in logmagic's middleware.

Importable by uvicorn (``web_apps:asgi_wrapped``) and gunicorn (``web_apps:wsgi_bare``) with
``benchmarks/`` as the app directory, and called directly by ``bench_web.py``. Records go
wherever ``LOGMAGIC_ROUTES``/``LOGMAGIC_SINKS`` send them (the benchmark: /dev/null).
"""

from __future__ import annotations

from typing import Any

import logmagic
import logmagic.web

log = logmagic.local("bench.app")


def make_asgi(with_record: bool) -> Any:
    """An ASGI app answering ``ok``; with ``with_record`` it logs one record with the request."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if with_record:
            log.info("item read", {"request": scope}, item=1)
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def make_wsgi(with_record: bool) -> Any:
    """A WSGI app answering ``ok``; with ``with_record`` it logs one record with the request."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if with_record:
            log.info("item read", {"request": environ}, item=1)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    return app


asgi_bare = make_asgi(True)
asgi_wrapped = logmagic.web.ASGIMiddleware(make_asgi(True))
asgi_watched = logmagic.web.ASGIMiddleware(make_asgi(True), watch_loop=True)
wsgi_bare = make_wsgi(True)
wsgi_wrapped = logmagic.web.WSGIMiddleware(make_wsgi(True))
