"""What the middleware costs per request, and what a record inside a request costs.

Rows, all in one process and one run (median of repeats, microseconds per request):

* ASGI: a minimal ASGI app called directly, bare and wrapped in ``ASGIMiddleware`` (new id per
  request, ``X-Response-Id``, the access record — written as GELF to /dev/null).
* WSGI: the same for a minimal WSGI app and ``WSGIMiddleware``.
* The same pair again with the app writing one record per request (``log.info(..., {"request": ...})``).

Calling the apps directly measures the middleware itself: a server would add the same socket
and parsing cost to both sides of each pair. ``--server`` also drives real uvicorn servers
(bare vs wrapped app) over loopback with concurrent clients, for context.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import logmagic
import logmagic.web

HEADERS = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")]
ENVIRON = {"REQUEST_METHOD": "GET", "PATH_INFO": "/items/1", "REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "bench/1.0"}
log = logmagic.local("bench.app")


def make_asgi(with_record: bool) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if with_record:
            log.info("item read", {"request": scope}, item=1)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def make_wsgi(with_record: bool) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if with_record:
            log.info("item read", {"request": environ}, item=1)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def time_asgi(app: Any, n: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        pass

    async def loop() -> float:
        scope = {"type": "http", "method": "GET", "path": "/items/1", "headers": HEADERS, "client": ("127.0.0.1", 1)}
        start = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), receive, send)
        return time.perf_counter() - start

    return asyncio.run(loop())


def time_wsgi(app: Any, n: int) -> float:
    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        pass

    start = time.perf_counter()
    for _ in range(n):
        body = app(dict(ENVIRON), start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return time.perf_counter() - start


def median_us(fn: Callable[[Any, int], float], app: Any, n: int, repeats: int) -> float:
    return statistics.median(fn(app, n) / n * 1e6 for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    n, repeats = (2_000, 3) if args.quick else (20_000, 7)

    logmagic.register_sink("null", "file:///dev/null")
    logmagic.route("__root__", logmagic.INFO, "null")

    rows = []
    for label, timer, make, wrap in (
        ("ASGI", time_asgi, make_asgi, logmagic.web.ASGIMiddleware),
        ("WSGI", time_wsgi, make_wsgi, logmagic.web.WSGIMiddleware),
    ):
        for with_record in (False, True):
            bare = make(with_record)
            suffix = " + 1 record" if with_record else ""
            b = median_us(timer, bare, n, repeats)
            w = median_us(timer, wrap(bare), n, repeats)
            rows.append((f"{label}{suffix}", b, w))

    print(f"{'app':<20} {'bare µs/req':>12} {'wrapped µs/req':>15} {'overhead µs':>12}")
    for name, b, w in rows:
        print(f"{name:<20} {b:>12.2f} {w:>15.2f} {w - b:>12.2f}")
    print("\nThe wrapped app makes a txnId, sets the context, adds X-Response-Id and writes the access record.")
    logmagic.shutdown(1.0)


if __name__ == "__main__":
    main()
