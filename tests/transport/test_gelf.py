"""The GELF clients on their own: UDP against a real GELF UDP input that reassembles chunks,
TCP and TLS against raw listeners and the GELF TCP input (``tests/e2e/peers``)."""

from __future__ import annotations

import base64
import json
import math
import os
import socket
import threading
import zlib
from pathlib import Path

import orjson
import pytest

from logmagic.transport.gelf import CHUNK_SIZE, MAX_CHUNKS, GelfTcpClient, GelfUdpClient, chunks
from logmagic.transport.retry import Retry

from .conftest import StartPeer


def gelf(short: str, **fields: object) -> bytes:
    doc = {"version": "1.1", "host": "h", "short_message": short, "timestamp": 1.5, "level": 6, **fields}
    return orjson.dumps(doc) + b"\n"


def received(lines: list[str]) -> dict[str, tuple[int, dict[str, object]]]:
    """short_message -> (datagrams it took, message), from the UDP input's lines."""
    out = {}
    for line in lines:
        datagrams, _, text = line.partition("\t")
        message = json.loads(text)
        out[message["short_message"]] = (int(datagrams), message)
    return out


def test_udp_sends_a_small_message_in_one_datagram_and_chunks_a_large_one(peers: StartPeer) -> None:
    listener = peers("gelf_udp_listener.py")
    blob = base64.b64encode(os.urandom(60_000)).decode()  # barely compresses: about 10 chunks
    big = gelf("big", _blob=blob)
    client = GelfUdpClient("127.0.0.1", listener.port)
    client.send([gelf("small"), big])
    client.close()

    got = received(listener.wait_lines(2))
    assert got["small"][0] == 1
    datagrams, message = got["big"]
    assert message["_blob"] == blob, "the chunks were reassembled into the whole message"
    assert datagrams == math.ceil(len(zlib.compress(big.rstrip(b"\n"))) / (CHUNK_SIZE - 12)) > 1
    assert client.truncated == 0


def test_udp_cuts_a_message_that_needs_more_than_128_chunks_and_counts_it(peers: StartPeer) -> None:
    listener = peers("gelf_udp_listener.py")
    trace = base64.b64encode(os.urandom(1_200_000)).decode()  # some 1.6 MB that does not compress
    client = GelfUdpClient("127.0.0.1", listener.port)
    client.send([gelf("huge", full_message=trace)])
    client.close()

    datagrams, message = received(listener.wait_lines(1))["huge"]
    assert datagrams <= MAX_CHUNKS
    assert message["_truncated"] is True
    assert str(message["full_message"]).endswith(f"…[truncated to fit {MAX_CHUNKS} GELF chunks]")
    assert client.truncated == 1


def test_chunks_carry_magic_message_id_sequence_and_count() -> None:
    payload = os.urandom(3 * 100 - 12)
    parts = chunks(payload, b"12345678", size=112)
    assert [p[:12] for p in parts] == [b"\x1e\x0f12345678" + bytes((i, 3)) for i in range(3)]
    assert b"".join(p[12:] for p in parts) == payload
    assert chunks(b"small", b"12345678", size=112) == [b"small"]


def test_tcp_sends_null_terminated_frames_instead_of_newlines() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    data = bytearray()

    def read_all() -> None:
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                data.extend(chunk)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    client = GelfTcpClient("127.0.0.1", server.getsockname()[1], timeout=5)
    client.send([b'{"a": 1}\n', b'{"b": "x\\ny"}\n'])
    client.send([b'{"c": 3}\n'])
    client.close()
    reader.join(10)
    server.close()

    assert bytes(data) == b'{"a": 1}\0{"b": "x\\ny"}\0{"c": 3}\0', "one connection, each message ended by a NUL"


def test_tcp_reconnects_after_the_collector_closed_the_connection(peers: StartPeer) -> None:
    listener = peers("gelf_tcp_listener.py", "--close-after", "1")
    client = GelfTcpClient("127.0.0.1", listener.port, timeout=5)
    for i in range(3):
        client.send([gelf(f"message {i}")])
        listener.wait_lines(i + 1)
        # the collector has closed this connection: the next send sees it and opens another
        assert client._sock is not None
        client._sock.settimeout(5)
        assert client._sock.recv(1, socket.MSG_PEEK) == b""
    client.close()

    assert [json.loads(line)["short_message"] for line in listener.wait_lines(3)] == [f"message {i}" for i in range(3)]


def test_tcp_without_a_collector_raises_retry() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Retry, match="ConnectionRefusedError"):
        GelfTcpClient("127.0.0.1", port, timeout=5).send([gelf("nobody")])


def test_tls_is_verified_against_the_ca_given(peers: StartPeer, tls_files: tuple[Path, Path]) -> None:
    ca_file, server_file = tls_files
    listener = peers("gelf_tcp_listener.py", "--cert", str(server_file))
    with pytest.raises(Retry, match="CERTIFICATE_VERIFY_FAILED"):
        GelfTcpClient("127.0.0.1", listener.port, tls=True, timeout=5).send([gelf("unverified")])
    client = GelfTcpClient("127.0.0.1", listener.port, tls=True, ca=str(ca_file), timeout=5)
    client.send([gelf("one"), gelf("two")])
    client.close()

    assert [json.loads(line)["short_message"] for line in listener.wait_lines(2)] == ["one", "two"]


def test_a_missing_ca_file_is_refused_when_the_client_is_made() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        GelfTcpClient("127.0.0.1", 12201, tls=True, ca="/nonexistent/ca.pem")
