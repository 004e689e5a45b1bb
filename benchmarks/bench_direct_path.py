"""Where the direct GELF path's time goes: the level method with one step taken out at a time.

The direct path (``logmagic.call_paths.make_gelf_line``) is the enabled call of
``bench_logging.py``. This script builds variants of it from its own source, each with one
step replaced by nothing (so each variant is wrong on purpose: it is timed, never used), and
times them against the same hand-written baseline, all in one process with the rows
interleaved. The difference to a variant built the same way with nothing replaced is what
that step costs (the method as installed is timed too, for reference). "every step above"
takes them all out at once, which leaves the method, the GELF line (dict and ``orjson.dumps``)
and ``os.write``: the floor of this design. The last row takes nothing out: it is the method
a process makes without the C accelerator (``call_paths.python_gelf_line_maker``, the Python
twins of the C steps written into it), as on a machine where logmagic was installed without
a compiler.

A replacement that no longer matches the source fails loudly: update it with the code.

    .venv/bin/python benchmarks/bench_direct_path.py [--quick]
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any

from baselines import TXN, gelf_baseline

import logmagic
from logmagic import call_paths, config, rewriters

CALL = '{}("Something is wrong", accountId="ac42", txnId=txn, status=200)'

#: Step -> (text in make_gelf_line, what replaces it).
STEPS: dict[str, list[tuple[str, str]]] = {
    "bound fields": [("f = kw if fields is None and not bound else merge(bound, fields, kw)", "f = kw")],
    "non-text message check": [("if type(msg) is not str:", "if False:")],
    "request rewriter trigger": [("if when in f:", "if False:")],
    "transaction id lookup": [("t = _txn_get()", "t = None")],
    "lock-free window check": [("elif out.look_from <= ts < out.free_until:", "elif True:")],
    "written counter": [("_next(written)", "pass")],
}


def variant(replacements: list[tuple[str, str]], *args: Any) -> Callable[..., None]:
    """``make_gelf_line(*args)`` built from its source with ``replacements`` made."""
    source = inspect.getsource(call_paths.make_gelf_line)
    for old, new in replacements:
        if old not in source:
            raise SystemExit(f"bench_direct_path: {old!r} is no longer in make_gelf_line; update STEPS")
        source = source.replace(old, new)
    namespace = dict(vars(call_paths))
    exec(compile(source, "<make_gelf_line variant>", "exec"), namespace)
    method: Callable[..., None] = namespace["make_gelf_line"](*args)
    return method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: 5,000 calls, 5 repeats")
    args = parser.parse_args()
    n, repeats = (5_000, 5) if args.quick else (20_000, 25)

    os.environ.pop("LOGMAGIC_ROUTES", None)
    os.environ.pop("LOGMAGIC_SINKS", None)
    logmagic.reset()
    logmagic.register_sink("null", "file:///dev/null")
    logmagic.route("__root__", logmagic.INFO, "null")
    log = logmagic.local("bench.api")
    sink = config.sinks()["null"]
    rewrite = type(log)._plan[2]
    made = ("bench.api", logmagic.INFO, rewrite, rewriters.trigger_of(rewriters.chain()), sink)

    class Variants(type(log)):  # type: ignore[misc]  # a facility class made at run time
        """The bench facility's logger class, with one method per variant."""

    everything = [r for replacements in STEPS.values() for r in replacements]
    rows: dict[str, str] = {"baseline: GELF dict + orjson + os.write": CALL.format("base")}
    rows["logmagic info, as installed"] = CALL.format("log.info")
    variants = [
        ("nothing (rebuilt from its source)", []),
        *STEPS.items(),
        ("every step above", everything),
    ]
    for i, (step, replacements) in enumerate(variants):
        setattr(Variants, f"v{i}", variant(replacements, *made))
        rows[f"without: {step}"] = CALL.format(f"lab.v{i}")
    # Not a step taken out: the method a process without the C accelerator makes.
    Variants.python = call_paths.python_gelf_line_maker()(*made)
    rows["in pure Python (the Python twins written in)"] = CALL.format("lab.python")
    lab = object.__new__(Variants)
    lab._bound = {}

    times: dict[str, list[float]] = {name: [] for name in rows}
    names = {"_base": gelf_baseline, "_log": log, "_lab": lab, "_txn": TXN}
    for _ in range(repeats):
        for name, stmt in rows.items():
            timer = timeit.Timer(stmt, "base = _base; log = _log; lab = _lab; txn = _txn", globals=names)
            timer.timeit(max(n // 20, 100))
            times[name].append(timer.timeit(n) / n * 1e9)
    logmagic.reset()

    base = statistics.median(times["baseline: GELF dict + orjson + os.write"])
    whole = statistics.median(times["without: nothing (rebuilt from its source)"])
    print(f"Python {sys.version.split()[0]}; median of {repeats} repeats of {n:,} calls, rows interleaved\n")
    print("| Row | ns/call | ratio to the baseline | saved against the unchanged variant |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        saved = "—" if name.startswith(("baseline", "logmagic")) else f"{whole - median:+,.0f} ns"
        print(f"| {name} | {median:,.0f} | {median / base:.2f}x | {saved} |")


if __name__ == "__main__":
    main()
