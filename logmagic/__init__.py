"""logmagic: structured JSON logging with transaction ids that follow a request.

    import logmagic
    log = logmagic.local("myapp.api.handler")
    log.dbg("Something is wrong", {"request": req})
    log.info("user signed in", accountId="ac42")

The public API (``logmagic.api``) is loaded on the first use of one of its names, not by
``import logmagic``: importing the package starts no thread, registers no hook and writes
nothing, and the host tools (``gelf-chainsaw``, ``logmagic txn``), which import
``logmagic.<submodule>``, never load the logging runtime at all. See docs/ for the guides.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:  # the public names for type checkers; at run time __getattr__ loads them
    from typing import Any

    from logmagic import web
    from logmagic.api import *  # noqa: F403

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
    "web",
]


#: Public names that are submodules: importing one does not need the whole API.
_SUBMODULES = frozenset({"txn", "web"})


def __getattr__(name: str) -> Any:
    """A public name, from ``logmagic.api`` (loaded now if it was not), kept for the next use."""
    if name not in __all__:
        raise AttributeError(f"module 'logmagic' has no attribute {name!r}")
    if name in _SUBMODULES:  # also reached by ``from logmagic import txn`` inside the runtime
        value = importlib.import_module(f"logmagic.{name}")
    else:
        value = getattr(importlib.import_module("logmagic.api"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
