"""The current transaction id, carried in a context variable.

Every record written while an id is current carries it as ``txnId``. Context variables follow
asyncio tasks by themselves; threads need an explicit copy of the context.
"""

from __future__ import annotations

from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("logmagic_txn_id", default=None)

#: The hot path reads the id through this bound method.
get_current = _current.get


def current_txn_id() -> str | None:
    """The transaction id of the running request or job, or ``None``."""
    return _current.get()
