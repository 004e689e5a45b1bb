"""The hand-written code the logging benchmarks compare logmagic with.

``bench_logging.py`` and ``bench_direct_path.py`` time the same call against these, so the
ratios of the two scripts are comparable.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import orjson

#: A transaction id as the article shows them, passed as the ``txnId`` field.
TXN = ".rh-3dT5.h-product-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0"
HOST = socket.gethostname() or "localhost"
DEVNULL_FD = os.open(os.devnull, os.O_WRONLY)
_time = time.time
_dumps = orjson.dumps
_write = os.write
_NEWLINE = orjson.OPT_APPEND_NEWLINE


def _gelf_line_writer(fd: int) -> Callable[..., None]:
    """A function with the log call's signature that builds logmagic's GELF line by hand and
    writes it to ``fd``. Both baselines are made here, so they cost the same per call."""

    def baseline(msg: str, fields: dict[str, Any] | None = None, /, **kw: Any) -> None:
        d = {
            "version": "1.1",
            "host": HOST,
            "short_message": msg,
            "timestamp": int(_time() * 1000) / 1000,
            "level": 6,
            "_facility": "bench.api",
            "_accountId": kw["accountId"],
            "_txnId": kw["txnId"],
            "_status": kw["status"],
        }
        _write(fd, _dumps(d, option=_NEWLINE))

    return baseline


#: The same GELF line logmagic writes, built and written to /dev/null by hand.
gelf_baseline = _gelf_line_writer(DEVNULL_FD)
#: The same hand-written line, written to fd 2 (a pipe in the pipe rows).
gelf_baseline_fd2 = _gelf_line_writer(2)


def empty_function(msg: str, fields: dict[str, Any] | None = None, /, **kw: Any) -> None:
    """What a call with these arguments costs when it does nothing."""
