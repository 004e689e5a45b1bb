"""The shipper's destinations: the transport clients, made from ``--to`` URLs, against real collectors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logmagic.tools.ship.destination import open_destination

from ...e2e.peers import Peer, running_peers

StartPeer = Callable[..., Peer]
SHIP = [sys.executable, "-m", "logmagic.tools.cli", "ship"]


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
    assert destination.url == f"scribe://127.0.0.1:{server.port}/default?timeout=5"


def test_http_gelf_format_posts_every_line_of_a_batch(peers: StartPeer) -> None:
    collector = peers("http_collector.py")
    destination = open_destination(f"http://user:pa55@127.0.0.1:{collector.port}/gelf?format=gelf&timeout=5")
    destination.send("", [b'{"short_message": "one"}\n', b'{"short_message": "two"}\n'])
    destination.close()

    bodies = [json.loads(line)["body"] for line in collector.lines()]
    assert sorted(bodies) == ['{"short_message": "one"}', '{"short_message": "two"}']
    assert repr(destination) == f"http://127.0.0.1:{collector.port}/gelf"
    assert destination.url == f"http://user:***@127.0.0.1:{collector.port}/gelf?format=gelf&timeout=5"


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


@pytest.mark.parametrize(
    ("kind", "url", "shown"),
    [
        ("scribe_server.py", "scribe://127.0.0.1:{port}?timeout=5", "scribe://127.0.0.1:{port}?timeout=5"),
        ("scribe_server.py", "scribe://127.0.0.1:{port}/app", "scribe://127.0.0.1:{port}/app"),
        (
            "http_collector.py",
            "http://ingest:s3cret@127.0.0.1:{port}/gelf?format=gelf&gzip=1",
            "http://ingest:***@127.0.0.1:{port}/gelf?format=gelf&gzip=1",
        ),
    ],
    ids=["scribe with an option", "scribe with a category", "http with a password"],
)
def test_status_names_the_destination_as_the_user_gave_it(
    peers: StartPeer, tmp_path: Path, kind: str, url: str, shown: str
) -> None:
    """``--status`` (and the status file) show ``--to`` as typed, a password hidden: not the
    client's own rendering of it (a trailing ``/``, options dropped)."""
    peer = peers(kind)
    to, shown = url.format(port=peer.port), shown.format(port=peer.port)
    log = tmp_path / "app.log"
    log.write_bytes(b'{"short_message":"one"}\n')
    state = tmp_path / "ship.state"
    shipper = subprocess.Popen(
        [*SHIP, "--from", str(log), "--to", to, "--state", str(state), "--poll", "0.05"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        status = Path(f"{state}.status")
        deadline = time.monotonic() + 30
        while not (status.exists() and json.loads(status.read_bytes() or b"{}").get("lines_sent")):
            assert shipper.poll() is None and time.monotonic() < deadline, "the shipper sent nothing"
            time.sleep(0.05)
        assert json.loads(status.read_bytes())["destination"] == shown
        assert b"s3cret" not in status.read_bytes()
        printed = subprocess.run([*SHIP, "--status", "--state", str(state)], capture_output=True, text=True, timeout=60)
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout.splitlines()[0].endswith(f"(running) -> {shown}")
    finally:
        shipper.terminate()
        _, err = shipper.communicate(timeout=30)
    assert b"s3cret" not in err
