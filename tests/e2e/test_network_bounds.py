"""Network sinks: the queue's bounds in records and bytes, and the end of a sink the configuration dropped.

Against real peers on 127.0.0.1 (a Thrift Scribe server, an HTTP collector; see ``peers``): a
burst of production-shaped lines reaches a live collector whole with the default bounds; with
the collector down, or not reading, the queue's bytes stay under the bound and the rest is
counted as dropped. A sink dropped by ``reset()`` never starts a worker again, whoever still
holds a level method made for it. No assert is on wall time: time limits only stop a hang.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import logmagic
from logmagic import config
from logmagic.sinks import queued
from logmagic.txn import transaction

from .peers import Peer, running_peers
from .test_network_sinks import StartPeer, free_port, ndjson, requests_seen, scribe_entries, use

#: Seconds a thread may take to end once nothing keeps it: a hang guard, not a measurement.
JOIN_TIMEOUT = 10.0


def log_order(log: Any, i: int) -> None:
    """One record shaped like a service's: a message, the context's txnId and a few fields.

    Some 310 bytes as a GELF line with the identity ``serve`` sets: 100,000 of them fit in the
    default 32 MiB even if the worker sent nothing while they were logged.
    """
    log.info(
        "order queued for fulfilment", accountId="ac-4815162342", orderId=f"ord-{i:09d}", amount=1299, status=201, i=i
    )


def serve() -> None:
    """A production host's identity, so that the lines' size does not depend on this machine's name."""
    logmagic.configure(host="api3.ord1", version="1.4.2")


def spec(kind: str, port: int, options: str = "") -> str:
    """The spec of a Scribe (``scribe``) or HTTP (``http``) sink on ``port``."""
    base = f"scribe://127.0.0.1:{port}/e2e-bounds" if kind == "scribe" else f"http://127.0.0.1:{port}/ingest"
    return f"{base}?{options}" if options else base


def received(kind: str, peer: Peer) -> list[dict[str, Any]]:
    """Every message the peer accepted."""
    if kind == "scribe":
        return [m for _, m in scribe_entries(peer)]
    return [m for r in requests_seen(peer) if r["status"] == 200 for m in ndjson(r["body"])]


def queued_bytes(sink: queued.QueuedSink) -> int:
    """What the queue holds right now, measured on the lines themselves."""
    return sum(len(line) for line in list(sink._queue))


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[StartPeer]:
    """Start peers with ``peers("scribe_server.py", *args, port=...)``; all are killed at the end."""
    with running_peers(tmp_path) as start:
        yield start


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never reads or answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


# -- 13: the queue is bounded in bytes as well as records ----------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["scribe", "http"])
def test_a_100000_record_burst_reaches_a_live_collector_whole_with_the_default_queue(
    peers: StartPeer, kind: str
) -> None:
    n = 100_000
    peer = peers("scribe_server.py" if kind == "scribe" else "http_collector.py")
    serve()
    sink = use("burst", spec(kind, peer.port))
    assert isinstance(sink, queued.QueuedSink)
    log = logmagic.local("e2e.burst")
    with transaction():
        for i in range(n):  # a tight loop: the worker delivers little while it runs
            log_order(log, i)

    assert logmagic.flush(120)
    stats = logmagic.stats()["burst"]
    assert (stats["queued"], stats["sent"], stats["dropped"]) == (n, n, 0)
    assert stats["pending_bytes"] == 0
    messages = received(kind, peer)
    assert sorted(m["_i"] for m in messages) == list(range(n)), "every record arrives, once"
    assert all(m["_txnId"] for m in messages)
    mean = sum(map(len, map(orjson.dumps, messages))) / n
    assert 250 < mean < 330, "a few hundred bytes a line, as in production"


@pytest.mark.parametrize("kind", ["scribe", "http"])
@pytest.mark.parametrize("down", ["refused", "not-reading"])
def test_with_the_collector_down_the_queue_stays_within_its_bytes_and_counts_the_drops(
    kind: str, down: str, blackhole: int, capfd: pytest.CaptureFixture[str]
) -> None:
    n, bound = 10_000, 256 * 1024  # some 3 MB of lines for a quarter of a megabyte
    port = free_port() if down == "refused" else blackhole
    serve()
    sink = use("down", spec(kind, port, f"queue_bytes={bound}&max_backoff=0.3"))
    assert isinstance(sink, queued.QueuedSink)
    assert sink.queue_bytes == bound
    log = logmagic.local("e2e.down")
    peak = 0
    with transaction():
        for i in range(n):
            log_order(log, i)
            count = logmagic.stats()["down"]["pending_bytes"]
            assert count <= bound
            peak = max(peak, count)
    held = queued_bytes(sink)
    stats = logmagic.stats()["down"]
    assert held <= stats["pending_bytes"] <= bound, "the count covers every queued line, within the bound"
    assert peak > bound * 0.9, "the queue filled up to its bytes"
    assert stats["dropped"] > n // 2
    assert stats["queued"] + stats["dropped"] == n
    assert stats["sent"] == 0
    logmagic.reset()  # gives up on the collector: what it still held is counted too
    assert sink.stats()["dropped"] == n
    assert sink.stats()["pending_bytes"] == 0
    logmagic.shutdown(0.0)  # writes the losses not reported yet
    assert "down: " in capfd.readouterr().err, "the drops are reported on stderr"


def test_the_default_queue_holds_32_mib_of_lines_and_no_more() -> None:
    serve()
    sink = use("dead", spec("scribe", free_port()))
    assert isinstance(sink, queued.QueuedSink)
    assert (sink.queue_bytes, sink.queue_size) == (32 * 1024 * 1024, 1_000_000)
    log = logmagic.local("e2e.default")
    n = 0
    with transaction():
        while sink.dropped < 100:
            log_order(log, n)
            n += 1
            assert n < 1_000_000, "the bytes bound was never reached"
    stats = logmagic.stats()["dead"]
    assert 32 * 1024 * 1024 - 1000 < stats["pending_bytes"] <= 32 * 1024 * 1024, "full to within a line"
    assert queued_bytes(sink) <= stats["pending_bytes"]
    assert stats["queued"] + stats["dropped"] == n
    assert stats["queued"] < 1_000_000, "the bytes, not the record count, stopped the queue"


def test_queue_bytes_is_a_sink_option_checked_when_the_sink_is_made() -> None:
    with pytest.raises(ValueError, match="queue_bytes must be a number"):
        logmagic.register_sink("bad", "scribe://127.0.0.1:1463/x?queue_bytes=lots")
    with pytest.raises(ValueError, match="queue_bytes"):
        logmagic.register_sink("bad", "gelf+udp://127.0.0.1:12201?queue_bytes=0")
    logmagic.register_sink("ok", "gelf+tcp://127.0.0.1:12201?queue_bytes=1000&queue_size=7")
    sink = config.sinks()["ok"]
    assert isinstance(sink, queued.QueuedSink)
    assert (sink.queue_bytes, sink.queue_size) == (1000, 7)


# -- 15: a sink the configuration dropped stays closed ---------------------------------------


def sink_threads() -> set[threading.Thread]:
    """The living worker threads of logmagic's network sinks."""
    return {t for t in threading.enumerate() if t.name.startswith("logmagic-") and t.is_alive()}


def ended(threads: set[threading.Thread]) -> list[str]:
    """Join each of ``threads`` (a bounded wait); the names of those still alive."""
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    return sorted(t.name for t in threads if t.is_alive())


def open_fds() -> set[str]:
    """This process's open descriptors, as ``fd -> target``."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            pass  # the listing's own descriptor, closed by now
    return out


@pytest.mark.parametrize("name", ["info", "infof"], ids=["direct-gelf-path", "through-emit"])
def test_a_method_taken_before_reset_starts_no_worker_for_the_dropped_sink(
    peers: StartPeer, name: str, capfd: pytest.CaptureFixture[str]
) -> None:
    server = peers("scribe_server.py")
    old = use("sc", spec("scribe", server.port))
    assert isinstance(old, queued.QueuedSink)
    log = logmagic.local("e2e.captured")
    method = getattr(log, name)
    method("before the reset", i=0)
    assert logmagic.flush(15)
    before = set(threading.enumerate())

    logmagic.reset()
    method("after the reset", i=1)  # the level method still holds the dropped sink

    assert ended(sink_threads() - before) == [], "a worker started for the dropped sink"
    assert old._worker is None
    stats = old.stats()
    assert (stats["queued"], stats["sent"], stats["dropped"], stats["pending"]) == (1, 1, 1, 0)
    assert sorted(m["_i"] for m in received("scribe", server)) == [0]
    logmagic.shutdown(1.0)  # writes what is not reported yet
    assert "sc: 1 lost (the configuration dropped this sink)" in capfd.readouterr().err


@pytest.mark.slow
def test_configure_reset_cycles_under_logging_threads_leave_no_worker_and_no_descriptor(
    peers: StartPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    scribe, collector = peers("scribe_server.py"), peers("http_collector.py")
    sinks = {"sc": spec("scribe", scribe.port), "ht": spec("http", collector.port)}
    routes = {"__root__": ("INFO", ["sc", "ht"])}
    monkeypatch.setenv("LOGMAGIC_ROUTES", "__root__=INFO:")  # between cycles, records go nowhere
    logmagic.reset()
    logmagic.configure(routes=routes, sinks=sinks, env=False)
    logmagic.local("e2e.cycles").info("warm up")  # imports and first connections: not leaks
    assert logmagic.flush(15)
    logmagic.reset()
    threads_before, fds_before = sink_threads(), open_fds()

    stop = threading.Event()

    def keep_logging(k: int) -> None:
        log = logmagic.local(f"e2e.cycles.t{k}")
        i = 0
        while not stop.is_set():
            method = log.info  # kept a while (some 50 ms), as code that stores a level method does
            for _ in range(100):
                method("cycling", i=i)
                i += 1
                time.sleep(0.0005)  # a service's thread also does other work

    writers = [threading.Thread(target=keep_logging, args=(k,), name=f"writer-{k}") for k in range(8)]
    for writer in writers:
        writer.start()
    try:
        for _ in range(200):
            logmagic.configure(routes=routes, sinks=sinks, env=False)
            time.sleep(0.005)  # the writers take the new methods and log through them
            logmagic.reset()
    finally:
        stop.set()
        for writer in writers:
            writer.join(JOIN_TIMEOUT)
    assert not any(w.is_alive() for w in writers)
    logmagic.reset()
    logmagic.shutdown(0.0)  # the late records' drops are reported now, in this test's output

    assert ended(sink_threads() - threads_before) == [], "workers of dropped sinks outlived the reset"
    assert open_fds() - fds_before == set(), "sockets of dropped sinks were left open"
