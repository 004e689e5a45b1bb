"""The Scribe sink: Thrift ``Log(list<LogEntry>)`` over framed transport and binary protocol.

``scribe://host:1463/category``: each batch is one ``Log`` call with one GELF line per entry.
``TRY_LATER`` and connection errors keep the batch and retry it later on a new connection.
The Thrift service comes from ``scribe.thrift`` next to this module, loaded with thriftpy2
(imported only when this sink is made).
"""

from __future__ import annotations

import os
from typing import Any

from logmagic.sinks.queued import QueuedSink, Retry

IDL = os.path.join(os.path.dirname(__file__), "scribe.thrift")


def load_scribe() -> Any:
    """The thriftpy2 module for scribe.thrift (shared by the sink, the shipper and test servers)."""
    try:
        import thriftpy2
    except ImportError:
        raise ValueError("the scribe sink needs thriftpy2: pip install 'logmagic[scribe]'") from None
    return thriftpy2.load(IDL, module_name="logmagic_scribe_thrift")


class ScribeSink(QueuedSink):
    """Deliver batches of GELF lines to a Scribe server, under one category."""

    def __init__(self, host: str, port: int, category: str, *, timeout: float = 10.0, **queue_options: Any) -> None:
        if not category:
            raise ValueError("scribe sink: a category is required, as in scribe://host:1463/category")
        self.thrift = load_scribe()
        super().__init__(**queue_options)
        self.host, self.port, self.category = host, port, category
        self.timeout = timeout
        self._client: Any = None

    def _connect(self) -> Any:
        from thriftpy2.protocol import TBinaryProtocolFactory
        from thriftpy2.rpc import make_client
        from thriftpy2.transport import TFramedTransportFactory

        return make_client(
            self.thrift.scribe,
            self.host,
            self.port,
            proto_factory=TBinaryProtocolFactory(),  # type: ignore[no-untyped-call]
            trans_factory=TFramedTransportFactory(),
            timeout=int(self.timeout * 1000),
        )

    def deliver(self, batch: list[bytes]) -> None:
        entries = [
            self.thrift.LogEntry(category=self.category, message=line.rstrip(b"\n").decode("utf-8")) for line in batch
        ]
        try:
            if self._client is None:
                self._client = self._connect()
            result = self._client.Log(entries)
        except Exception as exc:  # connection refused, reset, timeout, a broken frame
            self.close_connection()
            raise Retry(f"{type(exc).__name__}: {exc}") from None
        if result != self.thrift.ResultCode.OK:
            raise Retry("TRY_LATER")

    def close_connection(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
