"""Peers for the network sink tests: real collectors, each run as its own process on 127.0.0.1.

Every peer script takes ``--port`` (0: the OS picks one) and ``--out FILE``, writes what it
received to ``FILE`` one line per entry (flushed as it goes, so a test can read it at any time),
and prints ``READY <port>`` on stdout once it is listening. ``start_peer`` waits for that line;
``Peer.kill`` ends the process with SIGKILL, which is also how tests simulate a crash.
``running_peers`` starts any number of them and kills them all at the end (a fixture's body).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
#: Seconds a peer may take to start listening (interpreter start and imports).
START_TIMEOUT = 30.0


@dataclass
class Peer:
    """A peer process, the port it listens on and the file it writes."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    out: Path
    errors: Path

    def kill(self) -> None:
        """SIGKILL (no chance to flush or answer), then reap the process."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=15)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def lines(self) -> list[str]:
        """Every complete line written so far (a line still being written is left out)."""
        try:
            data = self.out.read_bytes()
        except FileNotFoundError:
            return []
        return [line.decode("utf-8") for line in data.split(b"\n")[:-1]]

    def wait_lines(self, count: int, timeout: float = 20.0, pred: Callable[[str], bool] | None = None) -> list[str]:
        """The lines (matching ``pred``) once there are at least ``count``, or all there are at ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if pred is None or pred(line)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def diagnostics(self) -> str:
        text = self.errors.read_text(errors="replace") if self.errors.exists() else ""
        return f"peer {self.name} (exit code {self.proc.poll()}), stderr:\n{text[-3000:]}"


def start_peer(script: str, out: Path, *args: str, port: int = 0) -> Peer:
    """Run ``peers/<script>`` listening on ``port`` and writing to ``out``; wait until it listens."""
    errors = out.with_name(out.name + ".stderr")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    argv: Sequence[str] = [sys.executable, str(HERE / script), "--port", str(port), "--out", str(out), *args]
    with errors.open("ab") as err:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, env=env)
    peer = Peer(script, proc, port, out, errors)
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, left))
        chunk = os.read(proc.stdout.fileno(), 1) if ready else b""
        if not chunk:
            peer.kill()
            raise RuntimeError(f"{script} did not start listening: {peer.diagnostics()}")
        line += chunk
    word, _, number = line.decode().strip().partition(" ")
    if word != "READY":
        peer.kill()
        raise RuntimeError(f"{script} said {line!r} instead of READY: {peer.diagnostics()}")
    peer.port = int(number)
    return peer


@contextmanager
def running_peers(directory: Path) -> Iterator[Callable[..., Peer]]:
    """``start(script, *args, port=0)`` starts a peer writing into ``directory``; all are
    killed when the block ends."""
    started: list[Peer] = []

    def start(script: str, *args: str, port: int = 0) -> Peer:
        peer = start_peer(script, directory / f"{script.removesuffix('.py')}-{len(started)}.out", *args, port=port)
        started.append(peer)
        return peer

    try:
        yield start
    finally:
        for peer in started:
            peer.kill()
