"""The HTTP client on its own, against a real HTTP collector (``tests/e2e/peers``).

Statuses become ``Retry`` (with the collector's ``Retry-After`` as the delay) or ``Reject``
(with the status); a test fails if a status were mapped the other way or the delay were lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from logmagic.transport.http import HttpClient
from logmagic.transport.retry import Reject, Retry

from ..e2e.peers import Peer
from .conftest import StartPeer


def requests_seen(collector: Peer) -> list[dict[str, Any]]:
    return sorted((json.loads(line) for line in collector.lines()), key=lambda r: r["n"])


def client_for(collector: Peer, **options: Any) -> HttpClient:
    return HttpClient(f"http://127.0.0.1:{collector.port}/ingest", timeout=5, **options)


def test_a_batch_is_one_ndjson_post(peers: StartPeer) -> None:
    collector = peers("http_collector.py")
    client = client_for(collector)
    client.send([b'{"a": 1}\n', b'{"b": 2}\n'])
    client.close()

    (request,) = requests_seen(collector)
    assert request["path"] == "/ingest"
    assert request["headers"]["Content-Type"] == "application/x-ndjson"
    assert request["body"] == '{"a": 1}\n{"b": 2}\n'
    assert not request["gzip"]


def test_gelf_format_posts_each_line_on_its_own_without_its_newline(peers: StartPeer) -> None:
    collector = peers("http_collector.py")
    client = client_for(collector, format="gelf", gzip_body=True)
    client.send([b'{"short_message": "one"}\n', b'{"short_message": "two"}\n'])
    client.close()

    seen = requests_seen(collector)
    assert [r["body"] for r in seen] == ['{"short_message": "one"}', '{"short_message": "two"}']
    assert all(r["gzip"] and r["headers"]["Content-Type"] == "application/json" for r in seen)
    assert all(r["headers"]["Content-Encoding"] == "gzip" for r in seen)


def test_503_with_retry_after_is_retry_with_that_delay(peers: StartPeer) -> None:
    collector = peers("http_collector.py", "--responses", "503:2,200")
    client = client_for(collector)
    with pytest.raises(Retry) as caught:
        client.send([b"line\n"])
    assert caught.value.after == 2.0
    assert str(caught.value) == "HTTP 503"
    client.send([b"line\n"])
    assert [r["status"] for r in requests_seen(collector)] == [503, 200]


def test_a_retry_after_that_is_not_a_positive_number_leaves_the_delay_to_the_caller(peers: StartPeer) -> None:
    collector = peers("http_collector.py", "--responses", "429:0,503:-5,503:soon,503")
    client = client_for(collector)
    for _ in range(4):
        with pytest.raises(Retry) as caught:
            client.send([b"line\n"])
        assert caught.value.after is None


def test_400_is_reject_with_the_status(peers: StartPeer) -> None:
    collector = peers("http_collector.py", "--responses", "400")
    client = client_for(collector)
    with pytest.raises(Reject) as caught:
        client.send([b"bad line\n"])
    assert caught.value.status == 400
    assert f"HTTP 400 from http://127.0.0.1:{collector.port}/ingest" in str(caught.value)


def test_401_is_reject_with_the_status_and_no_credentials_in_the_error(
    peers: StartPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGMAGIC_HTTP_HEADERS", "Authorization: Bearer s3cret")
    collector = peers("http_collector.py", "--responses", "401")
    client = HttpClient(f"http://user:pa55@127.0.0.1:{collector.port}/ingest?token=t0k", timeout=5)
    with pytest.raises(Reject) as caught:
        client.send([b"line\n"])
    assert caught.value.status == 401
    assert requests_seen(collector)[0]["headers"]["Authorization"] == "Bearer s3cret"
    for text in (str(caught.value), repr(client)):
        assert "s3cret" not in text and "pa55" not in text and "t0k" not in text


def test_no_collector_is_retry() -> None:
    client = HttpClient("http://127.0.0.1:9/ingest", timeout=2)
    with pytest.raises(Retry):
        client.send([b"line\n"])


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_is_verified_against_the_ca_given(peers: StartPeer, tls_files: tuple[Path, Path]) -> None:
    ca_file, server_file = tls_files
    collector = peers("http_collector.py", "--cert", str(server_file))
    url = f"https://127.0.0.1:{collector.port}/ingest"
    with pytest.raises(Retry, match="SSL"):
        HttpClient(url, timeout=5).send([b"unverified\n"])
    HttpClient(url, ca=str(ca_file), timeout=5).send([b"verified\n"])
    HttpClient(url, verify=False, timeout=5).send([b"not checked\n"])
    assert [r["body"] for r in requests_seen(collector)] == ["verified\n", "not checked\n"]


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("ftp://127.0.0.1/x", {}, "is not an http"),
        ("http:///x", {}, "is not an http"),
        ("http://127.0.0.1:port/x", {}, "the port is not a number"),
        ("http://127.0.0.1/x", {"format": "xml"}, "format must be ndjson or gelf"),
        ("https://127.0.0.1/x", {"ca": "/nonexistent/ca.pem"}, "does not exist"),
    ],
)
def test_a_wrong_client_is_refused_when_made(url: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpClient(url, **options)


def test_gzip_bodies_decompress_to_the_batch(peers: StartPeer) -> None:
    collector = peers("http_collector.py")
    client = client_for(collector, gzip_body=True)
    lines = [b'{"i": %d}\n' % i for i in range(100)]
    client.send(lines)
    (request,) = requests_seen(collector)
    assert request["gzip"]
    assert request["headers"]["Content-Encoding"] == "gzip"
    assert request["body"].encode() == b"".join(lines), "the collector's gunzip gives the batch back"
