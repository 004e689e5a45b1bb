"""Starting and stopping real servers on 127.0.0.1, and reading the GELF files they write.

Every server gets its own environment: logmagic configured by ``LOGMAGIC_SINKS`` and
``LOGMAGIC_ROUTES`` only (no code), a host name of our choosing in ``APP_HOST``, and the app
modules of ``tests/e2e/apps`` on ``PYTHONPATH``. Its stdout and stderr go to a file next to its
log, shown in the error when it does not come up.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

APPS = Path(__file__).parent / "apps"
#: Seconds a server may take to answer its first request (imports, worker boot).
START_TIMEOUT = 60.0
#: Seconds a record may take to reach the log file after the response came back.
RECORD_TIMEOUT = 15.0

Record = dict[str, Any]


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server process, its address and the files it writes."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    output: Path
    env: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def records(self) -> list[Record]:
        return read_gelf(self.log)

    def wait_for(self, pred: Callable[[Record], bool], count: int = 1) -> list[Record]:
        """The records of this server's log that match ``pred``, once there are ``count`` of them."""
        return wait_for_records(self.log, pred, count, self)

    def wait_for_txn(self, txn_id: str, count: int = 1) -> list[Record]:
        return self.wait_for(lambda r: r.get("_txnId") == txn_id, count)

    def access_record(self, txn_id: str) -> Record:
        """The one access record of the request with ``txn_id``."""
        found = self.wait_for(lambda r: r.get("_facility") == "logmagic.access" and is_access(r, txn_id))
        assert len(found) == 1, found
        return found[0]

    def diagnostics(self) -> str:
        out = self.output.read_text(errors="replace") if self.output.exists() else ""
        return f"{self.name} (exit code {self.proc.poll()}), output:\n{out[-4000:]}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


def is_access(record: Record, txn_id: str) -> bool:
    return record.get("_txnId") == txn_id and "_status" in record and "_duration_ms" in record


def server_env(host: str, log: Path, **extra: str) -> dict[str, str]:
    """The environment of a server: logmagic to ``log`` as GELF at DEBUG, host ``host``; ``extra``
    adds variables or replaces these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    env.update(
        APP_HOST=host,
        LOGMAGIC_SINKS=f"main=file://{log}?format=gelf",
        LOGMAGIC_ROUTES="__root__=DEBUG:main",
        LOGMAGIC_VERSION="e2e-1.0",
        PYTHONPATH=os.pathsep.join(p for p in (str(APPS), env.get("PYTHONPATH", "")) if p),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)  # may replace the defaults above (``LOGMAGIC_ROUTES``, say)
    return env


def start(name: str, argv: Sequence[str], port: int, workdir: Path, host: str, **extra_env: str) -> Server:
    """Start ``argv`` and wait until it answers HTTP on ``port``; logmagic writes to ``NAME.log``."""
    log = workdir / f"{name}.log"
    return launch(name, argv, port, workdir, server_env(host, log, **extra_env), log)


def launch(
    name: str,
    argv: Sequence[str],
    port: int,
    workdir: Path,
    env: dict[str, str],
    log: Path,
    stderr_is_log: bool = False,
) -> Server:
    """Start ``argv`` and wait until it answers HTTP on ``port``; stop it again if it never does.

    stdout (and stderr, unless ``stderr_is_log``: then stderr goes to ``log``) go to ``NAME.out``.
    """
    output = workdir / f"{name}.out"
    with output.open("wb") as out, log.open("ab") as err:
        stderr = err if stderr_is_log else subprocess.STDOUT
        proc = subprocess.Popen(list(argv), env=env, stdout=out, stderr=stderr, cwd=str(workdir))
    server = Server(name, proc, port, log, output, env)
    try:
        wait_until_serving(server)
    except BaseException:
        server.stop()
        raise
    return server


def uvicorn(name: str, module: str, workdir: Path, host: str, args: Sequence[str] = (), **extra_env: str) -> Server:
    """uvicorn on a free port, with its own access log off (the middleware writes one); ``args`` go last."""
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", module,
        "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
        *args,
    ]  # fmt: skip
    return start(name, argv, port, workdir, host, **extra_env)


def gunicorn(
    name: str, module: str, workdir: Path, host: str, workers: int = 2, preload: bool = False, **extra_env: str
) -> Server:
    """gunicorn with sync workers; ``preload`` imports the app (and logmagic) in the master, before fork."""
    port = free_port()
    argv = [
        sys.executable, "-m", "gunicorn", module,
        "-w", str(workers), "-b", f"127.0.0.1:{port}",
        "--graceful-timeout", "5", "--log-level", "warning",
    ]  # fmt: skip
    if preload:
        argv.append("--preload")
    return start(name, argv, port, workdir, host, **extra_env)


def wait_until_serving(server: Server) -> None:
    """Wait until the server answers an HTTP request (any status), or fail with its output."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited before serving: {server.diagnostics()}")
        try:
            httpx.get(f"{server.url}/ready", timeout=5)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer on port {server.port}: {server.diagnostics()}") from None
            time.sleep(0.1)


def read_gelf(path: Path) -> list[Record]:
    """Every complete line of a GELF file, parsed (one JSON object per line)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")[:-1]  # a last line without its newline is still being written
    return [json.loads(line) for line in lines if line]


def wait_for_records(
    path: Path, pred: Callable[[Record], bool], count: int = 1, server: Server | None = None
) -> list[Record]:
    """Poll ``path`` until ``count`` records match ``pred``; fail with what was there if they never do."""
    deadline = time.monotonic() + RECORD_TIMEOUT
    while True:
        found = [r for r in read_gelf(path) if pred(r)]
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if len(found) < count:
        extra = f"\n{server.diagnostics()}" if server is not None else ""
        raise AssertionError(f"expected {count} matching records in {path}, found {len(found)}: {found}{extra}")
    return found
