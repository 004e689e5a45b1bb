"""An HTTP collector: records every POST and answers from a script of statuses.

Each request becomes one JSON line in ``--out``: the server's receive time (``t``, monotonic
seconds), the sequence number, the path, the headers, the status it was answered with,
whether the body came gzip-compressed, and the body (decompressed, as text).

``--responses 503,503,200`` answers the first two requests 503 and every later one 200 (the
last status repeats); ``429:1`` is a 429 with ``Retry-After: 1``. ``--cert FILE`` (key and
certificate chain in one PEM file) serves HTTPS instead.
"""

from __future__ import annotations

import argparse
import gzip
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--responses", default="200")
    parser.add_argument("--cert")
    args = parser.parse_args()

    script = []
    for item in args.responses.split(","):
        status, _, retry_after = item.partition(":")
        script.append((int(status), retry_after or None))
    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 - open for the life of the process
    lock = threading.Lock()
    state = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            t = time.monotonic()
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            zipped = raw[:2] == b"\x1f\x8b"
            body = gzip.decompress(raw) if zipped else raw
            with lock:
                n = state["n"]
                state["n"] += 1
                status, retry_after = script[min(n, len(script) - 1)]
                entry: dict[str, Any] = {
                    "t": t,
                    "n": n,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "status": status,
                    "gzip": zipped,
                    "body": body.decode("utf-8"),
                }
                out.write(json.dumps(entry) + "\n")
                out.flush()
            reply = b"ok\n" if status < 300 else f"status {status}\n".encode()
            self.send_response(status)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        context: ssl.SSLContext | None = None

        def finish_request(self, request: Any, client_address: Any) -> None:
            if self.context is not None:  # the TLS handshake runs in the request's own thread
                request = self.context.wrap_socket(request, server_side=True)
            super().finish_request(request, client_address)

        def handle_error(self, request: Any, client_address: Any) -> None:
            exc = sys.exc_info()[1]
            sys.stderr.write(f"request from {client_address} failed: {type(exc).__name__}: {exc}\n")
            sys.stderr.flush()

    server = Server(("127.0.0.1", args.port), Handler)
    if args.cert:
        server.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.context.load_cert_chain(args.cert)
    sys.stdout.write(f"READY {server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
