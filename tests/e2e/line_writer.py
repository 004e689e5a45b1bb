"""A log writer for the shipper tests: numbered JSON lines, to stdout or appended to a file.

Run as a script (its own process, like the service whose log is shipped)::

    python line_writer.py --count 200000 --rate 50000 [--out FILE [--reopen-on-hup]]

Line ``seq`` is always ``line(seq)``, so a test can check every received line byte for byte.
Every ``LONG_EVERY``-th line is longer than ``LONG_SIZE`` bytes: more than svlogd's 1000 (so
svlogd's rotation can cut it between two files) and than logmagic's own short lines. Lines are
written in blocks of whole lines, one ``os.write`` each, paced to ``--rate`` lines per second.
With ``--out`` the file is opened ``O_APPEND`` (logrotate ``copytruncate`` works on it) and,
with ``--reopen-on-hup``, reopened by name on SIGHUP (logrotate ``create`` + ``postrotate``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

LONG_EVERY = 40
LONG_SIZE = 1500


def line(seq: int) -> bytes:
    """The JSON line number ``seq``, newline included; about 100 bytes, or > ``LONG_SIZE``."""
    size = LONG_SIZE + seq % 700 if seq % LONG_EVERY == 0 else 40 + seq % 30
    unit = f"{seq:x}-"
    pad = (unit * (size // len(unit) + 1))[:size]
    return b'{"seq":%d,"msg":"request done","pad":"%s"}\n' % (seq, pad.encode())


def _open(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--start", type=int, default=0, help="the first sequence number")
    parser.add_argument("--rate", type=float, default=0.0, help="lines per second (0: as fast as possible)")
    parser.add_argument("--block", type=int, default=500, help="lines per write")
    parser.add_argument("--out", help="append to this file (default: stdout)")
    parser.add_argument("--reopen-on-hup", action="store_true")
    args = parser.parse_args()

    fd = _open(args.out) if args.out else sys.stdout.fileno()
    if args.reopen_on_hup:

        def reopen(signum: int, frame: Any) -> None:
            # Runs between two writes: once the new file exists, nothing more goes to the old one.
            nonlocal fd
            new = _open(args.out)
            fd, old = new, fd
            os.close(old)

        signal.signal(signal.SIGHUP, reopen)
    started = time.monotonic()
    end = args.start + args.count
    for first in range(args.start, end, args.block):
        block = b"".join(line(seq) for seq in range(first, min(first + args.block, end)))
        view = memoryview(block)
        while view:
            view = view[os.write(fd, view) :]
        if args.rate:
            ahead = started + (first + args.block - args.start) / args.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    os.close(fd)


if __name__ == "__main__":
    main()
