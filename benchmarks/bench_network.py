"""Network sinks: what a log call costs the application thread, and what reaches the peer.

1. ns per ``log.info`` call in the application thread with a Scribe sink and with an HTTP
   sink (both delivering to live peers on loopback), against the same call with GELF on stderr
   (fd 2 on /dev/null). Goal: within 1.2x — the network is the worker thread's business.
2. Records per second delivered: N records logged as fast as possible, until ``flush``
   returns, counted by the peer (a Thrift Scribe server, an HTTP server) in its own process.

Run: ``.venv/bin/python benchmarks/bench_network.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import logmagic

SCRIBE_PEER = textwrap.dedent(
    """
    import sys
    from thriftpy2.protocol import TBinaryProtocolFactory
    from thriftpy2.rpc import make_server
    from thriftpy2.transport import TFramedTransportFactory
    from logmagic.transport.scribe import load_scribe
    t = load_scribe()
    out = open(sys.argv[2], "w")
    class Handler:
        count = 0
        def Log(self, messages):
            Handler.count += len(messages)
            out.seek(0); out.write(str(Handler.count)); out.truncate(); out.flush()
            return t.ResultCode.OK
    make_server(t.scribe, Handler(), "127.0.0.1", int(sys.argv[1]),
                proto_factory=TBinaryProtocolFactory(), trans_factory=TFramedTransportFactory()).serve()
    """
)

HTTP_PEER = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    out = open(sys.argv[2], "w")
    count = 0
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            global count
            body = self.rfile.read(int(self.headers["Content-Length"]))
            count += body.count(b"\\n")
            out.seek(0); out.write(str(count)); out.truncate(); out.flush()
            self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *args):
            pass
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """
)

TXN = ".rh-3dT5.h-product-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def peer(code: str) -> Iterator[tuple[int, Path]]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        counter = Path(tmp) / "count"
        counter.write_text("0")
        proc = subprocess.Popen([sys.executable, "-c", code, str(port), str(counter)])
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("peer did not start") from None
                    time.sleep(0.05)
            yield port, counter
        finally:
            proc.kill()
            proc.wait()


def per_call_ns(n: int, repeats: int) -> tuple[float, float]:
    """Median ns per call: wall time, and the calling thread's own CPU time.

    Wall time also holds the GIL time the sink's worker takes while the loop logs flat out;
    the thread's CPU time is what the call itself costs the application thread.
    """
    log = logmagic.local("bench.net")
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter_ns(), time.thread_time_ns()
        for _ in range(n):
            log.info("Something is wrong", accountId="ac42", txnId=TXN, status=200)
        cpus.append((time.thread_time_ns() - cpu) / n)
        walls.append((time.perf_counter_ns() - start) / n)
        logmagic.flush(30)
    return statistics.median(walls), statistics.median(cpus)


@contextlib.contextmanager
def stderr_on_devnull() -> Iterator[None]:
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, repeats, total = (5_000, 3, 20_000) if args.quick else (20_000, 5, 200_000)
    for var in ("LOGMAGIC_ROUTES", "LOGMAGIC_SINKS"):
        os.environ.pop(var, None)

    logmagic.reset()
    logmagic.route("__root__", logmagic.INFO, "graylog2-stderr")
    with stderr_on_devnull():
        stderr_ns, stderr_cpu = per_call_ns(n, repeats)

    rows = [("GELF to stderr (fd 2 on /dev/null)", (stderr_ns, stderr_cpu), None)]
    for label, code, spec in (
        ("Scribe sink, live Thrift peer", SCRIBE_PEER, "scribe://127.0.0.1:{port}/bench?queue_size=1000000"),
        ("HTTP sink, live HTTP peer", HTTP_PEER, "http://127.0.0.1:{port}/ingest?queue_size=1000000"),
    ):
        with peer(code) as (port, counter):
            logmagic.reset()
            logmagic.register_sink("net", spec.format(port=port))
            logmagic.route("__root__", logmagic.INFO, "net")
            call_ns = per_call_ns(n, repeats)
            base = int(counter.read_text() or 0)
            log = logmagic.local("bench.net")
            start = time.perf_counter()
            for i in range(total):
                log.info("Something is wrong", accountId="ac42", txnId=TXN, status=200, i=i)
            flushed = logmagic.flush(120)
            elapsed = time.perf_counter() - start
            time.sleep(0.2)
            arrived = int(counter.read_text() or 0) - base
            stats = logmagic.stats()["net"]
            rows.append((label, call_ns, (total, arrived, elapsed, flushed, stats["dropped"])))
            logmagic.reset()

    print("| sink | app thread CPU ns/call | ratio | wall ns/call | ratio | delivered | records/s | dropped |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, (ns, cpu), delivery in rows:
        if delivery is None:
            print(f"| {label} | {cpu:,.0f} | 1.00x | {ns:,.0f} | 1.00x | — | — | — |")
            continue
        total_, arrived, elapsed, flushed, dropped = delivery
        note = "" if flushed else " (flush timed out)"
        print(
            f"| {label} | {cpu:,.0f} | {cpu / stderr_cpu:.2f}x | {ns:,.0f} | {ns / stderr_ns:.2f}x | "
            f"{arrived:,}/{total_:,}{note} | {arrived / elapsed:,.0f} | {dropped} |"
        )
    for label, (_, cpu), _ in rows[1:]:
        verdict = "met" if cpu / stderr_cpu <= 1.2 else "NOT met"
        print(f"Goal {verdict}: {label}: {cpu / stderr_cpu:.2f}x <= 1.2x the stderr call (app thread CPU)")


if __name__ == "__main__":
    main()
