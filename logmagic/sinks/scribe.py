"""The Scribe sink: batches of GELF lines delivered by a Scribe client, under one category.

``scribe://host:1463/category``: each batch is one Thrift ``Log`` call with one GELF line per
entry (``logmagic.transport.scribe``). ``TRY_LATER`` and connection errors keep the batch and
retry it later on a new connection. thriftpy2 is imported only when this sink is made.
"""

from __future__ import annotations

from typing import Any

from logmagic.sinks.queued import QueuedSink
from logmagic.transport.scribe import ScribeClient

__all__ = ["ScribeSink"]


class ScribeSink(QueuedSink):
    """Deliver batches of GELF lines to a Scribe server, under one category."""

    def __init__(self, host: str, port: int, category: str, *, timeout: float = 10.0, **queue_options: Any) -> None:
        if not category:
            raise ValueError("scribe sink: a category is required, as in scribe://host:1463/category")
        try:
            self.client = ScribeClient(host, port, category, timeout)
        except ValueError as exc:
            raise ValueError(f"scribe sink: {exc}") from None
        super().__init__(**queue_options)
        self.category = category

    def deliver(self, batch: list[bytes]) -> None:
        self.client.send(batch)

    def close_connection(self) -> None:
        self.client.close()

    def after_fork(self) -> None:
        self.client.forget()
        super().after_fork()

    def __repr__(self) -> str:
        return f"<ScribeSink {self.client.host}:{self.client.port}/{self.category}>"
