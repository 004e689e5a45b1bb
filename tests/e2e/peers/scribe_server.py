"""A Scribe server: Thrift ``Log(list<LogEntry>)`` over framed transport and binary protocol.

Every accepted entry is written to ``--out`` as ``category<TAB>message`` and flushed before
the call answers OK, so what the server acknowledged is on disk even if it is killed next.
Each call is also noted in ``--out``.calls as ``OK <n>`` or ``TRY_LATER <n>``.

``--try-later-calls N`` answers the first N calls with TRY_LATER (their entries are not kept);
``--try-later-seconds S`` does the same for every call in the first S seconds after start.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from thriftpy2.protocol import TBinaryProtocolFactory
from thriftpy2.rpc import make_server
from thriftpy2.transport import TFramedTransportFactory

from logmagic.transport.scribe import load_scribe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--try-later-calls", type=int, default=0)
    parser.add_argument("--try-later-seconds", type=float, default=0.0)
    args = parser.parse_args()

    scribe = load_scribe()
    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 - open for the life of the process
    calls = open(args.out + ".calls", "a", encoding="utf-8")  # noqa: SIM115
    lock = threading.Lock()
    started = time.monotonic()
    state = {"calls": 0}

    class Handler:
        def Log(self, messages: list) -> int:
            with lock:
                state["calls"] += 1
                later = state["calls"] <= args.try_later_calls or time.monotonic() - started < args.try_later_seconds
                if later:
                    calls.write(f"TRY_LATER {len(messages)}\n")
                    calls.flush()
                    return scribe.ResultCode.TRY_LATER
                out.write("".join(f"{m.category}\t{m.message}\n" for m in messages))
                out.flush()
                calls.write(f"OK {len(messages)}\n")
                calls.flush()
                return scribe.ResultCode.OK

    server = make_server(
        scribe.scribe,
        Handler(),
        "127.0.0.1",
        args.port or 1,  # make_server wants a true port; the real one is bound below
        proto_factory=TBinaryProtocolFactory(),
        trans_factory=TFramedTransportFactory(),
        client_timeout=0,  # keep idle client connections, as a long-lived Scribe server does
    )
    server.daemon = True
    listener = server.trans
    listener.port = args.port
    listener.listen()
    listener.listen = lambda: None  # serve() would listen again
    sys.stdout.write(f"READY {listener.sock.getsockname()[1]}\n")
    sys.stdout.flush()
    server.serve()


if __name__ == "__main__":
    main()
