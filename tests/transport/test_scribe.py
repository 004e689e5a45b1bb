"""The Scribe client on its own, against a real Thrift Scribe server (``tests/e2e/peers``)."""

from __future__ import annotations

import socket

import pytest

from logmagic.transport.retry import Retry
from logmagic.transport.scribe import ScribeClient

from .conftest import StartPeer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_batch_is_one_log_call_with_one_entry_per_line_under_the_category(peers: StartPeer) -> None:
    server = peers("scribe_server.py")
    client = ScribeClient("127.0.0.1", server.port, "app", timeout=5)
    try:
        client.send([b'{"a": 1}\n', b'{"b": "\xc3\xa9t\xc3\xa9"}\n', b"not utf-8 \xff\n"])
        client.send([b"elsewhere\n"], "other")
    finally:
        client.close()

    assert server.wait_lines(4) == [
        'app\t{"a": 1}',
        'app\t{"b": "été"}',
        "app\tnot utf-8 \ufffd",
        "other\telsewhere",
    ]
    calls = server.out.with_name(server.out.name + ".calls").read_text().split("\n")
    assert calls[:2] == ["OK 3", "OK 1"], "each send is one Log call"


def test_try_later_raises_retry_and_the_same_batch_goes_through_afterwards(peers: StartPeer) -> None:
    server = peers("scribe_server.py", "--try-later-calls", "1")
    client = ScribeClient("127.0.0.1", server.port, "app", timeout=5)
    try:
        with pytest.raises(Retry, match="TRY_LATER"):
            client.send([b"first try\n"])
        client.send([b"first try\n"])
    finally:
        client.close()

    assert server.wait_lines(1) == ["app\tfirst try"]


def test_no_server_raises_retry_and_the_next_send_connects_again(peers: StartPeer) -> None:
    port = free_port()
    client = ScribeClient("127.0.0.1", port, "app", timeout=5)
    try:
        with pytest.raises(Retry):
            client.send([b"nobody listens\n"])
        server = peers("scribe_server.py", port=port)
        client.send([b"now someone does\n"])
    finally:
        client.close()

    assert server.wait_lines(1) == ["app\tnow someone does"]
