"""Graylog's own inputs: GELF over UDP (compressed, chunked) and over TCP or TLS (null-delimited).

UDP: each message is zlib-compressed and sent in one datagram, or split into GELF chunks
(magic ``0x1e 0x0f``, an 8-byte message id, sequence number and count) when it is larger than
the chunk size (8 KiB); at most 128 chunks. A message that would need more has its
``full_message`` (then ``short_message``) cut until it fits, counted in ``truncated``.

TCP: uncompressed messages, each ended by a null byte, on one kept connection, opened again
when the collector has closed it. TLS is the same, verified (``ca`` for a private CA).
Neither has acknowledgements: a send that returns was handed to the kernel, no more.
"""

from __future__ import annotations

import math
import os
import select
import socket
import ssl
import zlib

import orjson

from logmagic.transport.retry import Retry

__all__ = ["CHUNK_SIZE", "MAX_CHUNKS", "GelfTcpClient", "GelfUdpClient", "chunks"]

CHUNK_SIZE = 8192
MAX_CHUNKS = 128
_HEADER = 12  # magic (2) + message id (8) + sequence (1) + count (1)
_MAGIC = b"\x1e\x0f"


def chunks(payload: bytes, message_id: bytes, size: int = CHUNK_SIZE) -> list[bytes]:
    """The datagrams for one compressed message (a single one when it fits)."""
    if len(payload) <= size:
        return [payload]
    room = size - _HEADER
    count = math.ceil(len(payload) / room)
    if count > MAX_CHUNKS:
        raise ValueError(f"message needs {count} chunks, more than {MAX_CHUNKS}")
    return [_MAGIC + message_id + bytes((i, count)) + payload[i * room : (i + 1) * room] for i in range(count)]


class GelfUdpClient:
    """GELF over UDP: each line of a batch one message, compressed, chunked above ``chunk_size``."""

    def __init__(self, host: str, port: int, chunk_size: int = CHUNK_SIZE) -> None:
        self.address = (host, port)
        self.chunk_size = chunk_size
        #: Messages cut to fit in ``MAX_CHUNKS`` chunks.
        self.truncated = 0
        self._sock: socket.socket | None = None

    def send(self, batch: list[bytes]) -> None:
        """Send each line as one message; a socket error raises ``Retry`` (the whole batch)."""
        if self._sock is None:
            family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
            self._sock = socket.socket(family, socket.SOCK_DGRAM)
        for line in batch:
            try:
                for datagram in self._datagrams(line.rstrip(b"\n")):
                    self._sock.sendto(datagram, self.address)
            except OSError as exc:
                self.close()
                raise Retry(f"{exc.strerror or exc}") from None

    def _datagrams(self, message: bytes) -> list[bytes]:
        payload = zlib.compress(message)
        try:
            return chunks(payload, os.urandom(8), self.chunk_size)
        except ValueError:
            self.truncated += 1
            return chunks(self._shrunk(message), os.urandom(8), self.chunk_size)

    def _shrunk(self, message: bytes) -> bytes:
        """Cut ``full_message`` (then ``short_message``) until the compressed message fits."""
        doc = orjson.loads(message)
        limit = MAX_CHUNKS * (self.chunk_size - _HEADER)
        for key in ("full_message", "short_message"):
            text = doc.get(key)
            while isinstance(text, str) and text and len(zlib.compress(orjson.dumps(doc))) > limit:
                text = text[: len(text) // 2]
                doc[key] = f"{text}…[truncated to fit {MAX_CHUNKS} GELF chunks]"
        doc["_truncated"] = True
        payload = zlib.compress(orjson.dumps(doc))
        if len(payload) > limit:  # too many fields: keep only the GELF basics
            keep = ("version", "host", "short_message", "timestamp", "level", "_facility", "_truncated")
            payload = zlib.compress(orjson.dumps({k: doc[k] for k in keep if k in doc}))
        return payload

    def close(self) -> None:
        """Close the socket; the next send makes another."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __repr__(self) -> str:
        return f"<GelfUdpClient {self.address[0]}:{self.address[1]}>"


def _closed_by_peer(sock: socket.socket) -> bool:
    """Whether the collector has closed (or reset) the kept connection.

    A GELF input sends no data, so a connection with nothing to read is open. When there is
    something, it is read without waiting: an end of stream or an error means closed. Over TLS
    1.3 the server's session tickets arrive after the handshake and make the socket readable
    while it is open; reading them says so. Without this look, the first batch after a close
    would be written into the local buffer, counted as sent and lost. (A close in the instant
    a batch is sent cannot be seen: GELF over TCP has no acknowledgements.)
    """
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False
        if not isinstance(sock, ssl.SSLSocket):
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        timeout = sock.gettimeout()
        sock.setblocking(False)
        try:
            return sock.recv(1) == b""  # TLS records are read; application data is dropped
        finally:
            sock.settimeout(timeout)
    except (ssl.SSLWantReadError, BlockingIOError):
        return False  # only TLS records (tickets) were there: open
    except (OSError, ValueError):
        return True


class GelfTcpClient:
    """GELF over TCP (or TLS): null-byte delimited messages on one connection."""

    def __init__(
        self, host: str, port: int, *, tls: bool = False, ca: str | None = None, timeout: float = 10.0
    ) -> None:
        if ca is not None and not os.path.isfile(ca):
            raise ValueError(f"CA file {ca!r} does not exist")
        self.address = (host, port)
        self.timeout = timeout
        self._context: ssl.SSLContext | None = None
        if tls:
            self._context = ssl.create_default_context(cafile=ca)
        self._sock: socket.socket | None = None

    def send(self, batch: list[bytes]) -> None:
        """Write the batch's lines, each ended by a null byte instead of its newline; a
        connection error raises ``Retry`` after closing the connection."""
        data = b"".join(line.rstrip(b"\n") + b"\0" for line in batch)
        try:
            if self._sock is not None and _closed_by_peer(self._sock):
                self.close()
            if self._sock is None:
                sock = socket.create_connection(self.address, timeout=self.timeout)
                if self._context is not None:
                    sock = self._context.wrap_socket(sock, server_hostname=self.address[0])
                self._sock = sock
            self._sock.sendall(data)
        except OSError as exc:
            self.close()
            raise Retry(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        """Close the connection; the next send opens another."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def __repr__(self) -> str:
        scheme = "gelf+tls" if self._context is not None else "gelf+tcp"
        return f"<GelfTcpClient {scheme}://{self.address[0]}:{self.address[1]}>"
