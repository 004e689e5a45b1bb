"""The public API, assembled: what ``logmagic.<name>`` gives.

Importing this module loads the runtime: the configuration from the ``LOGMAGIC_*``
environment, the exit flush and the fork handlers. ``logmagic/__init__.py`` imports it on
the first use of a public name, so that ``import logmagic`` alone, and the host tools that
import ``logmagic.<submodule>``, start nothing and write nothing.
"""

from logmagic import lifecycle as _lifecycle
from logmagic import txn
from logmagic.config import add_rewriter, configure, register_sink, remove_rewriter, reset, route
from logmagic.flight_recorder import FlightRecorder
from logmagic.levels import (
    ALERT,
    CRIT,
    DBG,
    DEBUG,
    EMERG,
    ERR,
    ERROR,
    INFO,
    MSG,
    NOTICE,
    TRACE,
    TRACE1,
    TRACE2,
    TRACE3,
    TRACE4,
    TRACE5,
    TRACE6,
    TRACE7,
    TRACE8,
    WARN,
    WARNING,
    level_name,
    parse_level,
)
from logmagic.lifecycle import flush, reopen, shutdown, stats
from logmagic.logger import LocalLogger, LogMethod, local
from logmagic.loop_watch import watch_event_loop
from logmagic.record import Record
from logmagic.request import request_rewriter
from logmagic.sinks import Sink
from logmagic.txn import context, context_fields, current_txn_id, new_txn_id, transaction
from logmagic.txn_format import TxnInfo, parse_txn_id

__all__ = [
    "ALERT",
    "CRIT",
    "DBG",
    "DEBUG",
    "EMERG",
    "ERR",
    "ERROR",
    "INFO",
    "MSG",
    "NOTICE",
    "TRACE",
    "TRACE1",
    "TRACE2",
    "TRACE3",
    "TRACE4",
    "TRACE5",
    "TRACE6",
    "TRACE7",
    "TRACE8",
    "WARN",
    "WARNING",
    "FlightRecorder",
    "LocalLogger",
    "LogMethod",
    "Record",
    "Sink",
    "TxnInfo",
    "add_rewriter",
    "configure",
    "context",
    "context_fields",
    "current_txn_id",
    "flush",
    "level_name",
    "local",
    "new_txn_id",
    "parse_level",
    "parse_txn_id",
    "register_sink",
    "remove_rewriter",
    "reopen",
    "request_rewriter",
    "reset",
    "route",
    "shutdown",
    "stats",
    "transaction",
    "txn",
    "watch_event_loop",
]

del _lifecycle  # loaded for its exit flush and fork handlers
