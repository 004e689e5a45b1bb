"""The hand-written code the logging benchmarks compare logmagic with.

``bench_logging.py`` and ``bench_direct_path.py`` time the same call against these, so the
ratios of the two scripts are comparable.
"""

from __future__ import annotations

import os
import socket
import time
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


def gelf_baseline(msg: str, fields: dict[str, Any] | None = None, /, **kw: Any) -> None:
    """The same GELF line logmagic writes, built and written to /dev/null by hand."""
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
    _write(DEVNULL_FD, _dumps(d, option=_NEWLINE))


def gelf_baseline_fd2(msg: str, fields: dict[str, Any] | None = None, /, **kw: Any) -> None:
    """The same hand-written line, written to fd 2 (a pipe in the pipe rows).

    A function of its own rather than a parameter, so that both cost the same per call.
    """
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
    _write(2, _dumps(d, option=_NEWLINE))


def empty_function(msg: str, fields: dict[str, Any] | None = None, /, **kw: Any) -> None:
    """What a call with these arguments costs when it does nothing."""
