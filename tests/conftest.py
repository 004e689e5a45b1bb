"""Shared fixtures: a clean logmagic configuration per test and a list sink to look at records."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import logmagic
from logmagic.record import Record


@pytest.fixture(autouse=True)
def _clean_logmagic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LOGMAGIC_ROUTES", raising=False)
    monkeypatch.delenv("LOGMAGIC_SINKS", raising=False)
    logmagic.reset()
    yield
    logmagic.reset()


class ListSink(logmagic.Sink):
    """Keeps every record it gets."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def emit(self, record: Record) -> None:
        self.records.append(record)

    @property
    def fields(self) -> list[dict[str, Any]]:
        return [r.fields for r in self.records]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(CA certificate, server key + certificate chain) from a private CA, for 127.0.0.1 and localhost."""
    trustme = pytest.importorskip("trustme")
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, server_file = directory / "ca.pem", directory / "server.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server.private_key_and_cert_chain_pem.write_to_path(str(server_file))
    return ca_file, server_file


@pytest.fixture
def sink() -> ListSink:
    """A sink named ``list`` that every facility routes to, down to TRACE8."""
    s = ListSink()
    logmagic.register_sink("list", s)
    logmagic.route("__root__", logmagic.TRACE8, "list")
    return s


def open_here(path: object) -> bool:
    """Whether this process has the file ``path`` open (Linux: /proc/self/fd)."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                return True
        except OSError:
            pass
    return False


def drain_pty(main: int) -> bytes:
    """Everything written to a pseudo-terminal until its other side is closed (then ``main``
    is closed too; Linux answers EIO when nothing holds the other side any more)."""
    out = b""
    try:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(main)
    return out


def require(tool: str, package: str = "runit") -> str:
    """The path of ``tool``; skip when missing, or fail under CI (``CI=true``, or
    ``LOGMAGIC_REQUIRE_ALL=1`` as ``.ci/run`` sets): there it must be installed."""
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} is not installed (Debian: apt-get install {package}; .ci/run installs it)"
        if os.environ.get("LOGMAGIC_REQUIRE_ALL") == "1" or os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


#: A moment for freezegun, and the same moment in unix seconds.
FROZEN = "2024-02-03 04:05:06.25"
FROZEN_TS = 1706933106.25


class Collect(logging.Handler):
    """A plain ``logging`` handler that keeps the records it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
