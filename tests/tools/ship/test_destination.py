"""The shipper's destinations: the transport clients, made from ``--to`` URLs, against real collectors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logmagic.tools.ship.destination import open_destination

from ...e2e.peers import Peer, running_peers

StartPeer = Callable[..., Peer]


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[StartPeer]:
    with running_peers(tmp_path) as start:
        yield start


def test_scribe_sends_under_the_sources_category_and_names_the_urls_own(peers: StartPeer) -> None:
    server = peers("scribe_server.py")
    destination = open_destination(f"scribe://127.0.0.1:{server.port}/default?timeout=5")
    assert destination.category == "default"
    destination.send("nginx", [b"GET / 200\n", b"GET /x 404\n"])
    destination.close()

    assert server.wait_lines(2) == ["nginx\tGET / 200", "nginx\tGET /x 404"]
    assert repr(destination) == f"scribe://127.0.0.1:{server.port}/default"


def test_http_gelf_format_posts_every_line_of_a_batch(peers: StartPeer) -> None:
    collector = peers("http_collector.py")
    destination = open_destination(f"http://user:pa55@127.0.0.1:{collector.port}/gelf?format=gelf&timeout=5")
    destination.send("", [b'{"short_message": "one"}\n', b'{"short_message": "two"}\n'])
    destination.close()

    bodies = [json.loads(line)["body"] for line in collector.lines()]
    assert sorted(bodies) == ['{"short_message": "one"}', '{"short_message": "two"}']
    assert repr(destination) == f"http://127.0.0.1:{collector.port}/gelf", "no password in the status file"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("gelf+udp://127.0.0.1:12201", "expected scribe://host:port"),
        ("http://127.0.0.1:9/in?batch_size=5", r"unknown option\(s\) batch_size"),
        ("scribe://127.0.0.1:1463/c?queue_size=5", r"unknown option\(s\) queue_size"),
        ("https://127.0.0.1:9/in?ca=/nonexistent/ca.pem", "CA file '/nonexistent/ca.pem' does not exist"),
        ("http://127.0.0.1:9/in?format=xml", "format must be ndjson or gelf"),
    ],
)
def test_a_wrong_destination_is_refused_with_a_message_that_names_it(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        open_destination(url)
    assert str(caught.value).startswith(f"--to {url!r}: ")
