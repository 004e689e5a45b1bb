"""Helpers for testing code that logs: capture records as dicts instead of writing them.

    from logmagic.testing import capture

    with capture() as records:
        charge(order)
    assert records[0]["msg"] == "charged"
    assert records[0]["fields"] == {"amount": 12}

With pytest, the ``logmagic_records`` fixture (``logmagic.pytest_plugin``, loaded
automatically) does the same for the whole test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from logmagic import config, logger, redact, request, rewriters
from logmagic._identity import IDENTITY
from logmagic.encode.gelf import forget_names
from logmagic.levels import TRACE8
from logmagic.record import Record
from logmagic.routing import ROOT
from logmagic.sinks import Sink

__all__ = ["capture"]

#: The name the capturing sink is registered under while a ``capture()`` block runs.
SINK_NAME = "logmagic-testing"


class _Keep(Sink):
    """Appends every record it receives to a list, as a plain dict."""

    def __init__(self, out: list[dict[str, Any]]) -> None:
        self.out = out

    def emit(self, record: Record) -> None:
        fields = dict(record.fields)
        self.out.append(
            {
                "facility": record.facility,
                "level": record.level,
                "msg": record.msg,
                "fields": fields,
                "timestamp": record.timestamp,
                "txnId": fields.pop("txnId", None),
                "full_message": record.full_message,
            }
        )


class _Saved:
    """Everything ``configure``, ``route``, ``register_sink`` and the rewriter calls can change."""

    def __init__(self) -> None:
        self.routes = config.routes()
        self.sinks = config.sinks()
        self.head = list(rewriters._head)
        self.tail = list(rewriters._tail)
        self.user = list(rewriters._user)
        self.trusted = list(rewriters._trusted)
        self.reported = set(rewriters._reported)
        self.redactor = redact.ACTIVE
        self.host = IDENTITY.host
        self.version = IDENTITY.version
        self.account_hook = request._hook
        self.account_hook_failed = request._hook_failed

    def restore(self) -> None:
        """Put all of it back; close sinks registered since, which nothing refers to any more."""
        kept = {id(s) for s in self.sinks.values()}
        for sink in {id(s): s for s in config._sinks.values()}.values():
            if id(sink) not in kept:
                sink.close(1.0)
        config._sinks.clear()
        config._sinks.update(self.sinks)
        config._table.clear()
        for route in self.routes:
            config._table.put(route)
        rewriters._head[:] = self.head
        rewriters._tail[:] = self.tail
        rewriters._user[:] = self.user
        rewriters._trusted[:] = self.trusted
        rewriters._reported.clear()
        rewriters._reported.update(self.reported)
        redact.set_active(self.redactor)
        forget_names()
        IDENTITY.host = self.host
        IDENTITY.version = self.version
        request._hook = self.account_hook
        request._hook_failed = self.account_hook_failed
        logger.set_resolver(config._resolve)


@contextmanager
def capture() -> Iterator[list[dict[str, Any]]]:
    """Capture every record logged inside the block, of every facility and level.

    Yields a list that fills up as records are logged. Each item is a dict with ``facility``,
    ``level`` (the number, e.g. ``logmagic.INFO``), ``msg`` (after ``${name}`` interpolation),
    ``fields`` (as a sink receives them: rewritten and redacted, without ``txnId``),
    ``timestamp`` (float seconds), ``txnId`` (the record's transaction id or ``None``) and
    ``full_message`` (a traceback or stack, or ``None``).

    Inside the block, the only route is ``__root__`` down to TRACE8 to the capturing sink, so
    nothing is written to stderr or elsewhere, and ``LOGMAGIC_ROUTES`` is not applied. On exit
    the previous configuration is back as it was: routes, sinks (the same objects, not closed),
    rewriters, redaction, host, version and account hook, whatever the block changed.
    Blocks may be nested.
    """
    records: list[dict[str, Any]] = []
    with config._lock:
        saved = _Saved()
        config.configure(routes=[(ROOT, TRACE8, [SINK_NAME])], sinks={SINK_NAME: _Keep(records)}, env=False)
    try:
        yield records
    finally:
        with config._lock:
            saved.restore()
