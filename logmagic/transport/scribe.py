"""A Scribe client: Thrift ``Log(list<LogEntry>)`` over framed transport and binary protocol.

``send(batch)`` is one ``Log`` call with one entry per line, under the client's category or
the one given. ``TRY_LATER`` and connection errors raise ``Retry``, after dropping the
connection, so the next send connects again. The Thrift service comes from ``scribe.thrift``
next to this module, loaded with thriftpy2 (imported when a client is made).
"""

from __future__ import annotations

import os
from typing import Any

from logmagic.transport.retry import Retry

__all__ = ["ScribeClient", "load_scribe"]

IDL = os.path.join(os.path.dirname(__file__), "scribe.thrift")


def load_scribe() -> Any:
    """The thriftpy2 module for scribe.thrift (shared by the client and Scribe servers in tests)."""
    try:
        import thriftpy2
    except ImportError:
        raise ValueError("thriftpy2 is not installed: pip install 'logmagic[scribe]'") from None
    return thriftpy2.load(IDL, module_name="logmagic_scribe_thrift")


class ScribeClient:
    """One connection to a Scribe server, opened by the first send.

    ``category`` is used by ``send`` when it is given none; Scribe accepts an empty one, a
    caller that needs one checks it.
    """

    def __init__(self, host: str, port: int, category: str = "", timeout: float = 10.0) -> None:
        self.thrift = load_scribe()
        self.host, self.port, self.category, self.timeout = host, port, category, timeout
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

    def send(self, batch: list[bytes], category: str | None = None) -> None:
        """Deliver ``batch`` (newline-terminated lines) as one entry each; bytes that are not
        UTF-8 are replaced (Scribe messages are Thrift strings)."""
        entry = self.thrift.LogEntry
        name = self.category if category is None else category
        entries = [entry(category=name, message=line.rstrip(b"\n").decode("utf-8", "replace")) for line in batch]
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
        """Close the connection; the next send opens another."""
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
        return f"<ScribeClient {self.host}:{self.port}/{self.category}>"
