"""logmagic: structured JSON logging with transaction ids that follow a request.

    import logmagic
    log = logmagic.local("myapp.api.handler")
    log.dbg("Something is wrong", {"request": req})
    log.info("user signed in", accountId="ac42")

The public API is re-exported here; see docs/ for the guides.
"""

from logmagic import config as _config
from logmagic import lifecycle as _lifecycle
from logmagic.config import add_rewriter, configure, register_sink, remove_rewriter, reset, route
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
from logmagic.record import Record
from logmagic.request import request_rewriter
from logmagic.sinks import Sink
from logmagic.txn import TxnInfo, current_txn_id, new_txn_id, parse_txn_id, transaction

__version__ = "0.1.0"

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
    "LocalLogger",
    "LogMethod",
    "Record",
    "Sink",
    "TxnInfo",
    "add_rewriter",
    "configure",
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
    "web",
]

_config.reset()
del _lifecycle

from logmagic import txn, web  # noqa: E402 - the web layer sits on the API above
