"""uvicorn's and gunicorn's own ``logging`` records, captured by ``logmagic.integrations.stdlib``.

Real servers on 127.0.0.1 serve apps (``tests/e2e/apps/stdlib_*_app.py``) that call
``capture()``; logmagic writes GELF to the process's real stderr (``graylog2-stderr``), kept
in its own file apart from stdout. The servers' startup, access and error records must arrive
there as GELF with their logger name as facility and the mapped level, and must no longer be
printed in the servers' own plain-text formats.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gunicorn
import httpx
import pytest

from .servers import RECORD_TIMEOUT, Server, free_port, launch, server_env

HOST = "stdlib-e2e.local"
INFO, ERR = 6, 3  # GELF (syslog) levels
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %({x-response-id}o)s'

Record = dict[str, Any]


def start(name: str, argv: Sequence[str], port: int, workdir: Path) -> Server:
    """Start a server whose logmagic writes GELF to stderr; ``Server.log`` is that stderr file."""
    err = workdir / f"{name}.err"
    env = server_env(HOST, err)
    del env["LOGMAGIC_SINKS"]
    env["LOGMAGIC_ROUTES"] = "__root__=DEBUG:graylog2-stderr"
    return launch(name, argv, port, workdir, env, err, stderr_is_log=True)


def start_uvicorn(name: str, workdir: Path) -> Server:
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "stdlib_asgi_app:app",
        "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off", "--log-level", "info",
    ]  # fmt: skip
    return start(name, argv, port, workdir)


def stderr_lines(path: Path) -> tuple[list[Record], list[str]]:
    """The GELF records on stderr, and every other (complete) line."""
    records: list[Record] = []
    other: list[str] = []
    for line in path.read_bytes().split(b"\n")[:-1]:
        try:
            obj = json.loads(line)
        except ValueError:
            other.append(line.decode("utf-8", "replace"))
            continue
        if isinstance(obj, dict) and obj.get("version") == "1.1":
            records.append(obj)
        else:
            other.append(line.decode("utf-8", "replace"))
    return records, other


def wait_for(server: Server, pred: Callable[[Record], bool], count: int = 1) -> list[Record]:
    """The stderr records matching ``pred``, once there are ``count``; fail showing stderr if never."""
    deadline = time.monotonic() + RECORD_TIMEOUT
    while True:
        found = [r for r in stderr_lines(server.log)[0] if pred(r)]
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) >= count, f"{server.name}: {found}\nstderr:\n{server.log.read_text(errors='replace')[-6000:]}"
    return found


def one(server: Server, facility: str, message: str) -> Record:
    found = wait_for(server, lambda r: r["_facility"] == facility and r["short_message"] == message)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stdlib-servers")


# -- uvicorn ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uvicorn_server(workdir: Path) -> Iterator[Server]:
    server = start_uvicorn("uvicorn", workdir)
    yield server
    server.stop()


def test_uvicorn_startup_and_shutdown_records_are_gelf_on_stderr(workdir: Path) -> None:
    server = start_uvicorn("uvicorn-lifecycle", workdir)
    pid = server.proc.pid
    try:
        started = one(server, "uvicorn.error", f"Started server process [{pid}]")
        running = one(
            server, "uvicorn.error", f"Uvicorn running on http://127.0.0.1:{server.port} (Press CTRL+C to quit)"
        )
    finally:
        server.stop()
    assert started["level"] == running["level"] == INFO
    assert "_color_message" not in started  # uvicorn's copy of the message with terminal colors
    assert started["host"] == HOST
    finished = one(server, "uvicorn.error", f"Finished server process [{pid}]")
    assert finished["level"] == INFO
    assert finished["timestamp"] >= started["timestamp"]


def test_uvicorn_access_record_inside_the_middleware_carries_the_txn_id(uvicorn_server: Server) -> None:
    resp = httpx.get(f"{uvicorn_server.url}/hello", timeout=30)
    assert resp.status_code == 200
    txn_id = resp.headers["X-Response-Id"]
    assert resp.text == txn_id

    access = wait_for(uvicorn_server, lambda r: r["_facility"] == "uvicorn.access" and r.get("_txnId") == txn_id)
    assert len(access) == 1
    assert access[0]["level"] == INFO
    assert re.fullmatch(r'127\.0\.0\.1:\d+ - "GET /hello HTTP/1\.1" 200', access[0]["short_message"])

    app_records = wait_for(uvicorn_server, lambda r: r["_facility"] == "e2e.stdlib" and r.get("_txnId") == txn_id)
    assert [(r["short_message"], r["_step"], r["level"]) for r in app_records] == [("handled /hello", 2, INFO)]


def test_uvicorn_exception_is_an_err_record_with_the_traceback(uvicorn_server: Server) -> None:
    resp = httpx.get(f"{uvicorn_server.url}/unwrapped-boom", timeout=30)
    assert resp.status_code == 500
    errors = wait_for(
        uvicorn_server,
        lambda r: r["_facility"] == "uvicorn.error" and r["short_message"].rstrip() == "Exception in ASGI application",
    )
    assert len(errors) == 1, errors
    error = errors[0]
    assert error["level"] == ERR
    assert error["full_message"].startswith("Traceback (most recent call last):")
    assert "RuntimeError: kaboom outside the middleware" in error["full_message"]
    access = wait_for(
        uvicorn_server, lambda r: r["_facility"] == "uvicorn.access" and "/unwrapped-boom" in r["short_message"]
    )
    assert access[0]["short_message"].endswith('"GET /unwrapped-boom HTTP/1.1" 500')


def test_uvicorn_no_longer_prints_its_own_format(uvicorn_server: Server) -> None:
    resp = httpx.get(f"{uvicorn_server.url}/hello", timeout=30)
    txn_id = resp.headers["X-Response-Id"]
    wait_for(uvicorn_server, lambda r: r["_facility"] == "uvicorn.access" and r.get("_txnId") == txn_id)
    records, other = stderr_lines(uvicorn_server.log)
    assert any(r["_facility"] == "uvicorn.error" for r in records)
    assert not [line for line in other if "Uvicorn running" in line or line.startswith("INFO:")], other
    assert "GET /hello" not in uvicorn_server.output.read_text(errors="replace")


# -- gunicorn --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn_server(workdir: Path) -> Iterator[Server]:
    """gunicorn with ``--preload``: the app, and so ``capture()``, is loaded in the master."""
    port = free_port()
    argv = [
        sys.executable, "-m", "gunicorn", "stdlib_wsgi_app:app",
        "-w", "1", "-b", f"127.0.0.1:{port}", "--preload", "--graceful-timeout", "5",
        "--log-level", "info", "--access-logfile", "-", "--access-logformat", ACCESS_FORMAT,
    ]  # fmt: skip
    server = start("gunicorn", argv, port, workdir)
    yield server
    server.stop()


def test_gunicorn_master_and_worker_records_are_gelf_on_stderr(gunicorn_server: Server) -> None:
    pid = gunicorn_server.proc.pid
    starting = one(gunicorn_server, "gunicorn.error", f"Starting gunicorn {gunicorn.__version__}")
    listening = one(gunicorn_server, "gunicorn.error", f"Listening at: http://127.0.0.1:{gunicorn_server.port} ({pid})")
    booting = wait_for(gunicorn_server, lambda r: r["short_message"].startswith("Booting worker with pid: "))
    assert starting["level"] == listening["level"] == booting[0]["level"] == INFO
    assert booting[0]["_facility"] == "gunicorn.error"
    assert int(booting[0]["short_message"].rsplit(" ", 1)[1]) != pid


def test_gunicorn_access_record_and_the_response_id_in_its_format(gunicorn_server: Server) -> None:
    resp = httpx.get(f"{gunicorn_server.url}/hello", timeout=30)
    assert resp.status_code == 200
    txn_id = resp.headers["X-Response-Id"]
    assert resp.text == txn_id

    access = one(gunicorn_server, "gunicorn.access", f'127.0.0.1 "GET /hello HTTP/1.1" 200 {txn_id}')
    assert access["level"] == INFO
    assert access["_txnId"] == txn_id  # written after the request's transaction ended
    app_records = wait_for(gunicorn_server, lambda r: r["_facility"] == "e2e.stdlib" and r.get("_txnId") == txn_id)
    assert [(r["short_message"], r["_step"]) for r in app_records] == [("handled /hello", 2)]


def test_gunicorn_exception_is_an_err_record_with_the_traceback(gunicorn_server: Server) -> None:
    resp = httpx.get(f"{gunicorn_server.url}/unwrapped-boom", timeout=30)
    assert resp.status_code == 500
    errors = wait_for(
        gunicorn_server,
        lambda r: re.fullmatch(r"Error handling request (GET )?/unwrapped-boom", r["short_message"]) is not None,
    )
    assert len(errors) == 1, errors
    error = errors[0]
    assert error["_facility"] == "gunicorn.error"
    assert error["level"] == ERR
    assert "RuntimeError: kaboom outside the middleware" in error["full_message"]


def test_gunicorn_no_longer_prints_its_own_format(gunicorn_server: Server) -> None:
    resp = httpx.get(f"{gunicorn_server.url}/hello", timeout=30)
    txn_id = resp.headers["X-Response-Id"]
    one(gunicorn_server, "gunicorn.access", f'127.0.0.1 "GET /hello HTTP/1.1" 200 {txn_id}')
    _, other = stderr_lines(gunicorn_server.log)
    assert not [line for line in other if "[INFO]" in line or "Listening at" in line], other
    assert txn_id not in gunicorn_server.output.read_text(errors="replace")
