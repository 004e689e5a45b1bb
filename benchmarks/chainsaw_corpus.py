"""The log files bench_chainsaw.py searches: two shapes, made fast and known line by line.

* ``gelf``: what logmagic writes under runit, as svlogd stores it. GELF 1.1 lines (orjson's
  compact layout, non-ASCII as raw UTF-8) behind svlogd ``-tt`` time prefixes, from a small
  fleet behind an edge API: access records, app records, trace records (``_exact_level``),
  multi-line and non-ASCII messages, about 8% of the records carrying a 10-30-frame
  traceback in ``full_message``, a few lines that are not JSON (a crashing process's text, a
  line cut short), 61-character txnIds, and an incident: one account (``ac7``) whose requests
  fail with 503 again and again, so that about 40% of the records are at level 3 or below.
* ``structlog``: an independent shape, written as structlog's ``JSONRenderer`` over the
  standard library's ``json.dumps`` writes it to a file: ``", "`` and ``": "`` separators,
  non-ASCII escaped as ``\\uXXXX``, ``event``/``level`` (a name: ``"error"``)/``logger``, ISO
  8601 ``timestamp`` text, nested ``request`` objects, structlog's ``exception`` field, no
  time prefix, and gunicorn's own plain-text lines among them. The txnId also appears where
  grep finds it and chainsaw must not (an outbound header, a client's report).

A file is one block of lines made once (up to 16 MB), written again and again with the
placeholders of its time window and process tag filled in: every block holds the same records,
so the counts are known exactly (those of one block, times the number of blocks). Each block
covers its own 1000 seconds.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

MB = 1_000_000
#: Bump when the generated content changes: files made by another version are made again.
GENERATOR = 3
SHAPES = ("gelf", "structlog")
#: Placeholders: the 7 high digits of the unix time (the block's 1000-second window) and the
#: per-process tag of the txnIds, each as long as what replaces it.
PH_TS = b"#TSHI##"
PH_RH = b"#RH#"
#: ``#S123#`` / ``#I123#``: the block's second 123, as svlogd -tt (``2026-11-22_06:28:03``) or
#: ISO 8601 (``2026-11-22T06:28:03``) writes it.
_PH_SECOND = re.compile(rb"#([SI])([0-9]{3})#")
#: 2026-11-22T00:00:00Z / 1000: the first block's window.
TS_HI_BASE = 1_795_306
WINDOW = 1000.0
BLOCK_MAX = 16 * MB
#: The account of the incident; `status>=500 accountId=ac7` finds its failures.
INCIDENT_ACCOUNT = "ac7"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

EDGE_HOSTS = ["api0", "api1", "api2"]
SERVICES: dict[str, dict[str, Any]] = {
    "api": {"hosts": EDGE_HOSTS, "version": "062c3d0", "port": 8000},
    "product": {"hosts": ["product-api0", "product-api1"], "version": "24e946e", "port": 8081},
    "billing": {"hosts": ["billing0", "billing1"], "version": "9f1c2ab", "port": 8082},
    "auth": {"hosts": ["ord1.auth.svc0"], "version": "3.14.2", "port": 8083},
    "search": {"hosts": ["search-7d9f4b-x2k8q", "search-7d9f4b-p4m1z"], "version": "a71e03d", "port": 8084},
}
ENDPOINTS: list[tuple[str, str, list[str]]] = [
    ("GET", "/v1/items/{item}", ["product"]),
    ("GET", "/v1/items/{item}/reviews?page={page}", ["product"]),
    ("GET", "/v1/search?q={query}&limit=20", ["search", "product"]),
    ("POST", "/v1/cart/{acct}/items", ["auth", "product"]),
    ("POST", "/v1/checkout", ["auth", "billing", "product"]),
    ("GET", "/v1/accounts/{acct}/orders?since=2026-10-01", ["auth", "billing"]),
    ("POST", "/v1/login", ["auth"]),
]
QUERIES = ["running+shoes", "usb-c+cable", "espresso", "caf%C3%A9", "%E6%9D%B1%E4%BA%AC", "lego", "standing+desk"]
PRODUCTS = [
    "Crème brûlée torch",
    "Straßenkarte Köln",
    "東京 city map",
    "Ελληνικό μέλι 500g",
    "Чайник электрический",
    "café ☕ grinder",
    "Žluťoučký kůň plush",
    "emoji pack 🎉🔥",
    "USB-C cable 2m",
    "standing desk",
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "okhttp/4.12.0",
    "python-requests/2.32.3",
]
INTERNAL_UA = "python-httpx/0.27.2"
APP_FACILITY = {
    "api": "shop.api.handlers",
    "product": "product.catalog",
    "billing": "billing.charge",
    "auth": "auth.session",
    "search": "search.query",
}
#: Python frames, deepest last; a traceback takes 10 to 30 of them.
FRAMES = [
    ("/usr/local/lib/python3.12/asyncio/runners.py", 118, "run", "return self._loop.run_until_complete(task)"),
    ("/usr/local/lib/python3.12/asyncio/base_events.py", 687, "run_until_complete", "return future.result()"),
    ("/usr/local/lib/python3.12/site-packages/uvicorn/server.py", 69, "serve", "await self._serve(sockets)"),
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
    ("/usr/local/lib/python3.12/site-packages/starlette/middleware/errors.py", 165, "__call__", "await self.app(…)"),
    (
        "/usr/local/lib/python3.12/site-packages/starlette/middleware/exceptions.py",
        62,
        "__call__",
        "await wrap_app_handling_exceptions(self.app, conn)(scope, receive, send)",
    ),
    ("/usr/local/lib/python3.12/site-packages/starlette/_exception_handler.py", 53, "wrapped_app", "raise exc"),
    (
        "/usr/local/lib/python3.12/site-packages/starlette/_exception_handler.py",
        42,
        "wrapped_app",
        "await app(scope, receive, sender)",
    ),
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
        "/usr/local/lib/python3.12/site-packages/starlette/routing.py",
        76,
        "app",
        "await wrap_app_handling_exceptions(app, request)",
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
    (
        "/usr/local/lib/python3.12/site-packages/sqlalchemy/orm/session.py",
        2247,
        "_execute_internal",
        "result = conn.execute(",
    ),
    ("/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/base.py", 1418, "execute", "return meth("),
    (
        "/usr/local/lib/python3.12/site-packages/sqlalchemy/engine/base.py",
        1640,
        "_execute_clauseelement",
        "ret = self._execute_context(",
    ),
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
    "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 7: invalid continuation byte",
    'ValueError: invalid product name "Crème brûlée torch" for locale de_DE: Straße expected',
]
VALIDATION = [
    "validation failed:\n  email: not a valid address\n  name: must not be empty",
    "validation failed:\n  quantity: must be at least 1\n  sku: unknown item «ZX-81»",
    "payment declined by the bank:\n  code: 51\n  message: Insufficient funds / Fonds insuffisants",
]


def _b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, d = divmod(n, 62)
        out.append(_ALPHABET[d])
    return "".join(reversed(out))


@dataclass
class Rec:
    """One record of a block, before it is written in a shape."""

    off: float  # seconds into the block's window
    line: bytes  # with placeholders
    level_le3: bool  # what `level<=3` must find
    acct_5xx: bool  # what `status>=500 accountId=ac7` must find
    txn: str | None  # the txnId field (a template, with placeholders)
    mentions: str | None  # another txnId the line holds where chainsaw does not look (grep finds it)
    traceback: bool
    valid: bool  # a JSON object; False for the lines chainsaw reports as not JSON


@dataclass
class Corpus:
    """A generated file and what is known about it."""

    shape: str
    path: str
    size: int
    lines: int
    blocks: int
    level_le3: int
    acct_5xx: int
    not_json: int
    tracebacks: int
    txn_id: str
    txn_lines: int  # records of the transaction (what --txn finds)
    txn_grep: int  # lines holding the id's text anywhere (what grep -F finds)
    svlogd: bool
    generator: int = GENERATOR


class _Fleet:
    """Transactions across the services: the records they leave, as plain dicts."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.counters = {h: rnd.randrange(10_000, 99_999) for s in SERVICES.values() for h in s["hosts"]}
        self.accounts = [_b62(rnd.getrandbits(40), 7) for _ in range(5000)]
        self.remote = [
            f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            for _ in range(2000)
        ]
        self.tracebacks = [self._traceback() for _ in range(60)]

    def txn_id(self, edge: str, start: float) -> str:
        counter = self.counters.setdefault(edge, self.rnd.randrange(10_000, 99_999))
        self.counters[edge] += 1
        return (
            f".rh-{PH_RH.decode()}.h-{edge}.r-{_b62(self.rnd.getrandbits(48), 8)}.c-{counter}"
            f".ts-{PH_TS.decode()}{int(start * 1000):06d}.v-{SERVICES['api']['version']}"
        )

    def _traceback(self) -> str:
        rnd = self.rnd
        svc = rnd.choice(list(SERVICES))
        depth = rnd.randrange(10, 31)
        frames = FRAMES[len(FRAMES) - depth :]
        parts = ["Traceback (most recent call last):\n"]
        for path, line, fn, code in frames:
            parts.append(f'  File "{path.format(svc=svc)}", line {line}, in {fn}\n    {code}\n')
        parts.append(rnd.choice(EXCEPTIONS).format(acct=rnd.choice(self.accounts), svc=svc) + "\n")
        return "".join(parts)


# --------------------------------------------------------------------------------------------
# shape "gelf": logmagic's GELF lines behind svlogd -tt


class _Gelf:
    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.fleet = _Fleet(rnd)
        self.recs: list[Rec] = []
        self.size = 0
        self.failed: list[str] = []  # txnIds of transactions with a traceback

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
    ) -> None:
        sec = int(off)
        frac = (b"%03d" % int((off - sec) * 1000)).rstrip(b"0") or b"0"
        head = orjson.dumps({"version": "1.1", "host": host, "short_message": msg})[:-1]
        tail: dict[str, Any] = {"level": level, "_facility": facility}
        if full is not None:
            tail["full_message"] = full
        if exact is not None:
            tail["_exact_level"] = exact
        tail.update(fields)
        body = b'%s,"timestamp":%s%03d.%s,%s' % (head, PH_TS, sec, frac, orjson.dumps(tail)[1:])
        svlogd_delay = off + 0.0002 + self.rnd.random() * 0.002
        prefix = b"#S%03d#.%05d " % (int(svlogd_delay) % 1000, int((svlogd_delay % 1) * 100_000))
        status = fields.get("_status")
        self._append(
            Rec(
                off,
                prefix + body + b"\n",
                level <= 3 and (exact is None or exact <= 3),
                isinstance(status, int) and status >= 500 and fields.get("_accountId") == INCIDENT_ACCOUNT,
                fields.get("_txnId"),
                None,
                full is not None,
                True,
            )
        )

    def _append(self, rec: Rec) -> None:
        self.recs.append(rec)
        self.size += len(rec.line)

    def bad(self, off: float, text: bytes) -> None:
        prefix = b"#S%03d#.%05d " % (int(off) % 1000, int((off % 1) * 100_000))
        self._append(Rec(off, prefix + text + b"\n", False, False, None, None, False, False))

    def app_records(self, svc: str, host: str, t: float, txn: str, acct: str | None, n: int) -> float:
        rnd = self.rnd
        fac = APP_FACILITY[svc]
        for _ in range(n):
            t += rnd.uniform(0.0005, 0.02)
            r = rnd.random()
            if r < 0.25:
                self.add(
                    host,
                    "SELECT by primary key",
                    t,
                    7,
                    f"{fac}.db",
                    {
                        "_sql_ms": round(rnd.uniform(0.2, 9), 3),
                        "_rows": rnd.randrange(60),
                        "_table": "orders",
                        "_txnId": txn,
                    },
                )
            elif r < 0.40:
                key = f"item:{rnd.randrange(1, 200000)}"
                self.add(
                    host,
                    rnd.choice(["cache hit", "cache miss"]),
                    t,
                    7,
                    f"{fac}.cache",
                    {"_key": key, "_ttl": 300, "_txnId": txn},
                )
            elif r < 0.48:
                self.add(
                    host,
                    "row decoded",
                    t,
                    7,
                    f"{fac}.db",
                    {"_columns": rnd.randrange(3, 30), "_txnId": txn},
                    exact=rnd.choice([8, 9]),
                )
            elif r < 0.53:
                self.add(
                    host,
                    "slow query",
                    t,
                    4,
                    f"{fac}.db",
                    {
                        "_sql_ms": round(rnd.uniform(500, 4000), 3),
                        "_statement": "SELECT o.id, o.total_cents, i.sku FROM orders o JOIN order_items i "
                        "ON i.order_id = o.id WHERE o.account_id = $1 ORDER BY o.created_at DESC",
                        "_txnId": txn,
                    },
                )
            elif r < 0.58:
                self.add(host, rnd.choice(VALIDATION), t, 5, fac, {"_accountId": acct, "_txnId": txn})
            else:
                self.add(
                    host,
                    f"item read: {rnd.choice(PRODUCTS)}",
                    t,
                    6,
                    fac,
                    {"_accountId": acct, "_item": rnd.randrange(1, 200000), "_txnId": txn},
                )
        return t

    def access(
        self,
        host: str,
        t: float,
        method: str,
        path: str,
        status: int,
        dur: float,
        txn: str,
        acct: str | None,
        remote: str,
        ua: str,
    ) -> None:
        level = 3 if status >= 500 else 4 if status >= 400 else 6
        fields = {
            "_status": status,
            "_duration_ms": round(dur, 3),
            "_bytes": self.rnd.randrange(80, 9000) if status < 500 else 91,
            "_txnId": txn,
            "_accountId": acct,
            "_method": method,
            "_path": path,
            "_remote_addr": remote,
            "_user_agent": ua,
        }
        self.add(host, f"{method} {path} {status}", t, level, "logmagic.access", fields)

    def transaction(self, start: float, fail: bool) -> None:
        rnd = self.rnd
        method, tmpl, downstream = rnd.choice(ENDPOINTS)
        acct = rnd.choice(self.fleet.accounts) if rnd.random() < 0.85 else None
        path = tmpl.format(
            item=rnd.randrange(1, 200000), page=rnd.randrange(1, 9), query=rnd.choice(QUERIES), acct=acct or "anonymous"
        )
        edge = rnd.choice(EDGE_HOSTS)
        txn = self.fleet.txn_id(edge, start)
        remote, ua = rnd.choice(self.fleet.remote), rnd.choice(USER_AGENTS)
        t = self.app_records("api", edge, start, txn, acct, rnd.randrange(0, 3) if fail else rnd.randrange(1, 4))
        failing = rnd.choice(downstream) if fail else None
        if failing is not None:
            downstream = [failing]
        for svc in downstream:
            host = rnd.choice(SERVICES[svc]["hosts"])
            t0 = t
            t = self.app_records(svc, host, t, txn, acct, rnd.randrange(0, 3) if fail else rnd.randrange(1, 4))
            sub = f"/internal/{svc}/v2/{rnd.choice(['lookup', 'batch', 'charge', 'verify'])}"
            internal = f"10.0.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            if svc == failing:
                t += rnd.uniform(0.001, 0.05)
                fields = {
                    "_txnId": txn,
                    "_accountId": acct,
                    "_method": "POST",
                    "_path": sub,
                    "_user_agent": INTERNAL_UA,
                }
                self.add(
                    host,
                    "unhandled exception in the application",
                    t,
                    3,
                    "logmagic.access",
                    fields,
                    full=rnd.choice(self.fleet.tracebacks),
                )
                self.access(host, t, "POST", sub, 500, (t - t0) * 1000, txn, acct, internal, INTERNAL_UA)
                t += 0.001
                upstream = {
                    "_upstream": f"http://{host}:{SERVICES[svc]['port']}{sub}",
                    "_status": 500,
                    "_attempt": 1,
                    "_txnId": txn,
                }
                self.add(edge, "upstream call failed, not retried", t, 4, f"{APP_FACILITY['api']}.upstream", upstream)
                self.failed.append(txn)
                break
            t += rnd.uniform(0.0005, 0.01)
            status = 200 if rnd.random() < 0.97 else rnd.choice([404, 409, 429])
            self.access(host, t, "POST", sub, status, (t - t0) * 1000, txn, acct, internal, INTERNAL_UA)
        if failing is None:
            t = self.app_records("api", edge, t, txn, acct, rnd.randrange(0, 3))
        status = 502 if failing else (200 if rnd.random() < 0.93 else rnd.choice([400, 401, 404, 422]))
        t = min(t + rnd.uniform(0.0002, 0.003), WINDOW - 0.01)
        self.access(edge, t, method, path, status, (t - start) * 1000, txn, acct, remote, ua)

    def incident(self, start: float) -> None:
        """A request of account ac7 that fails at once: the edge answers 503 (retry later)."""
        rnd = self.rnd
        edge = rnd.choice(EDGE_HOSTS)
        txn = self.fleet.txn_id(edge, start)
        path = f"/v1/cart/{INCIDENT_ACCOUNT}/items"
        limit = {"_accountId": INCIDENT_ACCOUNT, "_status": 503, "_limit": "burst", "_retry_after_s": 30, "_txnId": txn}
        self.add(edge, "rate limiter: shedding load", start, 4, f"{APP_FACILITY['api']}.limits", limit)
        remote = "203.0.113.77"
        self.access(edge, start + 0.0004, "POST", path, 503, 0.4, txn, INCIDENT_ACCOUNT, remote, "okhttp/4.12.0")

    def background(self, off: float) -> None:
        rnd = self.rnd
        svc = rnd.choice(list(SERVICES))
        host = rnd.choice(SERVICES[svc]["hosts"])
        r = rnd.random()
        if r < 0.05:
            self.add(
                host,
                "job failed, will retry",
                off,
                3,
                f"{APP_FACILITY[svc]}.jobs",
                {"_job": "reindex", "_error": "lock timeout"},
            )
        elif r < 0.5:
            self.add(
                host,
                "pool stats",
                off,
                7,
                f"{APP_FACILITY[svc]}.db.pool",
                {"_pool_size": 20, "_in_use": rnd.randrange(20)},
            )
        else:
            self.add(
                host,
                "job finished",
                off,
                6,
                f"{APP_FACILITY[svc]}.jobs",
                {"_job": "send-digest", "_duration_ms": round(rnd.uniform(5, 900), 3)},
            )

    def build(self, target: int) -> list[Rec]:
        rnd = self.rnd
        for _ in range(max(2, target // (2 * MB))):  # a crashing process's text; a line cut short
            self.bad(rnd.uniform(0, WINDOW - 1), b"Fatal Python error: Segmentation fault")
            cut = b'{"version":"1.1","host":"api1","short_message":"worker killed","level":3,"_accountId":"ac7","_st'
            self.bad(rnd.uniform(0, WINDOW - 1), cut)
        while self.size < target:
            r = rnd.random()
            start = rnd.uniform(0, WINDOW - 20)
            if r < 0.066:
                self.background(start)
            elif r < 0.692:
                self.incident(start)
            else:
                self.transaction(start, fail=r < 0.956)
        return self.recs


# --------------------------------------------------------------------------------------------
# shape "structlog": structlog's JSONRenderer (json.dumps) in a file, gunicorn's lines among them

_LEVELS = {3: "error", 4: "warning", 6: "info", 7: "debug"}


class _Structlog:
    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.fleet = _Fleet(rnd)
        self.recs: list[Rec] = []
        self.size = 0
        self.failed: list[str] = []

    def add(
        self, off: float, event: str, level: int, logger: str, fields: dict[str, Any], mentions: str | None = None
    ) -> None:
        sec = int(off)
        micros = int((off - sec) * 1_000_000)
        record: dict[str, Any] = {"event": event, "level": _LEVELS[level], "logger": logger}
        record["timestamp"] = f"#I{sec:03d}#.{micros:06d}Z"
        record.update(fields)
        line = json.dumps(record).encode() + b"\n"
        status = fields.get("status")
        rec = Rec(
            off,
            line,
            level <= 3,
            isinstance(status, int) and status >= 500 and fields.get("accountId") == INCIDENT_ACCOUNT,
            fields.get("txnId"),
            mentions,
            "exception" in fields,
            True,
        )
        self.recs.append(rec)
        self.size += len(line)

    def gunicorn(self, off: float, text: str) -> None:
        line = f"[#I{int(off):03d}# +0000] [{self.rnd.randrange(7, 40)}] {text}\n".encode()
        self.recs.append(Rec(off, line, False, False, None, None, False, False))
        self.size += len(line)

    def request(self, start: float, fail: bool) -> None:
        rnd = self.rnd
        method, tmpl, _ = rnd.choice(ENDPOINTS)
        acct = rnd.choice(self.fleet.accounts)
        path = tmpl.format(
            item=rnd.randrange(1, 200000), page=rnd.randrange(1, 9), query=rnd.choice(QUERIES), acct=acct
        )
        txn = self.fleet.txn_id("web-7f9c", start)
        request = {
            "method": method,
            "path": path,
            "client": rnd.choice(self.fleet.remote),
            "user_agent": rnd.choice(USER_AGENTS),
        }
        t = start
        self.add(t, "request started", 7, "shop.web", {"txnId": txn, "accountId": acct, "request": request})
        for _ in range(rnd.randrange(0, 2) if fail else rnd.randrange(1, 4)):
            t += rnd.uniform(0.001, 0.02)
            product = rnd.choice(PRODUCTS)
            self.add(
                t,
                f"looked up «{product}»",
                6,
                "shop.catalog",
                {"txnId": txn, "accountId": acct, "sku": f"SKU-{rnd.randrange(10**6)}"},
            )
        t += 0.002
        outbound = {
            "method": "POST",
            "url": "http://billing:8082/v1/quote",
            "headers": {"X-Txn-Id": txn, "Accept": "application/json"},
        }
        self.add(t, "outbound call", 7, "shop.http", {"txnId": txn, "outbound": outbound})
        if fail:
            t += rnd.uniform(0.01, 0.2)
            exc = rnd.choice(self.fleet.tracebacks)
            self.add(
                t,
                "unhandled exception",
                3,
                "shop.web",
                {"txnId": txn, "accountId": acct, "status": 500, "exception": exc},
            )
            if rnd.random() < 0.5:
                feedback = {"reported_id": txn, "page": path}
                self.add(t + 0.001, "client reported an error", 4, "shop.feedback", feedback, mentions=txn)
            self.failed.append(txn)
        status = 500 if fail else 200
        self.add(
            t + 0.002,
            "request finished",
            3 if fail else 6,
            "shop.web",
            {
                "txnId": txn,
                "accountId": acct,
                "status": status,
                "duration_ms": round((t - start) * 1000 + 1.3, 2),
                "request": request,
            },
        )

    def incident(self, start: float) -> None:
        txn = self.fleet.txn_id("web-7f9c", start)
        request = {
            "method": "POST",
            "path": f"/v1/cart/{INCIDENT_ACCOUNT}/items",
            "client": "198.51.100.7",
            "user_agent": "okhttp/4.12.0",
        }
        quota = {"txnId": txn, "accountId": INCIDENT_ACCOUNT, "status": 503, "quota": {"limit": 100, "used": 1421}}
        self.add(start, "quota exceeded", 4, "shop.quota", quota)
        fields = {"txnId": txn, "accountId": INCIDENT_ACCOUNT, "status": 503, "duration_ms": 0.41, "request": request}
        self.add(start + 0.0003, "request refused: over quota", 3, "shop.web", fields)

    def build(self, target: int) -> list[Rec]:
        rnd = self.rnd
        for _ in range(max(2, target // (2 * MB))):  # a line cut short by a killed worker
            line = b'{"event": "request refused: over quota", "level": "error", "accountId": "ac7", "sta\n'
            self.recs.append(Rec(rnd.uniform(0, WINDOW - 1), line, False, False, None, None, False, False))
            self.size += len(line)
        while self.size < target:
            r = rnd.random()
            start = rnd.uniform(0, WINDOW - 20)
            if r < 0.061:
                self.gunicorn(
                    start,
                    rnd.choice(
                        [
                            "[INFO] Booting worker with pid: 4121",
                            "[CRITICAL] WORKER TIMEOUT (pid:4121)",
                            "[ERROR] Worker (pid:4121) was sent SIGKILL! Perhaps out of memory?",
                        ]
                    ),
                )
            elif r < 0.637:
                self.incident(start)
            else:
                self.request(start, fail=r < 0.879)
        return self.recs


# --------------------------------------------------------------------------------------------
# the file


@dataclass
class _Block:
    data: bytes
    lines: int
    level_le3: int
    acct_5xx: int
    not_json: int
    tracebacks: int
    txn_template: str
    txn_lines: int
    txn_grep: int


def build_block(shape: str, target: int, seed: int) -> _Block:
    """About ``target`` bytes of records in one 1000-second window, in time order."""
    rnd = random.Random(seed)
    maker: _Gelf | _Structlog = _Gelf(rnd) if shape == "gelf" else _Structlog(rnd)
    recs = sorted(maker.build(target), key=lambda r: r.off)
    # The transaction searched: a failed one from the middle of the block, with the most records.
    middle = maker.failed[len(maker.failed) // 3 : 2 * len(maker.failed) // 3]
    per_txn = {t: sum(1 for r in recs if r.txn == t) for t in middle}
    needle = max(middle, key=lambda t: (per_txn[t], t))
    return _Block(
        data=b"".join(r.line for r in recs),
        lines=len(recs),
        level_le3=sum(r.level_le3 for r in recs),
        acct_5xx=sum(r.acct_5xx for r in recs),
        not_json=sum(not r.valid for r in recs),
        tracebacks=sum(r.traceback for r in recs),
        txn_template=needle,
        txn_lines=per_txn[needle],
        txn_grep=sum(1 for r in recs if r.txn == needle or r.mentions == needle),
    )


def _tag(n: int) -> bytes:
    return _b62(n * 7919 + 918_273, 4).encode()


def stamp(data: bytes, n: int) -> bytes:
    """Block ``n`` of the file: its time window, process tag and seconds filled in."""
    hi = TS_HI_BASE + n
    data = data.replace(PH_TS, b"%07d" % hi).replace(PH_RH, _tag(n))
    base = hi * 1000
    cache: dict[bytes, bytes] = {}

    def second(m: re.Match[bytes]) -> bytes:
        key = m[0]
        text = cache.get(key)
        if text is None:
            when = datetime.datetime.fromtimestamp(base + int(m[2]), datetime.timezone.utc)
            fmt = "%Y-%m-%d_%H:%M:%S" if m[1] == b"S" else "%Y-%m-%dT%H:%M:%S"
            text = cache[key] = when.strftime(fmt).encode()
        return text

    return _PH_SECOND.sub(second, data)


def generate(workdir: Path, shape: str, size_mb: int, seed: int = 1) -> Corpus:
    """The ``shape`` file of about ``size_mb`` MB in ``workdir``, made or reused."""
    path = workdir / f"chainsaw-{shape}-{size_mb}mb-s{seed}.log"
    marker = Path(f"{path}.done.json")
    if path.exists() and marker.exists():
        try:
            known = json.loads(marker.read_text())
            if known.get("generator") == GENERATOR and os.path.getsize(path) == known["size"]:
                return Corpus(**known)
        except (ValueError, KeyError, TypeError):
            pass
    target = size_mb * MB
    blocks = max(1, -(-target // BLOCK_MAX))
    print(f"generating {path} ({size_mb} MB, {shape}) ...", flush=True)
    block = build_block(shape, target // blocks, seed)
    middle = blocks // 2
    size = 0
    tmp = Path(f"{path}.tmp")
    with open(tmp, "wb") as f:
        for n in range(blocks):
            data = stamp(block.data, n)
            f.write(data)
            size += len(data)
    os.replace(tmp, path)
    txn = block.txn_template.replace(PH_TS.decode(), f"{TS_HI_BASE + middle:07d}")
    txn = txn.replace(PH_RH.decode(), _tag(middle).decode())
    corpus = Corpus(
        shape=shape,
        path=str(path),
        size=size,
        lines=block.lines * blocks,
        blocks=blocks,
        level_le3=block.level_le3 * blocks,
        acct_5xx=block.acct_5xx * blocks,
        not_json=block.not_json * blocks,
        tracebacks=block.tracebacks * blocks,
        txn_id=txn,
        txn_lines=block.txn_lines,
        txn_grep=block.txn_grep,
        svlogd=shape == "gelf",
    )
    marker.write_text(json.dumps(asdict(corpus), indent=2) + "\n")
    return corpus
