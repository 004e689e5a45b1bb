"""What the middleware costs per request, and what a record inside a request costs.

Rows, all in one process and one run (median of repeats, microseconds per request):

* ASGI: a minimal ASGI app called directly, bare and wrapped in ``ASGIMiddleware`` (new id per
  request, ``X-Response-Id``, the access record — written as GELF to /dev/null).
* WSGI: the same for a minimal WSGI app and ``WSGIMiddleware``.
* The same pair again with the app writing one record per request (``log.info(..., {"request": ...})``).

Calling the apps directly measures the middleware itself: a server would add the same socket
and parsing cost to both sides of each pair. ``--server`` measures the same apps (with their
record) under real servers on 127.0.0.1: uvicorn for the ASGI pair and gunicorn (one gthread
worker, keep-alive) for the WSGI pair, one server process per app, driven by one client that
sends requests one after another over a kept-alive connection. The bare and wrapped servers
are timed in turns; the difference of their medians is the middleware's cost per request as
a client sees it. The last server row compares the wrapped ASGI app with the same app whose
middleware also watches the event loop (``watch_loop=True``, the stall detector): the cost of
the heartbeat and its watchdog thread when nothing stalls.

    .venv/bin/python benchmarks/bench_web.py [--quick] [--server]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from web_apps import make_asgi, make_wsgi

import logmagic
import logmagic.web

HEADERS = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")]
ENVIRON = {"REQUEST_METHOD": "GET", "PATH_INFO": "/items/1", "REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "bench/1.0"}
HERE = os.path.dirname(os.path.abspath(__file__))
REQUEST = b"GET /items/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n"


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


# -- real servers ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_command(kind: str, app: str, port: int) -> list[str]:
    if kind == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", "--app-dir", HERE, f"web_apps:{app}",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "gunicorn", "--chdir", HERE, "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--worker-class", "gthread", "--threads", "1", "--keep-alive", "60",
        "--log-level", "warning", f"web_apps:{app}",
    ]  # fmt: skip


@contextlib.contextmanager
def serving(kind: str, app: str) -> Iterator[int]:
    """Run ``app`` under ``kind`` (uvicorn or gunicorn) on a free port; yield the port."""
    port = _free_port()
    env = {
        **os.environ,
        "LOGMAGIC_SINKS": "null=file:///dev/null",
        "LOGMAGIC_ROUTES": "__root__=INFO:null",
        "PYTHONPATH": HERE,
    }
    proc = subprocess.Popen(_server_command(kind, app, port), env=env, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"bench_web: {kind} did not start {app} on port {port}") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_response(sock: socket.socket, buf: bytearray) -> bytes:
    """Read one HTTP response with a Content-Length body; return its head."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(buf) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    del buf[: end + length]
    return head


def time_server(port: int, n: int) -> tuple[float, bytes]:
    """Seconds for ``n`` sequential requests over one kept-alive connection, and the last head."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        head = b""
        start = time.perf_counter()
        for _ in range(n):
            sock.sendall(REQUEST)
            head = _read_response(sock, buf)
        return time.perf_counter() - start, head


def server_rows(n: int, repeats: int) -> list[tuple[str, float, float]]:
    """(label, bare µs/request, wrapped µs/request) under uvicorn and gunicorn."""
    rows = []
    for label, kind, bare, wrapped in (
        ("ASGI under uvicorn", "uvicorn", "asgi_bare", "asgi_wrapped"),
        ("WSGI under gunicorn", "gunicorn", "wsgi_bare", "wsgi_wrapped"),
        ("ASGI + watch_loop=True", "uvicorn", "asgi_wrapped", "asgi_watched"),
    ):
        with serving(kind, bare) as bare_port, serving(kind, wrapped) as wrapped_port:
            time_server(bare_port, n // 10)  # warm up both
            _, head = time_server(wrapped_port, n // 10)
            if b"x-response-id" not in head.lower():
                raise SystemExit(f"bench_web: the wrapped {kind} app sent no X-Response-Id")
            times: dict[int, list[float]] = {bare_port: [], wrapped_port: []}
            for _ in range(repeats):
                for port in (bare_port, wrapped_port):
                    times[port].append(time_server(port, n)[0] / n * 1e6)
        rows.append((label, statistics.median(times[bare_port]), statistics.median(times[wrapped_port])))
    return rows


def print_rows(rows: list[tuple[str, float, float]]) -> None:
    print(f"{'app':<22} {'bare µs/req':>12} {'wrapped µs/req':>15} {'overhead µs':>12} {'ratio':>6}")
    for name, b, w in rows:
        print(f"{name:<22} {b:>12.2f} {w:>15.2f} {w - b:>12.2f} {w / b:>5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--server", action="store_true", help="also time the apps under uvicorn and gunicorn")
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

    print("Apps called directly:\n")
    print_rows(rows)
    print("\nThe wrapped app makes a txnId, sets the context, adds X-Response-Id and writes the access record.")
    logmagic.shutdown(1.0)
    if args.server:
        print("\nThe apps with their record, under real servers on 127.0.0.1 (sequential requests, keep-alive):\n")
        print_rows(server_rows(n // 4 if not args.quick else n // 2, repeats))


if __name__ == "__main__":
    main()
