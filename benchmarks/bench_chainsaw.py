"""gelf-chainsaw against grep and jq on a large file of realistic GELF lines.

What is measured, in one run, on one generated file (default 1 GB; ``--size-mb``):

* ``gelf-chainsaw --txn ID -o json FILE`` against ``grep -F ID FILE``: finding the handful of
  lines of one transaction (a failed request, 5-20 lines across services) in a big log. grep
  is the tool people reach for; the goal is at least half of grep's throughput, since
  chainsaw also parses the matches, checks the field really is the txnId and sorts by time.
* ``gelf-chainsaw 'level<=3' -o json FILE`` and its ``--count`` form against
  ``jq -c 'select(.level<=3)' FILE``: a numeric filter that needs JSON semantics, which grep
  cannot do correctly. jq parses every line; chainsaw parses only the lines its byte
  prefilter lets through. The goal is at least 5x jq's speed.
* Peak RSS of gelf-chainsaw on the full file and on a quarter-size file of the same kind:
  a streaming tool's memory must not grow with the file.

Every number is the median wall time of 3 runs (``--repeats``) after one warm-up run, so the
file is in the page cache and the comparison is about CPU, not the disk. The warm-up run's
output goes through a pipe and is counted: chainsaw's, grep's and jq's counts must agree with
each other and with what the generator wrote, or the benchmark fails (a fast wrong answer is
worthless). For ``--txn`` the lines themselves are compared with grep's. Timed runs send their
output to /dev/null, except grep's: GNU grep stops at the first match when its output is
/dev/null (as with ``-q``), so its output goes to a pipe this script drains. CPU times come
from ``os.wait4``. Peak RSS comes from GNU ``/usr/bin/time -f %M`` around each command, not from
``os.wait4`` here: on Linux a child's maxrss starts at its parent's RSS at fork, and this script
holds the generated block, so every command would seem to use as much. Without GNU time a small
fork-and-wait helper is used instead (its own ~10 MB are then a floor). MB means 10**6 bytes.

The lines are what logmagic writes: GELF 1.1 with ``_facility``, ``_txnId``
(``.rh-….h-host.r-….c-N.ts-MS.v-VER``), access records (``_method``, ``_path``, ``_status``,
``_duration_ms``, ``_bytes``, ``_remote_addr``, ``_user_agent``, ``_accountId``), app records at
DEBUG/INFO, warnings for 4xx and slow queries, trace records (``_exact_level``), records outside
any transaction, and failed requests with a traceback of several KB in ``full_message``: about
3% of the lines are at level 3 or below. ``--svlogd`` adds svlogd ``-tt`` time prefixes (jq then
reads the file through ``cut``, as a user would have to).

Generation builds one block of lines (up to 32 MB) with placeholders for the time's high digits
and the per-process id tag, then writes it again and again with those replaced (same length,
so offsets and counts are known exactly): a 1 GB file takes seconds. Files are kept in
``--workdir`` (default: a directory under the system temp dir) with a marker file, and reused
when size, seed and options match.

    python benchmarks/bench_chainsaw.py                  # 1 GB (and a 250 MB file for memory)
    python benchmarks/bench_chainsaw.py --size-mb 200 --json results.json
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

MB = 1_000_000
#: Bump when the generated content changes: files made by another version are regenerated.
GENERATOR = 1
#: Placeholders replaced per block; each is exactly as long as its replacement.
PH_TS = b"#TSHI##"  # the 7 high digits of the unix time (the block's 1000-second window)
PH_RH = b"#RH#"  # the per-process tag of the txnIds
#: 2026-11-22T00:00:00Z / 1000: the first block's time window.
TS_HI_BASE = 1_795_306
#: Records of a block lie in [0, WINDOW) seconds of its window; transactions start before TXN_START_MAX.
WINDOW = 1000.0
TXN_START_MAX = 985.0
BLOCK_MAX = 32 * MB
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHAINSAW_GOAL_VS_GREP = 0.5
CHAINSAW_GOAL_VS_JQ = 5.0

# --------------------------------------------------------------------------------------------
# The data: a small fleet behind an edge API


EDGE_HOSTS = ["api0", "api1", "api2"]
SERVICES: dict[str, dict[str, Any]] = {
    "api": {"hosts": EDGE_HOSTS, "version": "062c3d0", "port": 8000},
    "product": {"hosts": ["product-api0", "product-api1"], "version": "24e946e", "port": 8081},
    "billing": {"hosts": ["billing0", "billing1"], "version": "9f1c2ab", "port": 8082},
    "auth": {"hosts": ["ord1.auth.svc0"], "version": "3.14.2", "port": 8083},
    "search": {"hosts": ["search-7d9f4b-x2k8q", "search-7d9f4b-p4m1z"], "version": "a71e03d", "port": 8084},
}
#: method, path template, downstream services called, typical response bytes.
ENDPOINTS: list[tuple[str, str, list[str], int]] = [
    ("GET", "/v1/items/{item}", ["product"], 1800),
    ("GET", "/v1/items/{item}/reviews?page={page}", ["product"], 9200),
    ("GET", "/v1/search?q={query}&limit=20", ["search", "product"], 14500),
    ("POST", "/v1/cart/{acct}/items", ["auth", "product"], 420),
    ("POST", "/v1/checkout", ["auth", "billing", "product"], 610),
    ("GET", "/v1/accounts/{acct}/orders?since=2026-10-01", ["auth", "billing"], 5300),
    ("POST", "/v1/login", ["auth"], 350),
    ("GET", "/healthz", [], 2),
]
QUERIES = ["running+shoes", "usb-c+cable", "espresso", "winter+jacket", "lego", "standing+desk", "headphones"]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "kube-probe/1.30",
]
INTERNAL_UA = "python-httpx/0.27.2"
APP_FACILITY = {
    "api": "shop.api.handlers",
    "product": "product.catalog",
    "billing": "billing.charge",
    "auth": "auth.session",
    "search": "search.query",
}
FRAMES = [
    (
        "/usr/local/lib/python3.12/site-packages/uvicorn/protocols/http/httptools_impl.py",
        409,
        "run_asgi",
        "result = await app(  # type: ignore[func-returns-value]",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/uvicorn/middleware/proxy_headers.py",
        60,
        "__call__",
        "return await self.app(scope, receive, send)",
    ),
    (
        "/srv/app/.venv/lib/python3.12/site-packages/logmagic/web/asgi.py",
        58,
        "__call__",
        "await self.app(scope, receive, ex.send_to(send))",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/fastapi/applications.py",
        1054,
        "__call__",
        "await super().__call__(scope, receive, send)",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/starlette/applications.py",
        113,
        "__call__",
        "await self.middleware_stack(scope, receive, send)",
    ),
    ("/usr/local/lib/python3.12/site-packages/starlette/middleware/errors.py", 187, "__call__", "raise exc"),
    (
        "/usr/local/lib/python3.12/site-packages/starlette/middleware/exceptions.py",
        62,
        "__call__",
        "await wrap_app_handling_exceptions(self.app, conn)(scope, receive, send)",
    ),
    ("/usr/local/lib/python3.12/site-packages/starlette/_exception_handler.py", 53, "wrapped_app", "raise exc"),
    (
        "/usr/local/lib/python3.12/site-packages/starlette/routing.py",
        715,
        "__call__",
        "await self.middleware_stack(scope, receive, send)",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/starlette/routing.py",
        735,
        "app",
        "await route.handle(scope, receive, send)",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/starlette/routing.py",
        288,
        "handle",
        "await self.app(scope, receive, send)",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/fastapi/routing.py",
        301,
        "app",
        "raw_response = await run_endpoint_function(",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/fastapi/routing.py",
        212,
        "run_endpoint_function",
        "return await dependant.call(**values)",
    ),
    (
        "/srv/app/{svc}/handlers.py",
        142,
        "handle_request",
        "result = await service.execute(request, account_id=account_id)",
    ),
    ("/srv/app/{svc}/service.py", 87, "execute", "rows = await self.repo.fetch_for_account(account_id, limit=limit)"),
    ("/srv/app/{svc}/repository.py", 231, "fetch_for_account", "result = await session.execute(stmt)"),
    (
        "/usr/local/lib/python3.12/site-packages/sqlalchemy/ext/asyncio/session.py",
        461,
        "execute",
        "result = await greenlet_spawn(",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/sqlalchemy/util/_concurrency_py3k.py",
        201,
        "greenlet_spawn",
        "result = context.throw(*sys.exc_info())",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/sqlalchemy/orm/session.py",
        2362,
        "execute",
        "return self._execute_internal(",
    ),
    ("/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/base.py", 1418, "execute", "return meth("),
    (
        "/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/base.py",
        1967,
        "_exec_single_context",
        "self._handle_dbapi_exception(",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/default.py",
        941,
        "do_execute",
        "cursor.execute(statement, parameters)",
    ),
    (
        "/usr/local/lib/python3.12/site-packages/asyncpg/connection.py",
        1864,
        "_do_execute",
        "result = await executor(stmt, None)",
    ),
]
EXCEPTIONS = [
    "sqlalchemy.exc.OperationalError: (asyncpg.exceptions.ConnectionDoesNotExistError) connection was closed "
    "in the middle of operation\n[SQL: SELECT orders.id, orders.account_id, orders.total_cents, orders.status "
    "FROM orders WHERE orders.account_id = $1::VARCHAR ORDER BY orders.created_at DESC LIMIT $2::INTEGER]\n"
    "[parameters: ('{acct}', 50)]\n(Background on this error at: https://sqlalche.me/e/20/e3q8)",
    "httpx.ReadTimeout: timed out while reading the response of POST http://{svc}:8082/v1/charge",
    "KeyError: 'currency'",
    "asyncio.exceptions.CancelledError: request cancelled after 30.0s",
    "ValueError: invalid literal for int() with base 10: 'undefined'",
]


def _b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, d = divmod(n, 62)
        out.append(_ALPHABET[d])
    return "".join(reversed(out))


@dataclass
class Block:
    """One block of lines with placeholders; every block of the file is this one, stamped."""

    lines: list[bytes]
    offsets: list[float]  # seconds into the block's window, for svlogd prefixes
    severe: list[int]  # 1 where level <= 3
    txn_ids: dict[int, tuple[str, int]] = field(default_factory=dict)  # failed txn -> (id template, lines)


class _Builder:
    """Makes the records of one block: transactions interleaved in time, and background records."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.records: list[tuple[float, int, int, bytes]] = []  # (offset, seq, level, line)
        self.seq = 0
        self.counters = {h: rnd.randrange(10_000) for s in SERVICES.values() for h in s["hosts"]}
        self.accounts = [_b62(rnd.getrandbits(40), 7) for _ in range(5000)]
        self.remote = [
            f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            for _ in range(3000)
        ]
        self.tracebacks = [self._traceback(i) for i in range(40)]
        self.failed: dict[str, list[int]] = {}  # txn id template -> indices of its records
        self.size = 0

    # -- one line ------------------------------------------------------------------------

    def add(
        self,
        host: str,
        msg: str,
        off: float,
        level: int,
        facility: str,
        fields: dict[str, Any],
        full: str | None = None,
        exact: int | None = None,
    ) -> int:
        """Append one GELF line as logmagic's encoder lays it out; returns its index."""
        sec = int(off)
        ms = int((off - sec) * 1000)
        frac = (b"%03d" % ms).rstrip(b"0") or b"0"
        head = orjson.dumps({"version": "1.1", "host": host, "short_message": msg})[:-1]
        tail: dict[str, Any] = {"level": level, "_facility": facility}
        if full is not None:
            tail["full_message"] = full
        if exact is not None:
            tail["_exact_level"] = exact
        tail.update(fields)
        line = b'%s,"timestamp":%s%03d.%s,%s\n' % (head, PH_TS, sec, frac, orjson.dumps(tail)[1:])
        self.records.append((off, self.seq, level, line))
        self.seq += 1
        self.size += len(line)
        return len(self.records) - 1

    def _traceback(self, i: int) -> str:
        rnd = self.rnd
        svc = rnd.choice(list(SERVICES))
        depth = rnd.randrange(12, len(FRAMES) + 1)
        frames = FRAMES[:depth]
        parts = ["Traceback (most recent call last):\n"]
        for path, line, fn, code in frames:
            parts.append(f'  File "{path.format(svc=svc)}", line {line}, in {fn}\n    {code}\n')
        exc = rnd.choice(EXCEPTIONS).format(
            acct=rnd.choice(self.accounts), svc=rnd.choice(SERVICES["billing"]["hosts"])
        )
        if rnd.random() < 0.5:  # a chained exception doubles the size, as it often does
            parts.append("\nThe above exception was the direct cause of the following exception:\n\n")
            parts.append("Traceback (most recent call last):\n")
            for path, line, fn, code in frames[: depth // 2]:
                parts.append(f'  File "{path.format(svc=svc)}", line {line + 7}, in {fn}\n    {code}\n')
        parts.append(exc + "\n")
        return "".join(parts)

    # -- records of a request ------------------------------------------------------------

    def _access(
        self,
        host: str,
        facility: str,
        off: float,
        method: str,
        path: str,
        status: int,
        dur: float,
        nbytes: int,
        txn: str,
        acct: str | None,
        remote: str,
        ua: str,
    ) -> int:
        level = 3 if status >= 500 else 4 if status >= 400 else 6
        fields = {
            "_status": status,
            "_duration_ms": round(dur, 3),
            "_bytes": nbytes,
            "_txnId": txn,
            "_accountId": acct,
            "_method": method,
            "_path": path,
            "_remote_addr": remote,
            "_user_agent": ua,
        }
        return self.add(host, f"{method} {path} {status}", off, level, facility, fields)

    def _app_records(self, svc: str, host: str, t: float, txn: str, acct: str | None, n: int) -> float:
        rnd = self.rnd
        fac = APP_FACILITY[svc]
        for _ in range(n):
            t += rnd.uniform(0.0005, 0.02)
            r = rnd.random()
            if r < 0.30:
                self.add(
                    host,
                    "SELECT by primary key",
                    t,
                    7,
                    f"{fac}.db",
                    {
                        "_sql_ms": round(rnd.uniform(0.2, 9), 3),
                        "_rows": rnd.randrange(0, 60),
                        "_table": rnd.choice(["items", "orders", "accounts", "prices"]),
                        "_txnId": txn,
                    },
                )
            elif r < 0.45:
                self.add(
                    host,
                    "acquired connection",
                    t,
                    7,
                    f"{fac}.db.pool",
                    {
                        "_pool_size": 20,
                        "_in_use": rnd.randrange(1, 20),
                        "_wait_ms": round(rnd.uniform(0, 3), 3),
                        "_txnId": txn,
                    },
                )
            elif r < 0.60:
                key = f"item:{rnd.randrange(1, 200000)}"
                self.add(
                    host,
                    rnd.choice(["cache hit", "cache miss"]),
                    t,
                    7,
                    f"{fac}.cache",
                    {"_key": key, "_ttl": 300, "_txnId": txn},
                )
            elif r < 0.66:
                self.add(
                    host,
                    "row decoded",
                    t,
                    7,
                    f"{fac}.db",
                    {"_columns": rnd.randrange(3, 30), "_txnId": txn},
                    exact=rnd.choice([8, 9]),
                )
            elif r < 0.70:
                self.add(
                    host,
                    "slow query",
                    t,
                    4,
                    f"{fac}.db",
                    {
                        "_sql_ms": round(rnd.uniform(500, 4000), 3),
                        "_rows": rnd.randrange(100, 50000),
                        "_statement": "SELECT o.id, o.total_cents, i.sku FROM orders o JOIN order_items i "
                        "ON i.order_id = o.id WHERE o.account_id = $1 ORDER BY o.created_at DESC",
                        "_txnId": txn,
                    },
                )
            elif r < 0.74:
                self.add(host, "session refreshed", t, 5, fac, {"_accountId": acct, "_expires_in": 3600, "_txnId": txn})
            else:
                self.add(
                    host,
                    rnd.choice(["item read", "price computed", "request validated", "result built"]),
                    t,
                    6,
                    fac,
                    {"_accountId": acct, "_item": rnd.randrange(1, 200000), "_txnId": txn},
                )
        return t

    def transaction(self, start: float, fail: bool) -> None:
        rnd = self.rnd
        method, tmpl, downstream, typical = rnd.choice(ENDPOINTS)
        acct = rnd.choice(self.accounts) if rnd.random() < 0.8 else None
        path = tmpl.format(
            item=rnd.randrange(1, 200000), page=rnd.randrange(1, 9), query=rnd.choice(QUERIES), acct=acct or "anonymous"
        )
        edge = rnd.choice(EDGE_HOSTS)
        counter = self.counters[edge]
        self.counters[edge] += 1
        ms = int(start * 1000)
        txn = (
            f".rh-{PH_RH.decode()}.h-{edge}.r-{_b62(rnd.getrandbits(48), 8)}.c-{counter}"
            f".ts-{PH_TS.decode()}{ms:06d}.v-{SERVICES['api']['version']}"
        )
        first = len(self.records)
        remote = rnd.choice(self.remote)
        ua = rnd.choice(USER_AGENTS)
        fail = fail and bool(downstream)
        t = self._app_records("api", edge, start, txn, acct, rnd.randrange(1, 4))
        failing = rnd.choice(downstream) if fail else None
        for svc in downstream:
            host = rnd.choice(SERVICES[svc]["hosts"])
            t0 = t
            t = self._app_records(svc, host, t, txn, acct, rnd.randrange(1, 4))
            sub_path = f"/internal/{svc}/v2/{rnd.choice(['lookup', 'batch', 'charge', 'verify'])}"
            if svc == failing:
                t += rnd.uniform(0.001, 0.05)
                self.add(
                    host,
                    "unhandled exception in the application",
                    t,
                    3,
                    "logmagic.access",
                    {
                        "_txnId": txn,
                        "_accountId": acct,
                        "_method": "POST",
                        "_path": sub_path,
                        "_remote_addr": f"10.0.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
                        "_user_agent": INTERNAL_UA,
                    },
                    full=rnd.choice(self.tracebacks),
                )
                self._access(
                    host,
                    "logmagic.access",
                    t,
                    "POST",
                    sub_path,
                    500,
                    (t - t0) * 1000,
                    91,
                    txn,
                    acct,
                    f"10.0.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
                    INTERNAL_UA,
                )
                t += 0.001
                self.add(
                    edge,
                    "upstream call failed",
                    t,
                    3,
                    f"{APP_FACILITY['api']}.upstream",
                    {
                        "_upstream": f"http://{host}:{SERVICES[svc]['port']}{sub_path}",
                        "_status": 500,
                        "_attempt": 1,
                        "_txnId": txn,
                    },
                )
                break
            status = 200 if rnd.random() < 0.97 else rnd.choice([404, 409, 429])
            t += rnd.uniform(0.0005, 0.01)
            self._access(
                host,
                "logmagic.access",
                t,
                "POST",
                sub_path,
                status,
                (t - t0) * 1000,
                rnd.randrange(80, 4000),
                txn,
                acct,
                f"10.0.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
                INTERNAL_UA,
            )
        if not fail:
            t = self._app_records("api", edge, t, txn, acct, rnd.randrange(0, 3))
        status = 502 if fail else (200 if rnd.random() < 0.93 else rnd.choice([400, 401, 404, 404, 422]))
        t += rnd.uniform(0.0002, 0.003)
        nbytes = 91 if fail else max(2, int(typical * rnd.uniform(0.6, 1.4)))
        self._access(
            edge,
            "logmagic.access",
            min(t, WINDOW - 0.001),
            method,
            path,
            status,
            (t - start) * 1000,
            nbytes,
            txn,
            acct,
            remote,
            ua,
        )
        if fail:
            self.failed[txn] = list(range(first, len(self.records)))

    def background(self, off: float) -> None:
        rnd = self.rnd
        svc = rnd.choice(list(SERVICES))
        host = rnd.choice(SERVICES[svc]["hosts"])
        r = rnd.random()
        if r < 0.01:
            self.add(
                host,
                "connection pool exhausted",
                off,
                2,
                f"{APP_FACILITY[svc]}.db.pool",
                {"_pool_size": 20, "_waiting": rnd.randrange(20, 200)},
            )
        elif r < 0.04:
            self.add(
                host,
                "job failed, will retry",
                off,
                3,
                f"{APP_FACILITY[svc]}.jobs",
                {"_job": "reindex", "_attempt": rnd.randrange(1, 5), "_error": "lock timeout"},
            )
        elif r < 0.5:
            self.add(
                host,
                "pool stats",
                off,
                7,
                f"{APP_FACILITY[svc]}.db.pool",
                {"_pool_size": 20, "_in_use": rnd.randrange(0, 20), "_idle": rnd.randrange(0, 20)},
            )
        else:
            self.add(
                host,
                "job finished",
                off,
                6,
                f"{APP_FACILITY[svc]}.jobs",
                {
                    "_job": rnd.choice(["reindex", "expire-sessions", "send-digest"]),
                    "_duration_ms": round(rnd.uniform(5, 900), 3),
                },
            )


def build_block(target: int, seed: int) -> Block:
    """About ``target`` bytes of interleaved records in one 1000-second window."""
    rnd = random.Random(seed)
    b = _Builder(rnd)
    while b.size < target:
        if rnd.random() < 0.3:
            b.background(rnd.uniform(0, WINDOW - 1))
        else:
            b.transaction(rnd.uniform(0, TXN_START_MAX), fail=rnd.random() < 0.08)
    order = sorted(range(len(b.records)), key=lambda i: b.records[i][:2])
    block = Block(
        lines=[b.records[i][3] for i in order],
        offsets=[b.records[i][0] for i in order],
        severe=[1 if b.records[i][2] <= 3 else 0 for i in order],
    )
    for k, (txn, idx) in enumerate(b.failed.items()):
        block.txn_ids[k] = (txn, len(idx))
    return block


def _stamp(block_bytes: bytes, n: int) -> bytes:
    """Block ``n`` of the file: its time window and process tag filled in."""
    return block_bytes.replace(PH_TS, b"%07d" % (TS_HI_BASE + n)).replace(PH_RH, _b62(n * 7919 + 918_273, 4).encode())


def _svlogd_prefixes(block: Block, n: int, rnd: random.Random) -> list[bytes]:
    """svlogd ``-tt`` prefixes (UTC, when svlogd read the line: just after the record's time)."""
    base = (TS_HI_BASE + n) * 1000
    seconds: dict[int, bytes] = {}
    out = []
    for off in block.offsets:
        t = base + off + rnd.random() * 0.002
        s = int(t)
        text = seconds.get(s)
        if text is None:
            text = datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%d_%H:%M:%S").encode()
            seconds[s] = text
        out.append(b"%s.%05d " % (text, min(99_999, int((t - s) * 100_000))))
    return out


@dataclass
class DataFile:
    """A generated file and what the generator knows about it."""

    path: str
    size: int
    lines: int
    severe: int  # lines with level <= 3
    txn_id: str  # a failed transaction in the middle of the file
    txn_lines: int
    svlogd: bool
    seed: int
    generator: int = GENERATOR
    seconds: float = 0.0


def generate(workdir: Path, size_mb: int, seed: int, svlogd: bool) -> DataFile:
    """The data file for these parameters: reused when its marker matches, else written now."""
    name = f"gelf-{size_mb}mb-seed{seed}{'-svlogd' if svlogd else ''}.jsonl"
    path = workdir / name
    marker = workdir / (name + ".done.json")
    if path.exists() and marker.exists():
        try:
            known = DataFile(**json.loads(marker.read_text()))
        except (TypeError, ValueError):
            known = None
        if (
            known is not None
            and known.generator == GENERATOR
            and known.size == path.stat().st_size
            and (known.seed, known.svlogd) == (seed, svlogd)
        ):
            print(f"reusing {path} ({known.size / MB:,.0f} MB, {known.lines:,} lines)")
            known.path = str(path)
            return known

    marker.unlink(missing_ok=True)
    target = size_mb * MB
    started = time.perf_counter()
    block = build_block(max(256_000, min(BLOCK_MAX, target // 8)), seed)
    prefix_len = 26 if svlogd else 0  # "2026-11-22_06:28:03.46035 "
    lengths = [len(line) + prefix_len for line in block.lines]
    block_size = sum(lengths)
    full_blocks, rest = divmod(target, block_size)
    if full_blocks < 1:
        raise SystemExit(f"--size-mb {size_mb} is too small")
    cum, total = [], 0
    for n in lengths:
        total += n
        cum.append(total)
    tail_lines = bisect.bisect_right(cum, rest)

    # The transaction to look for: a failed request (what a user reports) of 8-20 lines, in the middle.
    choices = sorted(k for k, (_, n) in block.txn_ids.items() if 8 <= n <= 20) or sorted(block.txn_ids)
    rnd = random.Random(seed + 1)
    template, txn_lines = block.txn_ids[rnd.choice(choices)]
    txn_block = full_blocks // 2
    txn_id = _stamp(template.encode(), txn_block).decode()

    joined = b"".join(block.lines)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb", buffering=0) as f:
        for n in range(full_blocks + (1 if tail_lines else 0)):
            if svlogd:
                data = b"".join(p + line for p, line in zip(_svlogd_prefixes(block, n, rnd), block.lines, strict=True))
                data = _stamp(data, n)
            else:
                data = _stamp(joined, n)
            if n == full_blocks:
                data = data[: cum[tail_lines - 1]]
            elif n == txn_block and data.count(txn_id.encode()) != txn_lines:
                raise AssertionError("the chosen txnId is not where the generator put it")
            f.write(data)
    os.replace(tmp, path)
    info = DataFile(
        path=str(path),
        size=path.stat().st_size,
        lines=len(block.lines) * full_blocks + tail_lines,
        severe=sum(block.severe) * full_blocks + sum(block.severe[:tail_lines]),
        txn_id=txn_id,
        txn_lines=txn_lines,
        svlogd=svlogd,
        seed=seed,
        seconds=round(time.perf_counter() - started, 2),
    )
    marker.write_text(json.dumps(asdict(info), indent=2))
    print(
        f"generated {path}: {info.size / MB:,.0f} MB, {info.lines:,} lines, "
        f"{100 * info.severe / info.lines:.1f}% at level<=3, in {info.seconds:.1f}s"
    )
    return info


# --------------------------------------------------------------------------------------------
# Running commands


@dataclass
class Run:
    seconds: float
    cpu: float  # user + system seconds of the child and its waited-for children
    maxrss_mb: float
    returncode: int


#: Runs argv[2:] in a child and writes its peak RSS (KB) to argv[1]: GNU time's ``-f %M`` in Python.
_RSS_HELPER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _rss_wrapper(rss_path: Path) -> list[str]:
    """A command prefix that writes the peak RSS (KB) of the command it runs to ``rss_path``."""
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        return [str(gnu_time), "-f", "%M", "-o", str(rss_path)]
    return [sys.executable, "-c", _RSS_HELPER, str(rss_path)]


def run_once(cmd: list[str], sink: str, workdir: Path) -> tuple[Run, bytes | None, int]:
    """Run ``cmd``; ``sink`` is "devnull", "drain" (pipe, read and counted) or "keep" (also kept).

    Returns the run, the output when kept, and the number of output lines when read. The
    command's stderr is left in ``workdir/last-stderr.txt``.
    """
    stdout = subprocess.DEVNULL if sink == "devnull" else subprocess.PIPE
    rss_path = workdir / "last-rss.txt"
    rss_path.unlink(missing_ok=True)
    kept: list[bytes] = []
    lines = 0
    with open(workdir / "last-stderr.txt", "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([*_rss_wrapper(rss_path), *cmd], stdout=stdout, stderr=err)
        if proc.stdout is not None:
            while True:
                data = proc.stdout.read1(1 << 20)
                if not data:
                    break
                lines += data.count(b"\n")
                if sink == "keep":
                    kept.append(data)
            proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    try:  # GNU time puts "Command exited with non-zero status N" first
        maxrss_mb = int(rss_path.read_text().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        maxrss_mb = float("nan")
    run = Run(seconds, usage.ru_utime + usage.ru_stime, maxrss_mb, proc.returncode)
    return run, (b"".join(kept) if sink == "keep" else None), lines


@dataclass
class Result:
    key: str
    label: str
    command: str
    runs: list[Run]
    matches: int
    expected: int
    size: int
    seconds: float = 0.0
    mb_s: float = 0.0
    cpu: float = 0.0
    maxrss_mb: float = 0.0
    ratio: float | None = None
    goal: str = ""
    goal_met: bool | None = None


class Bench:
    def __init__(self, repeats: int, workdir: Path) -> None:
        self.repeats = repeats
        self.workdir = workdir
        self.stderr = workdir / "last-stderr.txt"

    def measure(
        self,
        key: str,
        label: str,
        cmd: list[str],
        size: int,
        expected: int,
        timed_sink: str = "devnull",
        count_from_output: bool = False,
        keep: bool = False,
    ) -> tuple[Result, bytes | None]:
        """A warm-up run that counts the output, then ``repeats`` timed runs."""
        shown = " ".join(cmd) if cmd[0] != "sh" else cmd[2]
        print(f"  {label}: warm-up and check ...", end="", flush=True)
        run, output, lines = run_once(cmd, "keep" if keep or count_from_output else "drain", self.workdir)
        if run.returncode not in (0, 1):
            sys.stdout.write("\n" + self.stderr.read_text(errors="replace"))
            raise SystemExit(f"{shown} failed with exit status {run.returncode}")
        if count_from_output:
            assert output is not None
            matches = int(output.split()[0])
        else:
            matches = lines
        print(f" {matches:,} matches; timing", end="", flush=True)
        runs = []
        for _ in range(self.repeats):
            r, _, _ = run_once(cmd, timed_sink, self.workdir)
            if r.returncode not in (0, 1):
                raise SystemExit(f"{shown} failed with exit status {r.returncode}")
            runs.append(r)
            print(f" {r.seconds:.2f}s", end="", flush=True)
        print()
        res = Result(key, label, shown, runs, matches, expected, size)
        res.seconds = statistics.median(r.seconds for r in runs)
        res.cpu = statistics.median(r.cpu for r in runs)
        res.mb_s = size / MB / res.seconds
        res.maxrss_mb = max(r.maxrss_mb for r in runs)
        return res, output


def _chainsaw() -> str:
    exe = Path(sys.executable).with_name("gelf-chainsaw")
    found = str(exe) if exe.exists() else shutil.which("gelf-chainsaw")
    if not found:
        raise SystemExit("gelf-chainsaw not found: install logmagic (pip install -e .) in this Python's environment")
    return found


def chainsaw_cmds(chainsaw: str, f: DataFile) -> dict[str, list[str]]:
    """The gelf-chainsaw commands measured, on file ``f``, written as a user types them."""
    return {
        "chainsaw_txn": [chainsaw, "--txn", f.txn_id, "-o", "json", f.path],
        "chainsaw_level": [chainsaw, "level<=3", "-o", "json", f.path],
        "chainsaw_count": [chainsaw, "level<=3", "--count", f.path],
    }


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "missing"
    return out.splitlines()[0].strip() if out else "?"


def _body(line: bytes) -> bytes:
    """A line without an svlogd prefix (what ``-o json`` prints)."""
    return line[line.index(b"{") :] if not line.startswith(b"{") else line


def _workdir(args: argparse.Namespace) -> Path:
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.gettempdir()) / "logmagic-bench-chainsaw"
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    for tool in ("grep", "jq"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed for the comparison")
    chainsaw = _chainsaw()
    workdir = _workdir(args)
    free = shutil.disk_usage(workdir).free
    need = args.size_mb * MB * 1.3
    if free < need:
        print(f"warning: {free / 1e9:.1f} GB free in {workdir}, about {need / 1e9:.1f} GB needed")

    data = generate(workdir, args.size_mb, args.seed, args.svlogd)
    quarter = generate(workdir, args.size_mb // 4, args.seed, args.svlogd)
    path = data.path
    bench = Bench(args.repeats, workdir)
    jq_filter = "select(.level<=3)"
    jq_label = f"jq -c '{jq_filter}' FILE"
    if args.svlogd:  # jq cannot read the prefixed lines: strip the prefix first, as a user would
        jq_cmd = ["sh", "-c", f"cut -d' ' -f2- '{path}' | jq -c '{jq_filter}'"]
        jq_label = f"cut -d' ' -f2- FILE | jq -c '{jq_filter}'"
    else:
        jq_cmd = ["jq", "-c", jq_filter, path]

    print(f"\ntimings: {args.repeats} runs each after a warm-up, median reported")
    results: dict[str, Result] = {}
    problems: list[str] = []

    grep, grep_out = bench.measure(
        "grep_txn",
        "grep -F ID FILE",
        ["grep", "-F", data.txn_id, path],
        data.size,
        data.txn_lines,
        timed_sink="drain",
        keep=True,
    )
    cs_txn, cs_txn_out = bench.measure(
        "chainsaw_txn",
        "gelf-chainsaw --txn ID -o json FILE",
        chainsaw_cmds(chainsaw, data)["chainsaw_txn"],
        data.size,
        data.txn_lines,
        keep=True,
    )
    assert grep_out is not None and cs_txn_out is not None
    if sorted(_body(line) for line in grep_out.splitlines()) != sorted(cs_txn_out.splitlines()):
        problems.append("gelf-chainsaw --txn printed other lines than grep -F found")
    stamps = [orjson.loads(line)["timestamp"] for line in cs_txn_out.splitlines()]
    if stamps != sorted(stamps):
        problems.append("gelf-chainsaw --txn did not print the transaction in time order")
    jq, _ = bench.measure("jq_level", jq_label, jq_cmd, data.size, data.severe)
    cs_level, _ = bench.measure(
        "chainsaw_level",
        "gelf-chainsaw 'level<=3' -o json FILE",
        chainsaw_cmds(chainsaw, data)["chainsaw_level"],
        data.size,
        data.severe,
    )
    cs_count, _ = bench.measure(
        "chainsaw_count",
        "gelf-chainsaw 'level<=3' --count FILE",
        chainsaw_cmds(chainsaw, data)["chainsaw_count"],
        data.size,
        data.severe,
        count_from_output=True,
    )
    for r in (grep, cs_txn, jq, cs_level, cs_count):
        results[r.key] = r
        if r.matches != r.expected:
            problems.append(f"{r.label}: {r.matches} matches, the generator wrote {r.expected}")

    grep.ratio, jq.ratio = 1.0, 1.0
    cs_txn.ratio = cs_txn.mb_s / grep.mb_s
    cs_txn.goal = f">= {CHAINSAW_GOAL_VS_GREP:.2f}x grep"
    cs_txn.goal_met = cs_txn.ratio >= CHAINSAW_GOAL_VS_GREP
    for r in (cs_level, cs_count):
        r.ratio = r.mb_s / jq.mb_s
        r.goal = f">= {CHAINSAW_GOAL_VS_JQ:.0f}x jq"
        r.goal_met = r.ratio >= CHAINSAW_GOAL_VS_JQ

    # What every gelf-chainsaw run pays before reading a byte: interpreter and imports.
    empty = workdir / "empty.jsonl"
    empty.write_bytes(b"")
    startup = statistics.median(
        run_once([chainsaw, "level<=3", str(empty), "--count"], "devnull", workdir)[0].seconds
        for _ in range(max(3, args.repeats))
    )
    print(f"  gelf-chainsaw startup (empty file): {startup:.3f}s")

    # Memory: the same chainsaw commands on a quarter-size file, peak RSS only.
    print(f"\nmemory: the same commands on {quarter.path} ({quarter.size / MB:,.0f} MB)")
    memory = []
    small_cmds = chainsaw_cmds(chainsaw, quarter)
    for r in (cs_txn, cs_level, cs_count):
        cmd = small_cmds[r.key]
        small = max(run_once(cmd, "devnull", workdir)[0].maxrss_mb for _ in range(2))
        growth = r.maxrss_mb - small
        flat = growth <= max(4.0, 0.1 * small)
        memory.append(
            {
                "command": r.label,
                "quarter_mb": quarter.size / MB,
                "quarter_rss_mb": small,
                "full_mb": data.size / MB,
                "full_rss_mb": r.maxrss_mb,
                "growth_mb": growth,
                "flat": flat,
            }
        )
        if not flat:
            problems.append(f"{r.label}: peak RSS grows with the file ({small:.1f} -> {r.maxrss_mb:.1f} MB)")

    if args.clean:
        for d in (data, quarter):
            Path(d.path).unlink(missing_ok=True)
            Path(d.path + ".done.json").unlink(missing_ok=True)

    return {
        "file": asdict(data),
        "quarter_file": asdict(quarter),
        "repeats": args.repeats,
        "chainsaw_startup_s": startup,
        "environment": {
            "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "grep": _version(["grep", "--version"]),
            "jq": _version(["jq", "--version"]),
        },
        "results": [asdict(r) for r in results.values()],
        "memory": memory,
        "problems": problems,
    }


def report(out: dict[str, Any]) -> str:
    f = out["file"]
    env = out["environment"]
    lines = [
        f"File: {f['size'] / MB:,.0f} MB, {f['lines']:,} GELF lines"
        f"{' with svlogd -tt prefixes' if f['svlogd'] else ''}, {100 * f['severe'] / f['lines']:.1f}% at level<=3; "
        f"txnId `{f['txn_id']}` ({f['txn_lines']} lines). "
        f"Median of {out['repeats']} runs, warm page cache; {env['grep']}, {env['jq']}, Python {env['python']}, "
        f"{env['cpus']} CPUs.",
        "",
        "| command | seconds | MB/s | ratio | matches (expected) | CPU s | peak RSS MB | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in out["results"]:
        if r["goal_met"] is None:
            goal = "baseline"
        else:
            goal = f"{r['goal']}: {'met' if r['goal_met'] else 'NOT met'}"
        match = f"{r['matches']:,}" + ("" if r["matches"] == r["expected"] else f" ({r['expected']:,}!)")
        lines.append(
            f"| `{r['label']}` | {r['seconds']:.3f} | {r['mb_s']:,.0f} "
            f"| {r['ratio']:.2f}x | {match} | {r['cpu']:.2f} | {r['maxrss_mb']:.1f} | {goal} |"
        )
    lines += [
        "",
        "| gelf-chainsaw command | peak RSS, quarter file | peak RSS, full file | growth | flat |",
        "|---|---:|---:|---:|---|",
    ]
    for m in out["memory"]:
        lines.append(
            f"| `{m['command']}` | {m['quarter_rss_mb']:.1f} MB ({m['quarter_mb']:,.0f} MB file) "
            f"| {m['full_rss_mb']:.1f} MB ({m['full_mb']:,.0f} MB file) | {m['growth_mb']:+.1f} MB "
            f"| {'yes' if m['flat'] else 'NO'} |"
        )
    lines += [
        "",
        f"gelf-chainsaw's startup (empty file) is {out['chainsaw_startup_s']:.3f}s of each chainsaw time above.",
    ]
    if env["PYTHONDONTWRITEBYTECODE"]:
        lines[-1] += " PYTHONDONTWRITEBYTECODE is set: its modules are compiled at every start."
    lines.append("")
    if out["problems"]:
        lines += ["**Problems:**", *[f"* {p}" for p in out["problems"]]]
    else:
        lines.append("All counts agree (chainsaw, grep/jq and the generator).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1000, help="size of the file in MB (10**6 bytes; default 1000)")
    parser.add_argument("--workdir", help="where files are generated and reused (default: a dir in the temp dir)")
    parser.add_argument("--svlogd", action="store_true", help="prefix lines with svlogd -tt timestamps")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per command (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data")
    parser.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    parser.add_argument("--clean", action="store_true", help="delete the generated files at the end")
    parser.add_argument("--generate-only", action="store_true", help="make (or reuse) the files and stop")
    args = parser.parse_args()
    if args.size_mb < 8:
        parser.error("--size-mb must be at least 8")
    if args.generate_only:
        workdir = _workdir(args)
        generate(workdir, args.size_mb, args.seed, args.svlogd)
        generate(workdir, args.size_mb // 4, args.seed, args.svlogd)
        return
    out = run_all(args)
    text = report(out)
    print("\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"\nresults saved to {args.json}")
    if out["problems"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
