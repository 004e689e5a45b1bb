"""What one log call costs: logmagic against hand-written code and other JSON loggers.

Every row makes the same call — the message ``"Something is wrong"`` and the fields
``accountId``, ``txnId`` and ``status`` — and the record goes to /dev/null with one write per
record, so the numbers are the cost of producing a line and handing it to the kernel, not of
any disk. Rows, all in one process and one run, in nanoseconds per call (median of repeats):

* Baseline: a plain function with the log call's signature that builds the same GELF dict
  inline, ``orjson.dumps`` it and ``os.write``s it to /dev/null. Nothing can do the same work
  for much less in Python, so it is the yardstick for every enabled row.
* logmagic, enabled: GELF to a ``file:///dev/null`` sink, and GELF to ``graylog2-stderr`` with
  fd 2 pointed at /dev/null while the row is timed.
* The production path: GELF to ``graylog2-stderr`` with fd 2 a pipe to another process (``cat``
  writing to /dev/null, in svlogd's place), against the baseline writing to that pipe. On a
  pipe every line takes the sink's lock (see docs/routes-and-sinks.md).
* A DEBUG record kept by the flight recorder (the route at INFO, in a transaction), against
  the enabled INFO record written to /dev/null.
* A record in a transaction with two of its fields (``accountId``, ``tier``) from
  ``logmagic.context``, against the record in a transaction alone.
* structlog, in the fastest configuration its "Performance" page documents (filtering bound
  logger, orjson renderer, ``BytesLoggerFactory``), writing to /dev/null.
* stdlib ``logging`` with python-json-logger's ``JsonFormatter`` on a ``StreamHandler``
  (fields through ``extra=``), and loguru with ``serialize=True`` on a /dev/null file object.
* Disabled levels (``debug`` while the threshold is INFO) for each library, against a second
  baseline: an empty function with the log call's signature called with the same arguments.

The rows are interleaved: each repeat times every row once, so a slow moment of the machine
hits all rows alike. Garbage collection is off while a row is timed (as in ``timeit``), and the
loop overhead (printed) is included in every row, baselines too. The goals checked at the end:
logmagic enabled at most 1.3x the GELF baseline, in a context of two fields at most 1.2x the
same record in a transaction alone, a record kept by the flight recorder at most 0.5x the
enabled record, disabled at most 1.1x the empty function.

``--breakdown`` also times the parts of logmagic's enabled call alone (the whole call, the
general path's ``sink.emit`` and GELF encoder, ``orjson.dumps``, ``os.write``, building a
record, the clock and the transaction lookup), to see where it goes.

    .venv/bin/python benchmarks/bench_logging.py [--quick] [--breakdown] [--json results.json]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from baselines import DEVNULL_FD, TXN, empty_function, gelf_baseline, gelf_baseline_fd2
from loguru import logger as loguru_logger

import logmagic
from logmagic import call_paths
from logmagic import config as logmagic_config
from logmagic.encode import _plain
from logmagic.encode.gelf import GelfEncoder
from logmagic.record import Record

try:  # python-json-logger >= 3
    from pythonjsonlogger.json import JsonFormatter
except ImportError:  # pragma: no cover - older releases
    from pythonjsonlogger.jsonlogger import JsonFormatter  # type: ignore[attr-defined, no-redef, unused-ignore]

FACILITY = "bench.api"
GOAL_ENABLED = 1.3
#: A record written inside a transaction, request rewriter on (the default), against the same baseline.
GOAL_IN_TRANSACTION = 1.5
#: The same record with two of its fields from ``logmagic.context``, against the row above.
GOAL_IN_CONTEXT = 1.2
GOAL_DISABLED = 1.1
#: A DEBUG record the flight recorder keeps, against an enabled INFO record written.
GOAL_KEPT = 0.5
ENABLED = "logmagic info, GELF to file:///dev/null"
IN_TRANSACTION = "logmagic info in a transaction (txnId from context), to file:///dev/null"
IN_CONTEXT = "logmagic info in a transaction and a context of two fields (accountId, tier), to file:///dev/null"
#: Disabled rows cost tens of nanoseconds: they run this many times more calls per repeat.
DISABLED_SCALE = 10


# The call each row times, written as application code writes it; ``log`` and ``txn`` are
# local names of the timing loop (see ``Row.setup``) in every row, baselines included.
CALL_FN = 'log("Something is wrong", accountId="ac42", txnId=txn, status=200)'
CALL_KW = 'log.{method}("Something is wrong", accountId="ac42", txnId=txn, status=200)'
CALL_EXTRA = 'log.{method}("Something is wrong", extra={{"accountId": "ac42", "txnId": txn, "status": 200}})'


@dataclass
class Row:
    """One line of the table: what is called, how the library is set up, what it is compared to."""

    name: str
    stmt: str
    target: Any
    baseline: str | None = None  # name of the baseline row; None for a baseline itself
    prepare: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext
    scale: int = 1
    goal: float | None = None
    setup: str = "log = _target; txn = _txn"  # runs in the timing function, after ``prepare``
    times: list[float] = field(default_factory=list)  # ns per call, one per repeat

    @property
    def median(self) -> float:
        return statistics.median(self.times)


# -- logmagic -------------------------------------------------------------------------------

lm_log = logmagic.local(FACILITY)


def _check_logmagic(sink: str) -> None:
    counters = logmagic.stats().get(sink, {})
    if counters.get("dropped", 0):
        print(f"warning: logmagic sink {sink!r} dropped {counters['dropped']} records", file=sys.stderr)


@contextlib.contextmanager
def logmagic_file() -> Iterator[None]:
    logmagic.reset()
    logmagic.register_sink("null", "file:///dev/null")
    logmagic.route("__root__", logmagic.INFO, "null")
    yield
    _check_logmagic("null")
    logmagic.reset()


@contextlib.contextmanager
def logmagic_stderr() -> Iterator[None]:
    logmagic.reset()
    logmagic.route("__root__", logmagic.INFO, "graylog2-stderr")
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(DEVNULL_FD, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    _check_logmagic("graylog2-stderr")
    logmagic.reset()


@contextlib.contextmanager
def stderr_on_a_pipe() -> Iterator[None]:
    """fd 2 is a pipe to another process (``cat`` to /dev/null), as under runit and svlogd."""
    sys.stderr.flush()
    reader = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert reader.stdin is not None
    saved = os.dup(2)
    os.dup2(reader.stdin.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        reader.stdin.close()
        reader.wait()


@contextlib.contextmanager
def logmagic_stderr_pipe() -> Iterator[None]:
    logmagic.reset()
    logmagic.route("__root__", logmagic.INFO, "graylog2-stderr")
    with stderr_on_a_pipe():
        yield
    _check_logmagic("graylog2-stderr")
    logmagic.reset()


@contextlib.contextmanager
def logmagic_python_loop() -> Iterator[None]:
    """The file row again, in pure Python: the level method logmagic makes without its C
    accelerator (installed without a compiler, or ``LOGMAGIC_PURE_PYTHON=1``), with the
    Python twins of the C steps written into it."""
    saved = call_paths.make_direct
    call_paths.make_direct = call_paths.python_gelf_line_maker()
    try:
        with logmagic_file():
            yield
    finally:
        call_paths.make_direct = saved


@contextlib.contextmanager
def logmagic_in_transaction() -> Iterator[None]:
    """The file row again, but the txnId comes from the current transaction, not the call."""
    with logmagic_file(), logmagic.transaction(TXN):
        yield


@contextlib.contextmanager
def logmagic_in_context() -> Iterator[None]:
    """The transaction row again, with two request-scoped fields from ``logmagic.context``."""
    with logmagic_in_transaction(), logmagic.context(accountId="ac42", tier="gold"):
        yield


@contextlib.contextmanager
def logmagic_flight_recorder() -> Iterator[None]:
    """The file row's route (INFO) with the flight recorder keeping DEBUG, in a transaction:
    each ``debug`` call is kept in memory (the oldest dropped past the 256-record cap)."""
    with logmagic_file():
        logmagic.configure(flight_recorder=logmagic.DEBUG, env=False)
        try:
            with logmagic.transaction(TXN):
                yield
        finally:
            logmagic.configure(flight_recorder=False, env=False)


# -- structlog: the configuration from its "Performance" page, writing to /dev/null ---------

structlog.configure(
    cache_logger_on_first_use=True,
    wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.format_exc_info,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.JSONRenderer(serializer=orjson.dumps),
    ],
    logger_factory=structlog.BytesLoggerFactory(file=open(os.devnull, "wb")),  # noqa: SIM115
)
# A concrete bound logger, not the lazy proxy: the page's advice for loggers used often.
sl_log = structlog.get_logger(FACILITY).bind()

# -- stdlib logging + python-json-logger ----------------------------------------------------

std_log = logging.getLogger(FACILITY)
_std_handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
_std_handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
std_log.addHandler(_std_handler)
std_log.setLevel(logging.INFO)
std_log.propagate = False

# -- loguru ----------------------------------------------------------------------------------

loguru_logger.remove()
loguru_logger.add(open(os.devnull, "w"), serialize=True, level="INFO", enqueue=False)  # noqa: SIM115


def make_rows() -> list[Row]:
    gelf = "baseline: GELF dict + orjson + os.write"
    gelf_pipe = "baseline: the same, os.write to a pipe"
    empty = "baseline: empty function"
    return [
        Row(gelf, CALL_FN, gelf_baseline),
        Row(
            ENABLED,
            CALL_KW.format(method="info"),
            lm_log,
            gelf,
            logmagic_file,
            goal=GOAL_ENABLED,
        ),
        Row(
            "logmagic info, GELF to stderr (fd 2 on /dev/null)",
            CALL_KW.format(method="info"),
            lm_log,
            gelf,
            logmagic_stderr,
            goal=GOAL_ENABLED,
        ),
        Row(
            IN_TRANSACTION,
            'log.info("Something is wrong", accountId="ac42", status=200)',
            lm_log,
            gelf,
            logmagic_in_transaction,
            goal=GOAL_IN_TRANSACTION,
        ),
        Row(
            IN_CONTEXT,
            'log.info("Something is wrong", status=200)',
            lm_log,
            IN_TRANSACTION,
            logmagic_in_context,
            goal=GOAL_IN_CONTEXT,
        ),
        Row(
            "logmagic debug kept by the flight recorder (route at INFO, in a transaction)",
            CALL_KW.format(method="debug"),
            lm_log,
            ENABLED,
            logmagic_flight_recorder,
            goal=GOAL_KEPT,
        ),
        Row(
            "logmagic info, to file:///dev/null, in pure Python (no C accelerator)",
            CALL_KW.format(method="info"),
            lm_log,
            gelf,
            logmagic_python_loop,
        ),
        Row(gelf_pipe, CALL_FN, gelf_baseline_fd2, prepare=stderr_on_a_pipe),
        Row(
            "logmagic info, GELF to stderr on a pipe (to cat > /dev/null)",
            CALL_KW.format(method="info"),
            lm_log,
            gelf_pipe,
            logmagic_stderr_pipe,
            goal=GOAL_ENABLED,
        ),
        Row("structlog info, orjson + BytesLogger", CALL_KW.format(method="info"), sl_log, gelf),
        Row("stdlib logging + python-json-logger", CALL_EXTRA.format(method="info"), std_log, gelf),
        Row("loguru serialize=True", CALL_KW.format(method="info"), loguru_logger, gelf),
        Row(
            empty,
            CALL_FN,
            empty_function,
            scale=DISABLED_SCALE,
        ),
        Row(
            "logmagic debug (disabled)",
            CALL_KW.format(method="debug"),
            lm_log,
            empty,
            logmagic_file,
            DISABLED_SCALE,
            goal=GOAL_DISABLED,
        ),
        Row(
            "logmagic debug (disabled), method looked up once",
            CALL_FN,
            lm_log,
            empty,
            logmagic_file,
            DISABLED_SCALE,
            setup="log = _target.debug; txn = _txn",
        ),
        Row("structlog debug (disabled)", CALL_KW.format(method="debug"), sl_log, empty, scale=DISABLED_SCALE),
        Row("stdlib logging debug (disabled)", CALL_EXTRA.format(method="debug"), std_log, empty, scale=DISABLED_SCALE),
        Row("loguru debug (disabled)", CALL_KW.format(method="debug"), loguru_logger, empty, scale=DISABLED_SCALE),
    ]


def time_row(row: Row, n: int) -> float:
    """Nanoseconds per call for one repeat of ``row``, after a short warm-up."""
    timer = timeit.Timer(row.stmt, row.setup, globals={"_target": row.target, "_txn": TXN})
    with row.prepare():
        timer.timeit(max(n // 10, 100))
        seconds = timer.timeit(n)
    return seconds / n * 1e9


def breakdown(n: int, repeats: int) -> list[tuple[str, float]]:
    """Parts of logmagic's enabled call, each timed alone (ns per call, median of repeats)."""
    with logmagic_file():
        sink = logmagic_config.sinks()["null"]
        encoder = GelfEncoder()
        record = Record(
            FACILITY,
            logmagic.INFO,
            "Something is wrong",
            {"accountId": "ac42", "txnId": TXN, "status": 200},
            time.time(),
        )
        names = {
            "log": lm_log,
            "txn": TXN,
            "sink": sink,
            "encoder": encoder,
            "record": record,
            "fields": dict(record.fields),
            "line": encoder.encode(record),
            "gelf": orjson.loads(encoder.encode(record)),
            "Record": Record,
            "fd": DEVNULL_FD,
            "os": os,
            "orjson": orjson,
            "time": time,
            "txn_get": logmagic.txn.get_current,
        }
        setup = "; ".join(f"{name} = _{name}" for name in names)
        parts = [
            ("log.info(...): the whole call (direct GELF path)", CALL_KW.format(method="info")),
            ("sink.emit(record): encode and os.write (the general path)", "sink.emit(record)"),
            ("GelfEncoder().encode(record)", "encoder.encode(record)"),
            ("orjson.dumps(the same GELF dict)", "orjson.dumps(gelf, option=orjson.OPT_APPEND_NEWLINE)"),
            ("os.write(/dev/null, line)", "os.write(fd, line)"),
            ("Record(...)", 'Record("bench.api", 6, "Something is wrong", fields, 0.0, None)'),
            ("time.time()", "time.time()"),
            ("current transaction id (ContextVar.get)", "txn_get()"),
        ]
        out = []
        for label, stmt in parts:
            timer = timeit.Timer(stmt, setup, globals={f"_{name}": value for name, value in names.items()})
            timer.timeit(max(n // 10, 100))
            out.append((label, statistics.median(timer.timeit(n) / n * 1e9 for _ in range(repeats))))
    return out


def loop_overhead(n: int) -> float:
    """Nanoseconds per iteration of the timing loop itself (included in every row)."""
    timer = timeit.Timer("pass")
    return min(timer.timeit(n) for _ in range(3)) / n * 1e9


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("logmagic", "structlog", "python-json-logger", "loguru", "orjson"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "?"
    return out


def ratio(row: Row, by_name: dict[str, Row]) -> float:
    return row.median / by_name[row.baseline].median if row.baseline else 1.0


def print_table(rows: list[Row], by_name: dict[str, Row]) -> None:
    print("| Row | ns/call (median) | min–max | ratio | compared to |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        against = row.baseline.removeprefix("baseline: ") if row.baseline else "—"
        print(
            f"| {row.name} | {row.median:,.0f} | {min(row.times):,.0f}–{max(row.times):,.0f} "
            f"| {ratio(row, by_name):.2f}x | {against} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: 5,000 calls, 3 repeats")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--breakdown", action="store_true", help="also time the parts of logmagic's enabled call")
    args = parser.parse_args()
    n, repeats = (5_000, 3) if args.quick else (50_000, 7)

    # Environment routes would override the ones each row sets.
    os.environ.pop("LOGMAGIC_ROUTES", None)
    os.environ.pop("LOGMAGIC_SINKS", None)

    rows = make_rows()
    by_name = {row.name: row for row in rows}
    info = versions()
    cpus = os.cpu_count() or 0
    print(
        f"Python {info['python']} on {platform.machine()}, {cpus} CPUs; logmagic {info['logmagic']}, "
        f"structlog {info['structlog']}, python-json-logger {info['python-json-logger']}, "
        f"loguru {info['loguru']}, orjson {info['orjson']}"
    )
    print(f"{repeats} repeats of {n:,} calls ({n * DISABLED_SCALE:,} for disabled levels), rows interleaved")
    made = "the C accelerator" if _plain.ACCELERATED else "Python (the C accelerator is not built or is turned off)"
    print(f"logmagic's GELF dict made by: {made}\n")

    started = time.perf_counter()
    for _ in range(repeats):
        for row in rows:
            row.times.append(time_row(row, n * row.scale))
    elapsed = time.perf_counter() - started
    overhead = loop_overhead(n * DISABLED_SCALE)

    print_table(rows, by_name)
    print(f"\nLoop overhead, included in every row: {overhead:.1f} ns/call. Run took {elapsed:.1f} s.\n")

    goals = []
    for row in rows:
        if row.goal is None:
            continue
        r = ratio(row, by_name)
        met = r <= row.goal
        goals.append({"row": row.name, "ratio": r, "goal": row.goal, "met": met})
        against = (row.baseline or "").removeprefix("baseline: ")
        print(f"Goal {'met' if met else 'NOT met'}: {row.name}: {r:.2f}x <= {row.goal}x {against}")

    parts = breakdown(n, repeats) if args.breakdown else []
    if parts:
        print("\nParts of logmagic's enabled call, each timed alone:\n")
        print("| Part | ns/call (median) |")
        print("|---|---:|")
        for label, ns in parts:
            print(f"| {label} | {ns:,.0f} |")

    if args.json:
        result = {
            "machine": {"cpus": cpus, "platform": platform.platform(), "machine": platform.machine()},
            "versions": info,
            "c_accelerator": _plain.ACCELERATED,
            "calls_per_repeat": n,
            "repeats": repeats,
            "disabled_scale": DISABLED_SCALE,
            "loop_overhead_ns": overhead,
            "rows": [
                {
                    "name": row.name,
                    "ns_per_call": row.median,
                    "ns_per_repeat": row.times,
                    "baseline": row.baseline,
                    "ratio": ratio(row, by_name),
                }
                for row in rows
            ],
            "goals": goals,
            "breakdown": [{"part": label, "ns_per_call": ns} for label, ns in parts],
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
