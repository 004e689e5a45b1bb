"""A real redis-server on 127.0.0.1 and job-queue worker processes (Celery, RQ) for the
end-to-end tests, with the workers' stderr (logmagic's GELF lines) in a file.

Every line a worker writes on stderr must be one GELF record: ``gelf_records`` fails on a line
that is not, naming it, since a plain text line there is output logmagic did not take over.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from ..conftest import require
from .servers import free_port, server_env

#: Seconds redis-server and a worker may take to come up.
START_TIMEOUT = 60.0
#: Seconds a record may take to reach the worker's stderr after the task was published.
RECORD_TIMEOUT = 30.0

Record = dict[str, Any]


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A redis-server of its own on a free port of 127.0.0.1, its files in ``workdir``; yields
    its URL and stops it on exit. Skipped when redis-server is not installed (a failure in CI)."""
    binary = require("redis-server", package="redis-server")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "redis.log"
    argv = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(log),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited ({proc.returncode}): {_tail(log)}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer on port {port}: {_tail(log)}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        stop(proc)


def worker_env(host: str, **extra: str) -> dict[str, str]:
    """A worker's environment: logmagic's GELF lines on stderr at DEBUG, host ``host``, the
    modules of ``tests/e2e/apps`` importable."""
    env = server_env(host, Path("/nonexistent"), **extra)
    del env["LOGMAGIC_SINKS"]
    env["LOGMAGIC_ROUTES"] = "__root__=DEBUG:graylog2-stderr"
    return env


@dataclass
class Worker:
    """A worker process whose stderr is ``stderr`` and stdout ``stdout``, for ``broker``."""

    name: str
    proc: subprocess.Popen[bytes]
    stderr: Path
    stdout: Path
    broker: str

    def records(self) -> list[Record]:
        return gelf_records(self.stderr)

    def wait_for(self, pred: Callable[[Record], bool], count: int = 1) -> list[Record]:
        """The records matching ``pred``, once there are ``count``; fails with the worker's
        output if they never come."""
        deadline = time.monotonic() + RECORD_TIMEOUT
        while True:
            found = [r for r in self.records() if pred(r)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline or self.proc.poll() is not None:
                found_text = f"found {len(found)}: {found}"
                raise AssertionError(f"expected {count} matching records, {found_text}\n{self.diagnostics()}")
            time.sleep(0.05)

    def diagnostics(self) -> str:
        head = f"{self.name} (exit code {self.proc.poll()})"
        return f"{head}\nstdout:\n{_tail(self.stdout)}\nstderr:\n{_tail(self.stderr)}"

    def stop(self) -> None:
        stop(self.proc)


def start_worker(name: str, argv: Sequence[str], workdir: Path, env: dict[str, str], broker: str) -> Worker:
    """Start ``argv`` with its stderr in ``NAME.err`` and its stdout in ``NAME.out``."""
    stderr, stdout = workdir / f"{name}.err", workdir / f"{name}.out"
    with stderr.open("ab") as err, stdout.open("ab") as out:
        proc = subprocess.Popen(list(argv), env=env, stdout=out, stderr=err, cwd=str(workdir))
    return Worker(name, proc, stderr, stdout, broker)


def gelf_records(path: Path) -> list[Record]:
    """Every complete line of ``path``, each of which must be one GELF record."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records = []
    for line in data.split(b"\n")[:-1]:  # a last line without its newline is still being written
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"a line of {path.name} is not a GELF record: {line[:300]!r}") from None
        assert isinstance(record, dict) and record.get("version") == "1.1", line[:300]
        records.append(record)
    return records


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` (a warm shutdown for the workers), kill it if it does not go."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-4000:]
    except FileNotFoundError:
        return "(none)"
