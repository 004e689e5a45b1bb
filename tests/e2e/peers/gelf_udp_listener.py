"""A GELF UDP input: reassembles chunked messages by message id and decompresses them.

A datagram starting with ``0x1e 0x0f`` is a chunk (8-byte message id, sequence number,
sequence count); once all chunks of a message are in, they are joined in sequence order.
The payload is zlib or gzip compressed, or plain JSON. Each whole message is written to
``--out`` as ``<datagrams it took><TAB><message>``.
"""

from __future__ import annotations

import argparse
import gzip
import socket
import sys
import zlib

MAGIC = b"\x1e\x0f"


def decompress(payload: bytes) -> bytes:
    if payload[:2] == b"\x1f\x8b":
        return gzip.decompress(payload)
    if payload[:1] == b"\x78":
        return zlib.decompress(payload)
    return payload


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 - open for the life of the process
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.bind(("127.0.0.1", args.port))
    sys.stdout.write(f"READY {sock.getsockname()[1]}\n")
    sys.stdout.flush()
    pending: dict[bytes, dict[int, bytes]] = {}
    while True:
        datagram = sock.recv(65535)
        if datagram[:2] == MAGIC:
            message_id, seq, count = datagram[2:10], datagram[10], datagram[11]
            parts = pending.setdefault(message_id, {})
            parts[seq] = datagram[12:]
            if len(parts) < count:
                continue
            del pending[message_id]
            payload, n = b"".join(parts[i] for i in range(count)), count
        else:
            payload, n = datagram, 1
        message = decompress(payload).decode("utf-8")
        out.write(f"{n}\t{message}\n")
        out.flush()


if __name__ == "__main__":
    main()
