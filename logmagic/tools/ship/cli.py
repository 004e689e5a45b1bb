"""``logmagic ship``: the command line of the shipper, and ``--status``."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

from logmagic.tools.logfiles.identity import Trust
from logmagic.tools.ship.kinds import open_source
from logmagic.tools.ship.shipper import Options, Shipper, source_specs
from logmagic.tools.ship.state import StateError, StateFile, read_json

EPILOG = """examples:
  logmagic ship --from /var/log/api --to scribe://scribe1:1463 --state /var/lib/ship/api.state
  logmagic ship --from '/etc/service/*/log/main' --to https://logs.example.com/in --state /var/lib/ship/all
  logmagic ship --from /var/log/nginx/access.log::nginx --to scribe://scribe1:1463 --state /var/lib/ship/ngx
  logmagic ship --status --state /var/lib/logmagic/api.state

Sources are files, svlogd directories (rotated files in order, then current) and globs,
re-expanded every --rescan seconds and on SIGHUP. The Scribe category is PATH::CATEGORY,
else the one in the URL, else the service directory's name. SIGTERM sends the batch in
flight, saves the state and exits 0.
"""


def add_parser(sub: Any) -> None:
    """Add the ``ship`` subcommand to the ``logmagic`` command."""
    p = sub.add_parser(
        "ship",
        help="follow log files like tail -F and forward every line, at least once",
        description="Follow log files like tail -F and forward every line to Scribe or HTTP, at least once.",
        epilog=EPILOG,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument(
        "--from", dest="sources", action="append", metavar="PATH[::CATEGORY]", help="file, svlogd dir or glob"
    )
    p.add_argument("--to", metavar="URL", help="scribe://host:port[/category] or http(s)://host/path[?options]")
    p.add_argument("--state", metavar="FILE", required=True, help="where positions are kept (written atomically)")
    p.add_argument(
        "--status-file", metavar="FILE", help="where the running shipper writes its status (default: STATE.status)"
    )
    p.add_argument("--status", action="store_true", help="print the lag per source and the counters, then exit")
    p.add_argument("--keep-prefix", action="store_true", help="send svlogd timestamp prefixes as they are")
    p.add_argument("--batch-lines", type=_positive_int, default=5000, metavar="N", help="lines per batch (5000)")
    p.add_argument("--batch-bytes", type=_positive_int, default=1 << 20, metavar="N", help="bytes per batch (1 MiB)")
    p.add_argument(
        "--max-line",
        type=_positive_int,
        default=1 << 20,
        metavar="N",
        help="longest line sent; a longer one goes out in pieces of N bytes, counted (1 MiB)",
    )
    p.add_argument("--poll", type=_seconds, default=0.2, metavar="S", help="seconds between looks at idle files (0.2)")
    p.add_argument("--rescan", type=_seconds, default=10.0, metavar="S", help="seconds between glob rescans (10)")
    p.add_argument("--max-backoff", type=_seconds, default=30.0, metavar="S", help="longest wait between retries (30)")
    p.add_argument(
        "--allow-foreign-owner",
        action="store_true",
        help="also ship files not owned by the owner of their directory (refused by default)",
    )
    p.add_argument(
        "--allow-hard-links",
        action="store_true",
        help="also ship files with more than one hard link (refused by default)",
    )
    p.add_argument(
        "--stop-timeout",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="exit at the latest this long after SIGTERM (10)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


#: The longest wait a seconds option may ask for (a day): longer ones overflow the timers.
MAX_SECONDS = 86400.0


def _seconds(text: str) -> float:
    """A number of seconds above 0 and at most a day (``inf`` and ``nan`` are numbers to ``float``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0 and at most {MAX_SECONDS:g} seconds")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the shipper (or print its status); errors are one line on stderr and exit 2."""
    status_path = args.status_file or f"{os.path.abspath(args.state)}.status"
    try:
        state = StateFile(args.state)
        if args.status:
            if sys.stdout is None:  # started with file descriptor 1 closed
                raise ValueError("standard output is closed")
            return _print_status(state, status_path)
        if not args.sources or not args.to:
            raise ValueError("--from and --to are required (or --status)")
        for spec in args.sources:
            source_specs(spec)
        directory = os.path.dirname(state.path)
        if not os.path.isdir(directory):
            raise ValueError(f"--state {args.state!r}: directory {directory!r} does not exist")
        state.load()
        from logmagic.tools.ship.destination import open_destination

        destination = open_destination(args.to)
    except (ValueError, StateError) as exc:
        sys.stderr.write(f"logmagic ship: {exc}\n")
        return 2
    options = Options(
        batch_lines=args.batch_lines,
        batch_bytes=args.batch_bytes,
        max_line=args.max_line,
        keep_prefix=args.keep_prefix,
        poll=args.poll,
        rescan=args.rescan,
        max_backoff=args.max_backoff,
        trust=Trust(foreign_owner=args.allow_foreign_owner, hard_links=args.allow_hard_links),
    )
    shipper = Shipper(args.sources, destination, state, status_path, options)
    shipper.install_signals(args.stop_timeout)
    return shipper.run()


def _print_status(state: StateFile, status_path: str) -> int:
    positions = state.load()
    try:
        running: Any = read_json(status_path, "status file") or {}
    except StateError:
        if os.path.islink(status_path):
            raise
        running = {}  # being replaced, or garbled: the saved positions are shown all the same
    if not _is_status(running):
        raise StateError(f"status file {status_path}: not a logmagic ship status")
    alive = _alive(running.get("pid"))
    out = sys.stdout
    if running:
        out.write(
            f"shipper pid {running.get('pid')} ({'running' if alive else 'not running'})"
            f" -> {running.get('destination')}\n"
            f"lines sent {running.get('lines_sent')}, {running.get('lines_per_s')} lines/s, "
            f"retries {running.get('retries')}, dropped {running.get('dropped')}"
            + (f", collector down for {running['collector_down_s']} s" if running.get("collector_down_s") else "")
            + "\n"
        )
    else:
        out.write(f"no status file at {status_path}: showing the saved positions only\n")
    details = {s["source"]: s for s in running.get("sources", [])}
    keys = sorted(set(positions) | set(details))
    if not keys:
        out.write("no sources yet\n")
        return 0
    rows = [("SOURCE", "FILE", "OFFSET", "BYTES BEHIND", "LINES BEHIND", "GAPS")]
    for key in keys:
        pos = positions.get(key)
        behind, lines = open_source(key, "").lag(pos, count_lines=True)
        gaps = details.get(key, {}).get("gaps", "-")
        rows.append((key, pos.name if pos else "-", str(pos.offset if pos else 0), str(behind), str(lines), str(gaps)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    return 0


def _is_status(running: Any) -> bool:
    """Whether a status file's JSON has the shape the shipper writes (another file may be there)."""
    if not isinstance(running, dict):
        return False
    sources = running.get("sources", [])
    return (
        isinstance(sources, list)
        and all(_is_source_status(s) for s in sources)
        and all(_is_number(running.get(k, 0)) for k in _STATUS_NUMBERS)
        and isinstance(running.get("destination", ""), str)
    )


#: The counters of a status file, and of each of its sources: numbers, shown as they are.
_STATUS_NUMBERS = ("pid", "lines_sent", "lines_per_s", "retries", "dropped", "collector_down_s")
_SOURCE_NUMBERS = ("offset", "bytes_behind", "gaps", "oversized", "unterminated", "truncations")


def _is_source_status(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("source"), str)
        and "\0" not in entry["source"]
        and all(_is_number(entry.get(k, 0)) for k in _SOURCE_NUMBERS)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
