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


class ScribeClient:
    """One connection to a Scribe server: ``send(category, lines)`` is one ``Log`` call.

    Shared by the sink and the shipper. ``send`` raises ``Retry`` on ``TRY_LATER`` and on
    connection errors (after dropping the connection, so the next call reconnects).
    """

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.thrift = load_scribe()
        self.host, self.port, self.timeout = host, port, timeout
        self._client: Any = None
        self._transport: Any = None
        self._socket: Any = None

    def _connect(self) -> None:
        # Built by hand (not ``make_client``) so the raw socket stays reachable: a forked child
        # must close its copy without shutting down the parent's connection.
        from thriftpy2.protocol import TBinaryProtocol
        from thriftpy2.thrift import TClient
        from thriftpy2.transport import TFramedTransport, TSocket

        ms = int(self.timeout * 1000)
        tsocket = TSocket(self.host, self.port, socket_timeout=ms, connect_timeout=ms)  # type: ignore[no-untyped-call]
        transport = TFramedTransport(tsocket)  # type: ignore[no-untyped-call]
        transport.open()  # type: ignore[no-untyped-call]
        self._socket, self._transport = tsocket, transport
        self._client = TClient(self.thrift.scribe, TBinaryProtocol(transport))  # type: ignore[no-untyped-call]

    def send(self, category: str, lines: list[bytes]) -> None:
        """Deliver ``lines`` (newline-terminated) as one entry each; bytes that are not UTF-8
        are replaced (Scribe messages are Thrift strings)."""
        entry = self.thrift.LogEntry
        entries = [entry(category=category, message=line.rstrip(b"\n").decode("utf-8", "replace")) for line in lines]
        try:
            if self._client is None:
                self._connect()
            result = self._client.Log(entries)
        except Exception as exc:  # connection refused, reset, timeout, a broken frame
            self.close()
            raise Retry(f"{type(exc).__name__}: {exc}") from None
        if result != self.thrift.ResultCode.OK:
            raise Retry("TRY_LATER")

    def close(self) -> None:
        transport, self._transport, self._socket, self._client = self._transport, None, None, None
        if transport is not None:
            try:
                transport.close()
            except Exception:
                pass

    def forget(self) -> None:
        """After fork: close this process's copy of the socket only. ``shutdown()`` would cut
        the parent's connection too, since both processes share it."""
        tsocket, self._transport, self._socket, self._client = self._socket, None, None, None
        sock = getattr(tsocket, "sock", None)
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"<ScribeClient {self.host}:{self.port}>"


class ScribeSink(QueuedSink):
    """Deliver batches of GELF lines to a Scribe server, under one category."""

    def __init__(self, host: str, port: int, category: str, *, timeout: float = 10.0, **queue_options: Any) -> None:
        if not category:
            raise ValueError("scribe sink: a category is required, as in scribe://host:1463/category")
        self.client = ScribeClient(host, port, timeout)
        super().__init__(**queue_options)
        self.category = category

    def deliver(self, batch: list[bytes]) -> None:
        self.client.send(self.category, batch)

    def close_connection(self) -> None:
        self.client.close()

    def after_fork(self) -> None:
        self.client.forget()
        super().after_fork()

    def __repr__(self) -> str:
        return f"<ScribeSink {self.client.host}:{self.client.port}/{self.category}>"
