"""Graylog's own inputs as sinks: GELF over UDP (compressed, chunked) and over TCP or TLS.

``gelf+udp://host:12201``: each message is zlib-compressed and sent in one datagram, or split
into GELF chunks when it is larger than 8 KiB; at most 128 chunks. A message that would need
more has its ``full_message`` cut until it fits (counted in ``stats()["truncated"]``).

``gelf+tcp://host:12201``: uncompressed messages, each ended by a null byte, on one kept
connection. ``gelf+tls://host:12201`` is the same over TLS, verified (``?ca=`` for a private CA).
The clients are in ``logmagic.transport.gelf``.
"""

from __future__ import annotations

from typing import Any

from logmagic.sinks.queued import QueuedSink
from logmagic.transport.gelf import CHUNK_SIZE, GelfTcpClient, GelfUdpClient

__all__ = ["GelfTcpSink", "GelfUdpSink"]


class GelfUdpSink(QueuedSink):
    """GELF over UDP: compressed, chunked above 8 KiB."""

    def __init__(self, host: str, port: int, *, chunk_size: int = CHUNK_SIZE, **queue_options: Any) -> None:
        super().__init__(**queue_options)
        self.client = GelfUdpClient(host, port, chunk_size)

    def deliver(self, batch: list[bytes]) -> None:
        self.client.send(batch)

    def close_connection(self) -> None:
        self.client.close()

    def stats(self) -> dict[str, int]:
        return {**super().stats(), "truncated": self.client.truncated}


class GelfTcpSink(QueuedSink):
    """GELF over TCP (or TLS): null-byte delimited messages on one connection."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool = False,
        ca: str | None = None,
        timeout: float = 10.0,
        **queue_options: Any,
    ) -> None:
        try:
            self.client = GelfTcpClient(host, port, tls=tls, ca=ca, timeout=timeout)
        except ValueError as exc:
            raise ValueError(f"gelf+tls sink: {exc}") from None
        super().__init__(**queue_options)

    def deliver(self, batch: list[bytes]) -> None:
        self.client.send(batch)

    def close_connection(self) -> None:
        self.client.close()
