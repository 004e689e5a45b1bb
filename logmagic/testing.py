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

from logmagic import config
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
    saved = config.snapshot()
    config.configure(routes=[(ROOT, TRACE8, [SINK_NAME])], sinks={SINK_NAME: _Keep(records)}, env=False)
    try:
        yield records
    finally:
        config.restore(saved)
