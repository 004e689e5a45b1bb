"""Network sinks end to end: real Scribe, HTTP and GELF peers, each in its own process on 127.0.0.1.

The application side runs in the test process (the autouse fixture resets logmagic around each
test) or, where process exit and fork are what is tested, in a child Python process. Peers write
what they received to files (see ``tests/e2e/peers``); the tests compare that with what was
logged and with ``logmagic.stats()``. No assert is on wall time: a time limit only stops a test
that would otherwise hang, and the one timing check compares two receive times of the peer.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import logmagic
from logmagic import config
from logmagic.sinks import queued
from logmagic.sinks.gelf_net import GelfTcpSink, GelfUdpSink

from ..diagnostics import diagnostics
from .peers import Peer, running_peers

StartPeer = Callable[..., Peer]
Message = dict[str, Any]
Forked = tuple[dict[str, Any], dict[str, Any], list[Message]]

DELIVERY_WARNING = "records were dropped while the destination was unavailable"
#: Seconds a child process may run before it counts as hung (a guard, not a measurement).
CHILD_TIMEOUT = 60.0


# -- peers and helpers ---------------------------------------------------------------------


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[StartPeer]:
    """Start peers with ``peers("scribe_server.py", *args, port=...)``; all are killed at the end."""
    with running_peers(tmp_path) as start:
        yield start


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def use(name: str, spec: str | logmagic.Sink) -> logmagic.Sink:
    """Register ``spec`` (or a sink) as ``name`` and route everything at INFO and above to it (only)."""
    logmagic.register_sink(name, spec)
    logmagic.route("__root__", logmagic.INFO, name)
    return config.sinks()[name]


def assert_gelf(message: Message, facility: str) -> None:
    """A GELF 1.1 message as logmagic writes it for an INFO record of ``facility``."""
    assert message["version"] == "1.1"
    assert isinstance(message["host"], str) and message["host"]
    assert isinstance(message["short_message"], str) and message["short_message"]
    assert isinstance(message["timestamp"], float)
    assert message["level"] == 6
    assert message["_facility"] == facility


def scribe_entries(*servers: Peer) -> list[tuple[str, Message]]:
    """(category, parsed message) for every entry the Scribe servers accepted."""
    out = []
    for server in servers:
        for line in server.lines():
            category, tab, message = line.partition("\t")
            assert tab, f"not a 'category<TAB>message' line: {line!r}"
            out.append((category, json.loads(message)))
    return out


def ids(messages: list[Message], facility: str) -> list[int]:
    return [m["_i"] for m in messages if m["_facility"] == facility]


def requests_seen(collector: Peer) -> list[dict[str, Any]]:
    """Every request the HTTP collector got, in order."""
    return sorted((json.loads(line) for line in collector.lines()), key=lambda r: r["n"])


def ndjson(body: str) -> list[Message]:
    assert body.endswith("\n"), "an NDJSON body ends with a newline"
    return [json.loads(line) for line in body.splitlines()]


def wait_until(pred: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def run_child(code: str, timeout: float = CHILD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with no LOGMAGIC_* settings of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(Path(__file__).parent),
    )


def losses(stderr: str) -> Counter[str]:
    """Records lost per sink, summed over logmagic's 'records lost' lines on stderr."""
    total: Counter[str] = Counter()
    for line in diagnostics(stderr):
        if line.startswith("logmagic: records lost: "):
            for sink, count in re.findall(r"([^\s;:]+): (\d+) lost \(", line):
                total[sink] += int(count)
    return total


# -- Scribe --------------------------------------------------------------------------------


def test_scribe_delivers_50000_records_once_each_as_gelf_under_the_category(peers: StartPeer) -> None:
    n = 50_000
    server = peers("scribe_server.py")
    use("scribe", f"scribe://127.0.0.1:{server.port}/e2e-bulk?queue_size=60000")
    log = logmagic.local("e2e.bulk")
    for i in range(n):
        log.info("bulk record", i=i)

    assert logmagic.flush(60)
    stats = logmagic.stats()["scribe"]
    assert (stats["queued"], stats["sent"], stats["dropped"], stats["pending"]) == (n, n, 0, 0)
    entries = scribe_entries(server)
    assert {category for category, _ in entries} == {"e2e-bulk"}
    received = [m["_i"] for _, m in entries]
    assert len(received) == n, "every record arrives, none twice"
    assert set(received) == set(range(n))
    for _, message in entries:
        assert_gelf(message, "e2e.bulk")
        assert message["short_message"] == "bulk record"


def test_scribe_server_that_starts_late_gets_everything_the_queue_held(peers: StartPeer) -> None:
    port = free_port()
    use("scribe", f"scribe://127.0.0.1:{port}/e2e-late?queue_size=10000&max_backoff=0.5")
    log = logmagic.local("e2e.late")
    i = 0
    until = time.monotonic() + 3.0
    while time.monotonic() < until:  # about 3 s of logging while nothing listens
        for _ in range(100):
            log.info("before the server", i=i)
            i += 1
        time.sleep(0.1)
    early = logmagic.stats()["scribe"]
    assert early["sent"] == 0 and early["dropped"] == 0
    assert early["retried"] >= 1, "the worker kept trying while the server was down"

    server = peers("scribe_server.py", port=port)
    for _ in range(1000):
        log.info("after the server", i=i)
        i += 1
    assert logmagic.flush(30)

    stats = logmagic.stats()["scribe"]
    assert (stats["sent"], stats["dropped"], stats["pending"]) == (i, 0, 0)
    messages = [m for _, m in scribe_entries(server)]
    assert sorted(ids(messages, "e2e.late")) == list(range(i))
    assert not [m for m in messages if m["_facility"] == "logmagic.delivery"], "nothing was dropped"


@pytest.mark.parametrize(
    "mode", [("--try-later-calls", "5"), ("--try-later-seconds", "1.5")], ids=["first-5-calls", "first-1.5-s"]
)
def test_scribe_try_later_keeps_the_batch_until_the_server_takes_it(peers: StartPeer, mode: tuple[str, str]) -> None:
    n = 2000
    server = peers("scribe_server.py", *mode)
    use("scribe", f"scribe://127.0.0.1:{server.port}/e2e-busy?batch_size=250&max_backoff=0.3")
    log = logmagic.local("e2e.busy")
    for i in range(n):
        log.info("busy server", i=i)
    assert logmagic.flush(30)

    calls = Path(f"{server.out}.calls").read_text().split()[::2]
    refused = calls.count("TRY_LATER")
    assert refused >= (5 if mode[0] == "--try-later-calls" else 1)
    stats = logmagic.stats()["scribe"]
    assert stats["retried"] == refused, "each TRY_LATER is one retry of the same batch"
    assert (stats["sent"], stats["dropped"]) == (n, 0)
    received = ids([m for _, m in scribe_entries(server)], "e2e.busy")
    assert sorted(received) == list(range(n)), "nothing lost, nothing twice"


def test_scribe_server_killed_and_restarted_loses_nothing_it_did_not_count(peers: StartPeer) -> None:
    n, chunk, batch = 20_000, 500, 100
    first = peers("scribe_server.py")
    port = first.port
    use("scribe", f"scribe://127.0.0.1:{port}/e2e-crash?batch_size={batch}&max_backoff=0.3&queue_size=100000")
    log = logmagic.local("e2e.crash")
    second = None
    for k in range(n // chunk):
        if k == 10:
            assert first.wait_lines(1), first.diagnostics()
            first.kill()  # SIGKILL mid-stream: a batch may be in flight
        if k == 25:
            second = peers("scribe_server.py", port=port)
        for j in range(chunk):
            log.info("crash test", i=k * chunk + j)
        time.sleep(0.02)
    assert second is not None
    assert logmagic.flush(30)
    assert first.lines() and second.lines(), "the stream went to both servers, before and after the crash"

    stats = logmagic.stats()["scribe"]
    assert stats["retried"] >= 1, "the crash was noticed"
    assert stats["pending"] == 0
    assert stats["sent"] + stats["dropped"] == stats["queued"]
    received = ids([m for _, m in scribe_entries(first, second)], "e2e.crash")
    unique = set(received)
    assert unique <= set(range(n))
    assert len(unique) + stats["dropped"] >= n, "a record is received or counted as dropped"
    assert len(received) - len(unique) <= batch, "only the batch in flight at the crash may come twice"


# -- HTTP ----------------------------------------------------------------------------------


def test_http_503_is_retried_until_200(peers: StartPeer) -> None:
    collector = peers("http_collector.py", "--responses", "503,503,200")
    use("http", f"http://127.0.0.1:{collector.port}/ingest?max_backoff=0.5")
    log = logmagic.local("e2e.http")
    for i in range(10):
        log.info("retry me", i=i)
    assert logmagic.flush(15)

    stats = logmagic.stats()["http"]
    assert (stats["sent"], stats["dropped"]) == (10, 0)
    assert stats["retried"] == 2
    seen = requests_seen(collector)
    assert [r["status"] for r in seen] == [503, 503, 200]
    delivered = [r["body"] for r in seen if r["status"] == 200]
    assert all(r["body"] in delivered for r in seen), "the refused batch is the one sent again"
    for r in seen:
        assert r["path"] == "/ingest"
        assert r["headers"]["Content-Type"] == "application/x-ndjson"
    messages = [m for body in delivered for m in ndjson(body)]
    assert sorted(ids(messages, "e2e.http")) == list(range(10))
    for m in messages:
        assert_gelf(m, "e2e.http")


@pytest.fixture
def back_offs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds each network sink's worker is asked to wait before it tries again.

    Recorded instead of waited for, so that a test checks the wait chosen, never the clock.
    """
    asked: list[float] = []
    monkeypatch.setattr(queued._Control, "back_off", lambda ctl, seconds: asked.append(seconds))
    return asked


def test_http_429_waits_for_retry_after(peers: StartPeer, back_offs: list[float]) -> None:
    collector = peers("http_collector.py", "--responses", "429:1,200")
    use("http", f"http://127.0.0.1:{collector.port}/ingest?max_backoff=5")
    log = logmagic.local("e2e.http")
    for i in range(5):
        log.info("rate limited", i=i)
    assert logmagic.flush(15)

    stats = logmagic.stats()["http"]
    assert (stats["sent"], stats["retried"], stats["dropped"]) == (5, 1, 0)
    first, second = requests_seen(collector)
    assert (first["status"], second["status"]) == (429, 200)
    assert first["body"] == second["body"]
    # the client's own first backoff would be under 0.1 s; Retry-After: 1 asks for a second
    assert back_offs == [1.0]


def test_http_retry_after_zero_keeps_the_backoff(peers: StartPeer, back_offs: list[float]) -> None:
    collector = peers("http_collector.py", "--responses", "503:0,503:-5,503:0,200")
    use("http", f"http://127.0.0.1:{collector.port}/ingest?max_backoff=5")
    logmagic.local("e2e.http").info("do not hammer")
    assert logmagic.flush(15)

    seen = requests_seen(collector)
    assert [r["status"] for r in seen] == [503, 503, 503, 200]
    # the client's own backoffs, 0.05, 0.1 and 0.2 s, each jittered down to no less than half
    assert all(full / 2 <= t <= full for t, full in zip(back_offs, (0.05, 0.1, 0.2), strict=True))


def test_http_gelf_format_takes_one_message_per_batch_only() -> None:
    with pytest.raises(ValueError, match="batch_size must be 1"):
        logmagic.register_sink("graylog", "http://127.0.0.1:9/gelf?format=gelf&batch_size=5")


def test_http_400_drops_the_batch_once_and_says_so_on_stderr(peers: StartPeer) -> None:
    collector = peers("http_collector.py", "--responses", "400")
    child = run_child(
        f"""
        import json
        import logmagic

        logmagic.register_sink("collector", "http://127.0.0.1:{collector.port}/bad?batch_size=10&max_backoff=0.2")
        logmagic.route("__root__", logmagic.INFO, "collector")
        log = logmagic.local("e2e.reject")
        for b in range(3):
            for j in range(10):
                log.info("refused", i=b * 10 + j)
            logmagic.flush(10)
        print(json.dumps(logmagic.stats()["collector"]))
        """
    )
    assert child.returncode == 0, child.stderr
    stats = json.loads(child.stdout.splitlines()[-1])
    assert (stats["sent"], stats["dropped"], stats["retried"], stats["pending"]) == (0, 30, 0, 0)

    seen = requests_seen(collector)
    assert len(seen) == 3, "one attempt per batch, never a retry"
    assert len({r["body"] for r in seen}) == 3
    assert sorted(i for r in seen for i in ids(ndjson(r["body"]), "e2e.reject")) == list(range(30))
    assert losses(child.stderr) == {"collector": 30}, child.stderr
    assert "HTTP 400" in child.stderr


def test_http_gzip_body(peers: StartPeer) -> None:
    collector = peers("http_collector.py")
    use("http", f"http://127.0.0.1:{collector.port}/zipped?gzip=1")
    log = logmagic.local("e2e.gzip")
    for i in range(20):
        log.info("compressed " * 20, i=i)
    assert logmagic.flush(15)

    seen = requests_seen(collector)
    assert seen and all(r["gzip"] for r in seen), "the body on the wire is gzip"
    assert all(r["headers"]["Content-Encoding"] == "gzip" for r in seen)
    messages = [m for r in seen for m in ndjson(r["body"])]
    assert sorted(ids(messages, "e2e.gzip")) == list(range(20))


def test_http_gelf_format_posts_one_message_per_request(peers: StartPeer) -> None:
    collector = peers("http_collector.py")
    use("http", f"http://127.0.0.1:{collector.port}/gelf?format=gelf")
    log = logmagic.local("e2e.gelfhttp")
    for i in range(5):
        log.info("one per post", i=i)
    assert logmagic.flush(15)

    seen = requests_seen(collector)
    assert len(seen) == 5
    for r in seen:
        assert r["headers"]["Content-Type"] == "application/json"
        assert "\n" not in r["body"]
        assert_gelf(json.loads(r["body"]), "e2e.gelfhttp")
    assert sorted(json.loads(r["body"])["_i"] for r in seen) == list(range(5))
    assert logmagic.stats()["http"]["sent"] == 5


def test_https_with_a_private_ca(peers: StartPeer, tls_files: tuple[Path, Path]) -> None:
    ca_file, server_file = tls_files
    collector = peers("http_collector.py", "--cert", str(server_file))
    use("https", f"https://127.0.0.1:{collector.port}/tls?ca={ca_file}")
    log = logmagic.local("e2e.tls")
    for i in range(5):
        log.info("over tls", i=i)
    assert logmagic.flush(15)

    assert logmagic.stats()["https"]["sent"] == 5
    messages = [m for r in requests_seen(collector) for m in ndjson(r["body"])]
    assert sorted(ids(messages, "e2e.tls")) == list(range(5))


def test_https_without_the_ca_fails_verification_and_keeps_retrying(
    peers: StartPeer, tls_files: tuple[Path, Path]
) -> None:
    _, server_file = tls_files
    collector = peers("http_collector.py", "--cert", str(server_file))
    use("https", f"https://127.0.0.1:{collector.port}/tls?max_backoff=0.2")
    log = logmagic.local("e2e.tls")
    for i in range(5):
        log.info("not trusted", i=i)
    assert not logmagic.flush(1.5), "an unverified server must not get the records"

    stats = logmagic.stats()["https"]
    assert stats["sent"] == 0
    assert stats["retried"] >= 1
    assert stats["pending"] == 5, "kept for a retry, not dropped"
    assert requests_seen(collector) == []


def test_http_headers_from_env_reach_the_server_but_not_repr(peers: StartPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGMAGIC_HTTP_HEADERS", "Authorization: Bearer s3cret; X-Tenant: e2e")
    collector = peers("http_collector.py")
    sink = use("http", f"http://127.0.0.1:{collector.port}/auth")
    logmagic.local("e2e.auth").info("with a token")
    assert logmagic.flush(15)

    (request,) = requests_seen(collector)
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["X-Tenant"] == "e2e"
    assert "s3cret" not in repr(sink)
    assert "s3cret" not in str(sink)
    assert f"127.0.0.1:{collector.port}/auth" in repr(sink), "which collector, when there are several"
    assert "s3cret" not in repr(logmagic.stats())


# -- GELF UDP and TCP ----------------------------------------------------------------------


def test_gelf_udp_small_message_is_one_datagram_and_100kb_is_chunked_and_reassembled(peers: StartPeer) -> None:
    listener = peers("gelf_udp_listener.py")
    use("udp", f"gelf+udp://127.0.0.1:{listener.port}")
    log = logmagic.local("e2e.udp")
    # random bytes in base64 barely compress; fields, because one string is capped at 32 KiB
    blobs = {f"blob{k}": base64.b64encode(os.urandom(18_750)).decode() for k in range(4)}
    log.info("small", i=0)
    log.info("big", i=1, **blobs)
    assert logmagic.flush(15)

    lines = listener.wait_lines(2)
    assert len(lines) == 2, listener.diagnostics()
    received = {}
    for line in lines:
        datagrams, _, text = line.partition("\t")
        message = json.loads(text)
        assert_gelf(message, "e2e.udp")
        received[message["short_message"]] = (int(datagrams), text, message)

    assert received["small"][0] == 1
    datagrams, text, big = received["big"]
    assert len(text) > 100_000
    assert all(big[f"_{name}"] == value for name, value in blobs.items()), "the message arrived whole"
    # the sink compresses with zlib's default level, so the chunk count follows from the message
    assert datagrams == math.ceil(len(zlib.compress(text.encode())) / (8192 - 12)) > 1
    stats = logmagic.stats()["udp"]
    assert (stats["sent"], stats["truncated"], stats["dropped"]) == (2, 0, 0)


def test_gelf_tcp_messages_are_null_delimited(peers: StartPeer) -> None:
    listener = peers("gelf_tcp_listener.py")
    use("tcp", f"gelf+tcp://127.0.0.1:{listener.port}")
    log = logmagic.local("e2e.tcp")
    for i in range(100):
        log.info("a NUL \x00 and a newline \n stay inside" if i == 7 else "over tcp", i=i)
    assert logmagic.flush(15)

    lines = listener.wait_lines(100)
    messages = [json.loads(line) for line in lines]
    assert sorted(ids(messages, "e2e.tcp")) == list(range(100))
    for m in messages:
        assert_gelf(m, "e2e.tcp")
    (special,) = [m for m in messages if m["_i"] == 7]
    assert special["short_message"] == "a NUL \x00 and a newline \n stay inside"


def test_gelf_tcp_reconnects_when_the_collector_closed_the_kept_connection(peers: StartPeer) -> None:
    listener = peers("gelf_tcp_listener.py", "--close-after", "1")
    use("tcp", f"gelf+tcp://127.0.0.1:{listener.port}?batch_size=1")
    log = logmagic.local("e2e.tcp")
    for i in range(3):
        log.info("one per connection", i=i)
        assert logmagic.flush(15)
        listener.wait_lines(i + 1)
        time.sleep(0.2)  # the collector's close reaches this side

    messages = [json.loads(line) for line in listener.wait_lines(3)]
    assert ids(messages, "e2e.tcp") == [0, 1, 2]
    assert logmagic.stats()["tcp"]["sent"] == 3


def test_gelf_tls_with_a_private_ca(peers: StartPeer, tls_files: tuple[Path, Path]) -> None:
    ca_file, server_file = tls_files
    listener = peers("gelf_tcp_listener.py", "--cert", str(server_file))
    use("tls", f"gelf+tls://127.0.0.1:{listener.port}?ca={ca_file}")
    log = logmagic.local("e2e.gelftls")
    for i in range(10):
        log.info("gelf over tls", i=i)
    assert logmagic.flush(15)

    messages = [json.loads(line) for line in listener.wait_lines(10)]
    assert sorted(ids(messages, "e2e.gelftls")) == list(range(10))


def test_gelf_tls_keeps_one_connection_across_batches(tls_files: tuple[Path, Path]) -> None:
    """TLS 1.3 servers send session tickets after the handshake: readable, yet open."""
    ca_file, server_file = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(server_file))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[str] = []
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with context.wrap_socket(conn, server_side=True) as tls:
                accepted.append(tls.version() or "")
                while data := tls.recv(65536):
                    received.append(data)

    threading.Thread(target=serve, daemon=True).start()
    use("tls", f"gelf+tls://127.0.0.1:{server.getsockname()[1]}?ca={ca_file}&batch_size=1")
    log = logmagic.local("e2e.gelftls")
    for i in range(10):
        log.info("one batch each", i=i)
        assert logmagic.flush(15)
    assert wait_until(lambda: b"".join(received).count(b"\0") == 10)
    server.close()
    assert len(accepted) == 1, accepted


# -- lifecycle: exit, fork, reconfiguration ------------------------------------------------


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never reads or answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("spec", "peer"),
    [
        ("scribe://127.0.0.1:{port}/dead", "refused"),
        ("http://127.0.0.1:{port}/dead", "refused"),
        ("gelf+tcp://127.0.0.1:{port}", "refused"),
        ("scribe://127.0.0.1:{port}/dead", "silent"),
        ("http://127.0.0.1:{port}/dead", "silent"),
    ],
    ids=["scribe-refused", "http-refused", "gelf-tcp-refused", "scribe-silent", "http-silent"],
)
def test_exit_with_a_dead_collector_is_prompt_and_reports_the_loss(spec: str, peer: str, blackhole: int) -> None:
    port = free_port() if peer == "refused" else blackhole
    child = run_child(
        f"""
        import logmagic
        import logmagic.lifecycle

        logmagic.lifecycle.EXIT_TIMEOUT = 1.0
        logmagic.register_sink("dead", "{spec.format(port=port)}")
        logmagic.route("__root__", logmagic.INFO, "dead")
        log = logmagic.local("e2e.exit")
        for i in range(50):
            log.info("never delivered", i=i)
        print("logged", flush=True)
        """,
        timeout=30,  # a hang guard: the exit flush is bounded by EXIT_TIMEOUT
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "logged"
    assert losses(child.stderr) == {"dead": 50}, f"stderr: {child.stderr!r}"


LATE_SCRIPT = """
import atexit

def goodbye():  # registered before logmagic's own exit handler, so it runs after it
    for _ in range({late}):
        log.info("goodbye from an exit handler")

atexit.register(goodbye)
import logmagic
import logmagic.lifecycle

logmagic.lifecycle.EXIT_TIMEOUT = 1.0
logmagic.register_sink("net", "{spec}")
logmagic.route("__root__", logmagic.INFO, "net")
log = logmagic.local("e2e.late")
log.info("hello")
"""


def test_a_record_logged_after_the_exit_flush_is_still_delivered(peers: StartPeer) -> None:
    collector = peers("http_collector.py")
    child = run_child(LATE_SCRIPT.format(spec=f"http://127.0.0.1:{collector.port}/ingest?batch_age=0.05", late=1))
    assert child.returncode == 0, child.stderr
    assert [r["status"] for r in requests_seen(collector)] == [200, 200]  # the exit flush, then the late record
    messages = [m for r in requests_seen(collector) for m in ndjson(r["body"])]
    assert [m["short_message"] for m in messages] == ["hello", "goodbye from an exit handler"]
    assert child.stderr == ""


def test_a_record_logged_after_the_exit_flush_to_a_dead_collector_is_reported_lost(blackhole: int) -> None:
    child = run_child(LATE_SCRIPT.format(spec=f"http://127.0.0.1:{blackhole}/dead", late=5), timeout=30)
    assert child.returncode == 0, child.stderr
    assert losses(child.stderr) == {"net": 6}, f"stderr: {child.stderr!r}"
    # once a late delivery failed, later records are dropped at once, not waited for again
    assert child.stderr.count("the destination being down") == 4, child.stderr


def test_a_signal_handler_that_logs_into_a_network_sink_does_not_hang(peers: StartPeer) -> None:
    listener = peers("gelf_udp_listener.py")
    child = run_child(
        f"""
        import signal, time
        import logmagic
        import logmagic.lifecycle

        logmagic.lifecycle.EXIT_TIMEOUT = 0.5
        logmagic.register_sink("net", "gelf+udp://127.0.0.1:{listener.port}?batch_size=1&queue_size=50000")
        logmagic.route("__root__", logmagic.INFO, "net")
        log = logmagic.local("e2e.signal")
        handled = 0

        def handler(signum, frame):
            global handled
            handled += 1
            log.info("from the handler", n=handled)

        # A signal every 0.2 ms often lands while the main thread is inside the sink's emit,
        # waking the worker (batch_size=1: every record wakes it).
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
        calls, end = 0, time.monotonic() + 0.5
        while time.monotonic() < end:
            log.info("from the main thread", n=calls)
            calls += 1
        signal.setitimer(signal.ITIMER_REAL, 0)
        print(handled, calls, flush=True)
        """,
        timeout=60,  # a hang guard: the loop runs 0.5 s and the exit flush 0.5 s
    )
    assert child.returncode == 0, child.stderr
    handled, calls = map(int, child.stdout.split())
    assert handled > 100 and calls > 1000


FORK_SCRIPT = """
import json, os
import logmagic

logmagic.register_sink("scribe", "scribe://127.0.0.1:{port}/e2e-fork?batch_age=0.5&max_backoff=0.3")
logmagic.route("__root__", logmagic.INFO, "scribe")
log = logmagic.local("e2e.fork")
for i in range(10):
    log.info("parent before fork", phase="pre", i=i, pid=os.getpid())
assert logmagic.flush(10)  # the parent's worker is running and connected
for i in range(10):
    log.info("queued in the parent at fork", phase="queued", i=i, pid=os.getpid())
child = os.fork()
if child == 0:
    for i in range(10):
        log.info("child", phase="child", i=i, pid=os.getpid())
    ok = logmagic.flush(10)
    print(json.dumps({{"who": "child", "flushed": ok, "stats": logmagic.stats()["scribe"]}}), flush=True)
    os._exit(0)
_, status = os.waitpid(child, 0)
for i in range(10):
    log.info("parent after fork", phase="post", i=i, pid=os.getpid())
ok = logmagic.flush(10)
print(json.dumps({{"who": "parent", "pid": os.getpid(), "child": child, "status": status, "flushed": ok,
                   "stats": logmagic.stats()["scribe"]}}), flush=True)
"""


@pytest.fixture
def forked(peers: StartPeer) -> Forked:
    """Run FORK_SCRIPT against a live Scribe server: (parent's report, child's report, messages)."""
    server = peers("scribe_server.py")
    run = run_child(FORK_SCRIPT.format(port=server.port))
    assert run.returncode == 0, run.stderr
    reports = {r["who"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert set(reports) == {"parent", "child"}, run.stdout
    return reports["parent"], reports["child"], [m for _, m in scribe_entries(server)]


def test_a_forked_child_logs_through_its_own_worker(forked: Forked) -> None:
    parent, child, messages = forked
    assert parent["status"] == 0
    assert parent["flushed"] and child["flushed"]
    assert child["stats"]["queued"] == child["stats"]["sent"] == 10, "the child starts with an empty queue"
    by_phase = Counter((m["_phase"], m["_pid"]) for m in messages)
    assert by_phase == {
        ("pre", parent["pid"]): 10,
        ("queued", parent["pid"]): 10,  # once: the child does not send the parent's queue again
        ("child", parent["child"]): 10,
        ("post", parent["pid"]): 10,
    }
    for phase in ("pre", "queued", "child", "post"):
        assert sorted(m["_i"] for m in messages if m["_phase"] == phase) == list(range(10))
    assert parent["stats"]["sent"] == 30


def test_a_forked_child_leaves_the_parents_connection_alone(forked: Forked) -> None:
    parent, _, _ = forked
    # The parent connected before the fork; the child must drop its copy of that connection
    # without shutting down the socket the parent still uses.
    assert parent["stats"]["retried"] == 0, f"the parent's connection was broken by the child: {parent['stats']}"


MP_SCRIPT = """
import json, multiprocessing, os
import logmagic

logmagic.register_sink("scribe", "scribe://127.0.0.1:{port}/e2e-mp?max_backoff=0.3")
logmagic.route("__root__", logmagic.INFO, "scribe")
log = logmagic.local("e2e.mp")

def work(flush):
    for i in range(10):
        log.info("multiprocessing child", phase="child", i=i, pid=os.getpid())
    if flush:
        logmagic.flush(10)

for i in range(10):
    log.info("multiprocessing parent", phase="parent", i=i, pid=os.getpid())
process = multiprocessing.get_context("fork").Process(target=work, args=({flush},))
process.start()
process.join(30)
ok = logmagic.flush(10)
print(json.dumps({{"pid": os.getpid(), "child": process.pid, "exitcode": process.exitcode, "flushed": ok}}))
"""


@pytest.mark.parametrize("flush", [True, False], ids=["child-flushes", "child-just-returns"])
def test_multiprocessing_fork_child_delivers_its_records(peers: StartPeer, flush: bool) -> None:
    server = peers("scribe_server.py")
    run = run_child(MP_SCRIPT.format(port=server.port, flush=flush))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["exitcode"] == 0 and report["flushed"]
    messages = [m for _, m in scribe_entries(server)]
    assert Counter((m["_phase"], m["_pid"]) for m in messages) == {
        ("parent", report["pid"]): 10,
        ("child", report["child"]): 10,
    }, f"the child's records must be delivered when its process ends (stderr: {run.stderr!r})"


def test_a_signal_handler_that_flushes_while_the_main_thread_flushes_does_not_hang(peers: StartPeer) -> None:
    listener = peers("gelf_tcp_listener.py")
    child = run_child(
        f"""
        import os, signal, sys, threading
        import logmagic

        logmagic.register_sink("net", "gelf+tcp://127.0.0.1:{listener.port}?batch_size=100&batch_age=0.5")
        logmagic.route("__root__", logmagic.INFO, "net")
        log = logmagic.local("e2e.flush")

        def on_term(signum, frame):
            log.warning("terminating")
            print("handler flushed", logmagic.flush(5), flush=True)

        signal.signal(signal.SIGTERM, on_term)
        fired = False

        def interrupt(frame, event, arg):
            # The signal lands while flush is waking the worker (inside Event.set, once).
            global fired
            if not fired and event == "call" and frame.f_code.co_name in ("notify_all", "poke"):
                fired = True
                os.kill(os.getpid(), signal.SIGTERM)

        log.info("hello")
        sys.setprofile(interrupt)
        done = logmagic.flush(5)
        sys.setprofile(None)
        print("main flushed", done, fired, flush=True)
        """,
        timeout=60,  # a hang guard
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.splitlines() == ["handler flushed True", "main flushed True True"]
    messages = [json.loads(line) for line in listener.wait_lines(2)]
    assert sorted(m["short_message"] for m in messages) == ["hello", "terminating"]


def test_a_record_logged_while_the_worker_is_being_started_starts_no_second_worker(
    peers: StartPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when a signal handler logs while the main thread is starting the sink's worker."""
    listener = peers("gelf_udp_listener.py")
    use("udp", f"gelf+udp://127.0.0.1:{listener.port}?batch_size=1")
    log = logmagic.local("e2e.start")
    made: list[threading.Thread] = []

    class InterruptedThread(threading.Thread):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(self)
            if len(made) == 1:
                log.info("from the interruption")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(queued.threading, "Thread", InterruptedThread)
    log.info("first")
    assert logmagic.flush(15)

    assert len(made) == 1
    messages = [json.loads(line.partition("\t")[2]) for line in listener.wait_lines(2)]
    assert sorted(m["short_message"] for m in messages) == ["first", "from the interruption"]


def test_a_batch_counted_while_close_gives_up_on_the_worker_is_counted_once(peers: StartPeer) -> None:
    listener = peers("gelf_udp_listener.py")
    counting, release = threading.Event(), threading.Event()

    class SlowToCount(GelfUdpSink):
        """Pauses the worker just as it counts its delivered batch, while close looks at it."""

        @property
        def sent(self) -> int:
            return int(self.__dict__.get("_sent", 0))

        @sent.setter
        def sent(self, value: int) -> None:
            if value:
                counting.set()
                release.wait(10)
            self.__dict__["_sent"] = value

    sink = SlowToCount("127.0.0.1", listener.port, batch_size=1)
    use("udp", sink)
    logmagic.local("e2e.close").info("delivered as close gives up")
    assert counting.wait(10)
    closer = threading.Thread(target=sink.close, args=(0.0,))
    closer.start()
    time.sleep(1.0)  # close waits 0.5 s for the worker, then decides what the batch in flight was
    release.set()
    closer.join(10)

    assert len(listener.wait_lines(1)) == 1
    assert (sink.sent, sink.dropped) == (1, 0)


def test_the_workers_wake_ups_stay_few_while_the_queue_stays_full() -> None:
    """A collector a little slower than the application: the worker never sleeps, and the
    tokens that wake it must not pile up with every record."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def slow_reader() -> None:
        conn, _ = server.accept()
        with conn:
            while conn.recv(16384):
                time.sleep(0.001)

    reader = threading.Thread(target=slow_reader, daemon=True)
    reader.start()
    sink = GelfTcpSink("127.0.0.1", server.getsockname()[1], batch_size=10, queue_size=5000)
    use("tcp", sink)
    log = logmagic.local("e2e.wake")
    try:
        end = time.monotonic() + 1.5
        n = 0
        while time.monotonic() < end:
            log.info("x" * 200, n=n)
            n += 1
            if n % 64 == 0:
                time.sleep(0.0005)
        assert sink.sent > 1000  # the worker kept delivering all along
        assert sink._ctl.wake.qsize() < 10
        assert sink.name == "tcp"  # registered as an object, it is named for its loss reports
    finally:
        worker = sink._worker
        sink.close(0.0)
        server.close()
        reader.join(10)  # the worker closed its connection: the reader ends; no thread outlives the test
        if worker is not None:
            worker.join(10)
        assert not reader.is_alive()


def test_a_thousand_route_changes_start_no_threads(peers: StartPeer) -> None:
    server = peers("scribe_server.py")
    sink = use("scribe", f"scribe://127.0.0.1:{server.port}/e2e-reconf")
    assert isinstance(sink, queued.QueuedSink)
    log = logmagic.local("e2e.reconf")
    log.info("before", i=0)
    assert logmagic.flush(15)
    before, worker = set(threading.enumerate()), sink._worker

    for k in range(1000):
        logmagic.route("__root__" if k % 2 else "e2e.reconf", logmagic.DEBUG if k % 3 else logmagic.INFO, "scribe")
    log.info("after", i=1)
    assert logmagic.flush(15)

    # Compared by identity, not by count: a thread of an earlier test may end meanwhile.
    assert [t.name for t in set(threading.enumerate()) - before] == []
    assert worker is not None and worker.is_alive()
    assert sink._worker is worker and config.sinks()["scribe"] is sink
    assert sorted(ids([m for _, m in scribe_entries(server)], "e2e.reconf")) == [0, 1]
    assert logmagic.stats()["scribe"]["sent"] == 2, "the same sink, with the same worker, all along"


def test_registering_a_sink_name_50_times_leaves_one_worker(peers: StartPeer) -> None:
    server = peers("scribe_server.py")
    spec = f"scribe://127.0.0.1:{server.port}/e2e-rereg"
    log = logmagic.local("e2e.rereg")
    for k in range(50):
        use("scribe", spec)  # replaces the sink of that name; the old one is closed
        log.info("registered again", i=k)

    workers = [t for t in threading.enumerate() if t.name == "logmagic-scribe"]
    assert len(workers) <= 1, workers
    assert logmagic.flush(15)
    received = ids([m for _, m in scribe_entries(server)], "e2e.rereg")
    assert sorted(received) == list(range(50)), "a replaced sink delivers what it held before it closes"


# -- the queue bound -----------------------------------------------------------------------


def test_full_queue_drops_the_newest_without_blocking_and_reports_on_recovery(peers: StartPeer) -> None:
    port = free_port()
    use("bound", f"scribe://127.0.0.1:{port}/e2e-bound?queue_size=100&batch_age=1&max_backoff=0.3")
    log = logmagic.local("e2e.bound")
    for i in range(1000):
        log.info("bounded", i=i)  # returns at once, collector or not

    stats = logmagic.stats()["bound"]
    assert stats["dropped"] >= 900
    assert stats["queued"] + stats["dropped"] == 1000
    assert stats["pending"] <= 100
    assert wait_until(lambda: logmagic.stats()["bound"]["retried"] >= 1), "delivery was tried and failed"

    server = peers("scribe_server.py", port=port)
    assert logmagic.flush(15)
    messages = [m for _, m in scribe_entries(server)]
    kept = ids(messages, "e2e.bound")
    assert sorted(kept) == list(range(len(kept))), "the oldest records are kept, the newest dropped"
    assert len(kept) == stats["queued"]
    (warning,) = [m for m in messages if m["_facility"] == "logmagic.delivery"]
    assert warning["short_message"] == DELIVERY_WARNING
    assert warning["level"] == 4
    assert (warning["_sink"], warning["_dropped"]) == ("bound", stats["dropped"])


def test_block_ms_waits_for_room_instead_of_dropping(peers: StartPeer) -> None:
    n = 2000
    server = peers("scribe_server.py")
    use("noblock", f"scribe://127.0.0.1:{server.port}/e2e-noblock?queue_size=10&batch_size=10")
    log = logmagic.local("e2e.block")
    for i in range(n):
        log.info("no waiting", i=i)
    assert logmagic.flush(15)
    assert logmagic.stats()["noblock"]["dropped"] > 0, "a queue of 10 cannot hold a burst of 2000"

    use("block", f"scribe://127.0.0.1:{server.port}/e2e-block?queue_size=10&batch_size=10&block_ms=5000")
    for i in range(n):
        log.info("waits for room", i=i)
    assert logmagic.flush(15)
    stats = logmagic.stats()["block"]
    assert (stats["sent"], stats["dropped"]) == (n, 0)
    blocked = [m["_i"] for category, m in scribe_entries(server) if category == "e2e-block"]
    assert sorted(blocked) == list(range(n))
