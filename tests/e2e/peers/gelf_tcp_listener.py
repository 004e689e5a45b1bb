"""A GELF TCP input: null-byte delimited messages, one connection per thread; TLS with ``--cert``.

Each message is written to ``--out`` as one line (a message holding a raw newline would show
up as two lines and fail to parse, which is what a test wants to notice). ``--close-after N``
closes each connection after its Nth message, as a collector restarting or timing out idle
connections does.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
import threading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--close-after", type=int, default=0)
    args = parser.parse_args()

    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 - open for the life of the process
    lock = threading.Lock()
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert)

    def serve(conn: socket.socket) -> None:
        try:
            if context is not None:
                conn = context.wrap_socket(conn, server_side=True)
            buffer = b""
            count = 0
            while not args.close_after or count < args.close_after:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
                *messages, buffer = buffer.split(b"\0")
                count += len(messages)
                if messages:
                    with lock:
                        out.write("".join(m.decode("utf-8") + "\n" for m in messages))
                        out.flush()
        except (OSError, ssl.SSLError) as exc:
            sys.stderr.write(f"connection failed: {type(exc).__name__}: {exc}\n")
            sys.stderr.flush()
        finally:
            conn.close()

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    sys.stdout.write(f"READY {listener.getsockname()[1]}\n")
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
