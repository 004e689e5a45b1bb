"""Running ``logmagic ship`` and everything around it for the end-to-end shipper tests.

``Lab`` starts real processes (the shipper, svlogd, the line writer, the Scribe and HTTP peers
of ``tests/e2e/peers``) and kills whatever is still running at the end of a test.
``Received`` reads what a collector got, incrementally, across restarts of the collector;
``check_lines`` compares it with what ``line_writer.line`` generated.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .line_writer import line
from .peers import Peer, start_peer

__all__ = ["Lab", "Received", "Shipper", "check_lines", "deleted_fds", "line", "rss_kb", "run_ship", "wait_until"]

HERE = Path(__file__).parent
WRITER = HERE / "line_writer.py"
#: Seconds a shipper command that should exit at once (``--status``, a bad flag) may take.
COMMAND_TIMEOUT = 30.0
#: svlogd ``-t``/``-tt``/``-ttt`` timestamps: a message starting with one kept its prefix.
SVLOGD_PREFIX = re.compile(r"^(@4[0-9a-f]{23} |\d{4}-\d\d-\d\d[_T]\d\d:\d\d:\d\d)")
_SEQ = re.compile(rb'^\{"seq":(\d+),')


def env() -> dict[str, str]:
    """Our environment without LOGMAGIC_* settings (the shipper logs GELF to stderr)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}


def ship_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "logmagic.tools.cli", "ship", *args]


def run_ship(*args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``logmagic ship ARGS`` to its end (``--status``, or a command that should fail)."""
    return subprocess.run(ship_argv(*args), capture_output=True, text=True, timeout=timeout, env=env())


def wait_until(pred: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def rss_kb(pid: int) -> int:
    """The resident set size of ``pid`` in KiB, from /proc/PID/status."""
    with open(f"/proc/{pid}/status") as f:
        for text in f:
            if text.startswith("VmRSS:"):
                return int(text.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def deleted_fds(pid: int) -> list[str]:
    """The deleted files ``pid`` still holds open (Linux: /proc/PID/fd)."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.endswith(" (deleted)"):
            found.append(target)
    return found


@dataclass
class Shipper:
    """A running ``logmagic ship`` process; its stderr (the shipper's own GELF log) goes to a file."""

    proc: subprocess.Popen[bytes]
    argv: list[str]
    errors: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: a crash, with whatever batch was in flight."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM, and the exit code (a hang past ``timeout`` fails the test)."""
        self.signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def log(self) -> list[dict[str, object]]:
        """The shipper's own records (GELF lines on its stderr)."""
        out = []
        for text in self.errors.read_text(errors="replace").splitlines():
            if text.startswith("{"):
                out.append(json.loads(text))
        return out

    def diagnostics(self) -> str:
        text = self.errors.read_text(errors="replace") if self.errors.exists() else ""
        return f"shipper (exit code {self.proc.poll()}), stderr:\n{text[-3000:]}"


@dataclass
class Lab:
    """The processes of one test, all killed (SIGKILL) when it ends."""

    directory: Path
    peers: list[Peer] = field(default_factory=list)
    shippers: list[Shipper] = field(default_factory=list)
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def peer(self, script: str, *args: str, port: int = 0) -> Peer:
        out = self.directory / f"{script.removesuffix('.py')}-{len(self.peers)}.out"
        peer = start_peer(script, out, *args, port=port)
        self.peers.append(peer)
        return peer

    def collector(self, kind: str, port: int = 0) -> tuple[Peer, str]:
        """A Scribe server or an HTTP collector, and the ``--to`` URL for it (no category)."""
        if kind == "scribe":
            peer = self.peer("scribe_server.py", port=port)
            return peer, f"scribe://127.0.0.1:{peer.port}"
        peer = self.peer("http_collector.py", port=port)
        return peer, f"http://127.0.0.1:{peer.port}/ingest"

    def watched(self, kind: str) -> tuple[Peer, str, Received]:
        """``collector(kind)``, and what that collector accepts, watched as it grows."""
        peer, url = self.collector(kind)
        received = Received(kind)
        received.watch(peer)
        return peer, url, received

    def shipper(self, *args: str, under: Sequence[str] = ()) -> Shipper:
        """``logmagic ship ARGS``, run by the command ``under`` when one is given (``setpriv …``)."""
        errors = self.directory / f"shipper-{len(self.shippers)}.stderr"
        argv = [*under, *ship_argv(*args)]
        with errors.open("wb") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env())
        shipper = Shipper(proc, argv, errors)
        self.shippers.append(shipper)
        return shipper

    def start(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        proc: subprocess.Popen[bytes] = subprocess.Popen(argv, env=env(), **kwargs)  # type: ignore[call-overload]
        self.others.append(proc)
        return proc

    def writer(self, *args: str, **kwargs: object) -> subprocess.Popen[bytes]:
        """``line_writer.py ARGS`` (see there)."""
        return self.start([sys.executable, str(WRITER), *args], **kwargs)

    def close(self) -> None:
        for proc in [*(s.proc for s in self.shippers), *self.others]:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=15)
        for peer in self.peers:
            peer.kill()


class Received:
    """What the collectors (one kind, possibly several processes in turn) accepted, read as it grows.

    ``messages`` are the lines as the collector got them (no newline); for Scribe,
    ``categories`` counts the category of each entry. HTTP requests answered with an error
    status are not counted as received.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.messages: list[bytes] = []
        self.categories: Counter[str] = Counter()
        self.seqs: set[int] = set()
        self._offsets: dict[Path, int] = {}
        self._peers: list[Peer] = []

    def watch(self, peer: Peer) -> None:
        self._peers.append(peer)

    def update(self) -> int:
        """Read what arrived since the last call; the number of messages received so far."""
        for peer in self._peers:
            try:
                with peer.out.open("rb") as f:
                    f.seek(self._offsets.get(peer.out, 0))
                    data = f.read()
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1  # a line still being written is read next time
            self._offsets[peer.out] = self._offsets.get(peer.out, 0) + end
            for entry in data[:end].splitlines():
                self._add(entry)
        return len(self.messages)

    def _add(self, entry: bytes) -> None:
        if self.kind == "scribe":
            category, tab, message = entry.partition(b"\t")
            assert tab, f"not a 'category<TAB>message' line: {entry[:200]!r}"
            self.categories[category.decode()] += 1
            found = [message]
        else:
            request = json.loads(entry)
            if not 200 <= request["status"] < 300:
                return
            body = request["body"].encode()
            assert body.endswith(b"\n"), "an NDJSON body ends with a newline"
            found = body.splitlines()
        self.messages.extend(found)
        for message in found:
            m = _SEQ.match(message)
            if m:
                self.seqs.add(int(m.group(1)))

    def count(self) -> int:
        return self.update()

    def unique(self) -> int:
        self.update()
        return len(self.seqs)

    def wait_count(self, count: int, timeout: float = 30.0) -> int:
        wait_until(lambda: self.update() >= count, timeout)
        return len(self.messages)

    def wait_all(self, seqs: Iterable[int], timeout: float = 60.0) -> bool:
        wanted = set(seqs)
        return wait_until(lambda: self.update() >= 0 and wanted <= self.seqs, timeout, interval=0.1)


def check_lines(messages: list[bytes], expected: range) -> int:
    """Every line of ``expected`` arrived whole and unchanged; the number of duplicates.

    Fails on a line that is not one of ``expected`` byte for byte (cut, glued to another,
    prefixed), and names the first few missing sequence numbers.
    """
    seen: Counter[int] = Counter()
    for message in messages:
        text = message.decode()
        assert not SVLOGD_PREFIX.match(text), f"svlogd's timestamp was not stripped: {text[:80]!r}"
        record = json.loads(text)  # a piece of a line, or two lines glued, would not parse
        seq = record["seq"]
        assert message + b"\n" == line(seq), f"line {seq} arrived changed: {message[:120]!r}"
        seen[seq] += 1
    missing = sorted(set(expected) - set(seen))
    assert not missing, f"{len(missing)} lines never arrived, the first: {missing[:10]}"
    extra = sorted(set(seen) - set(expected))
    assert not extra, f"lines that were never written arrived: {extra[:10]}"
    return sum(seen.values()) - len(seen)
