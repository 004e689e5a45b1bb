"""A short tour of logmagic, run by ``make demo``; it ends by itself.

Part 1, in this process: a request rewriter, the same records as console and GELF lines, a
route changed at runtime. Part 2, the story logmagic exists for: two real services (A: ASGI
under uvicorn, B: WSGI under gunicorn), a request that fails in B, the ``X-Response-Id`` the
user would report, and every record of that request, from both services' logs, found by it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import logmagic
from logmagic.encode import ConsoleEncoder
from logmagic.record import Record


@dataclass
class Account:
    key: str


@dataclass
class Request:
    """An application's own request type: rich, and full of things not to log.

    logmagic's built-in request rewriter does not know it (it knows WSGI environs, ASGI scopes,
    the big frameworks' requests and objects with a ``txnId`` attribute), so the rewriter below
    turns it into fields.
    """

    txn_id: str
    path: str
    account: Account | None = None
    headers: dict[str, str] = field(default_factory=dict)


def request_rewriter(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The original Log Magic rewriter: a request becomes accountId and txnId, nothing more."""
    request = fields.pop("request", None)
    if isinstance(request, Request):
        fields["accountId"] = request.account.key if request.account else None  # None: unauthenticated
        fields["txnId"] = request.txn_id
        fields["path"] = request.path
    return fields


def section(title: str) -> None:
    print(f"\n== {title}", file=sys.stderr, flush=True)


def in_process_tour() -> None:
    logmagic.configure(host="product-api0", version="062c3d0", env=False)
    logmagic.add_rewriter(request_rewriter)
    log = logmagic.local("myapp.api.handler")
    db = logmagic.local("myapp.db.pool")

    req = Request(
        txn_id=".rh-3dT5.h-product-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0",
        path="/v1/charges",
        account=Account("ac42"),
        headers={"Authorization": "Bearer not-in-the-logs"},
    )
    anonymous = Request(txn_id=".rh-3dT5.h-product-api0.r-Zq81xBnA.c-1.ts-1324936589001.v-062c3d0", path="/v1/ping")

    def handle() -> None:
        log.dbg("Something is wrong", {"request": req})
        log.info("user signed in", {"request": req}, method="password")
        log.warnf("slow query for ${accountId}: ${ms} ms", {"request": req}, ms=812.5)
        log.info("health check", {"request": anonymous})
        db.debug("pool stats", idle=3, busy=7)
        try:
            {"card": "visa"}["amount"]
        except KeyError:
            log.exception("charge failed", {"request": req})

    section("console: INFO and above, for a human at a terminal")
    logmagic.route("__root__", logmagic.INFO, "console")
    handle()

    section("graylog2-stderr: the same calls as GELF lines, as svlogd would store them")
    logmagic.route("__root__", logmagic.INFO, "graylog2-stderr")
    handle()

    section("route change at runtime: myapp.db.* at DEBUG to the console, the rest unchanged")
    logmagic.route("myapp.db.*", logmagic.DEBUG, "console")
    handle()

    logmagic.reset()


HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"a demo service exited early (code {proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"a demo service did not start on port {port}")


def service_env(host: str, log_file: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGMAGIC_")}
    env.update(
        SERVICE_HOST=host,
        LOGMAGIC_VERSION="062c3d0",
        LOGMAGIC_SINKS=f"disk=file://{log_file}",
        LOGMAGIC_ROUTES="__root__=DEBUG:disk",
        PYTHONPATH=f"{HERE / 'story'}{os.pathsep}{env.get('PYTHONPATH', '')}",
        **extra,
    )
    return env


def story() -> None:
    section("two services: A (ASGI, uvicorn) calls B (WSGI, gunicorn); a user's charge fails")
    with tempfile.TemporaryDirectory() as tmp:
        logs = {"api0.example": Path(tmp) / "a.log", "auth0.example": Path(tmp) / "b.log"}
        port_a, port_b = free_port(), free_port()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        b = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port_b}", "service_b:app"],
            env=service_env("auth0.example", logs["auth0.example"]),
            **quiet,
        )
        a = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--port", str(port_a), "--log-level", "warning", "service_a:app"],
            env=service_env("api0.example", logs["api0.example"], BACKEND_URL=f"http://127.0.0.1:{port_b}"),
            **quiet,
        )
        try:
            wait_for(port_b, b)
            wait_for(port_a, a)
            resp = httpx.post(
                f"http://127.0.0.1:{port_a}/charge", json={"amount": 12, "card": "4000000000000002"}, timeout=10
            )
            txn_id = resp.headers["X-Response-Id"]
            print(f"user sees: HTTP {resp.status_code}  {resp.text.strip()!r}", file=sys.stderr)
            print(f"user reports X-Response-Id: {txn_id}", file=sys.stderr)
        finally:
            for proc in (a, b):
                proc.terminate()
            for proc in (a, b):
                proc.wait(timeout=10)

        section("every record of that request, from both services' logs, found by its id")
        encoder = ConsoleEncoder(color=sys.stderr.isatty() and not os.environ.get("NO_COLOR"))
        found = []
        for host, path in logs.items():
            for line in path.read_text().splitlines():
                rec = json.loads(line)
                if rec.get("_txnId") == txn_id:
                    found.append((rec["timestamp"], host, rec))
        for _, host, rec in sorted(found, key=lambda item: item[0]):
            fields = {k[1:]: v for k, v in rec.items() if k.startswith("_") and k not in ("_facility", "_txnId")}
            full = rec.get("full_message")
            if full:  # the last lines say what went wrong; the whole traceback is in the log
                lines = [line for line in full.rstrip().splitlines() if line.strip(" ~^")]
                full = "…\n" + "\n".join(lines[-2:])
            record = Record(
                f"{host} {rec['_facility']}", rec["level"], rec["short_message"], fields, rec["timestamp"], full
            )
            sys.stderr.buffer.write(encoder.encode(record))
        sys.stderr.flush()

        section(f"and even with no log at hand, the id says where and when to look: logmagic txn {txn_id}")
        subprocess.run([sys.executable, "-m", "logmagic.tools.cli", "txn", txn_id], stdout=sys.stderr, check=True)


def main() -> None:
    in_process_tour()
    story()
    logmagic.shutdown(timeout=2.0)


if __name__ == "__main__":
    main()
