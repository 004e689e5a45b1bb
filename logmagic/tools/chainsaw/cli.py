"""``gelf-chainsaw``: every line of a request, on one host, in one command."""

from __future__ import annotations

import argparse
import datetime
import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

import orjson

from logmagic.tools.chainsaw import render
from logmagic.tools.chainsaw.inputs import streams_for
from logmagic.tools.chainsaw.query import (
    MISSING,
    Buffer,
    Query,
    QueryError,
    as_text,
    lookup,
    parse_term,
    record_time,
)
from logmagic.tools.logfiles.follow import follow_streams
from logmagic.tools.logfiles.prefix import strip_prefix
from logmagic.tools.logfiles.streams import Stream, blocks
from logmagic.txn_format import parse_txn_id

EPILOG = """query terms (ANDed):
  field=value   equal; * globs (path=/v1/*)            field!=value   not equal (or missing)
  field~regex   regular expression search              field?         present
  field>N  field>=N  field<N  field<=N                 numeric; level takes names: level<=err
  Numbers compare as numbers (status=200 finds 200.0); level=err finds "level":3.
  Names match the field or its GELF form (txnId finds _txnId); dots reach nested fields.

examples:
  gelf-chainsaw --txn .rh-3dT5.h-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0 /etc/service/api/log/main
  gelf-chainsaw level<=err --since 15m -r /etc/service
  gelf-chainsaw facility=myapp.db.* status>=500 -o json app.log.1.gz app.log | jq .
  gelf-chainsaw --count --by _path status=404 /var/log/app.jsonl
  gelf-chainsaw -F level<=warning /etc/service/api/log/main

exit status: 0 when something matched, 1 when nothing did, 2 on errors.
"""

#: What ``--count --by`` shows for records without the field (``-`` may be a value: nginx's).
_MISSING_LABEL = "(missing)"
_RELATIVE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhdw])")  # fullmatch: ``$`` accepts a trailing newline
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
Renderer = Callable[[dict[str, Any], bytes, bytes, float | None], bytes]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"gelf-chainsaw: {message} (see --help)\n")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gelf-chainsaw",
        description="Search GELF/JSON log lines in files, .gz files, svlogd directories and stdin.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("args", nargs="*", metavar="TERM|PATH", help="query terms and paths (no path or -: stdin)")
    p.add_argument("--txn", metavar="ID", help="every record of this transaction, in time order")
    p.add_argument("--since", metavar="TIME", help="ISO 8601, unix seconds, or relative: 15m, 2h, 1d")
    p.add_argument("--until", metavar="TIME", help="same forms as --since")
    p.add_argument("-r", "--recursive", action="store_true", help="walk a tree of service log directories")
    p.add_argument("-F", "--follow", action="store_true", help="keep reading as lines are written (like tail -F)")
    p.add_argument("-o", "--output", choices=("pretty", "json", "raw"), help="default: pretty on a terminal, else json")
    p.add_argument("--fields", metavar="A,B,C", help="print these fields as tab-separated columns")
    p.add_argument("--count", action="store_true", help="print the number of matching records")
    p.add_argument("--by", metavar="FIELD", help="with --count: counts per value of FIELD")
    p.add_argument("--strict", action="store_true", help="a line that is not a JSON object is an error")
    p.add_argument("--show-bad", action="store_true", help="print lines that are not JSON objects on stderr")
    return p


def parse_time(text: str, now: float | None = None) -> float:
    """``--since``/``--until``: ISO 8601 (UTC when no zone), unix seconds, or ``15m`` ago."""
    text = text.strip()
    m = _RELATIVE.fullmatch(text)
    if m:
        return (time.time() if now is None else now) - float(m[1]) * _UNITS[m[2]]
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise QueryError(f"bad time {text!r}: unix seconds must be a finite number")
        return seconds
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("_", "T"))
    except ValueError:
        raise QueryError(f"bad time {text!r}: expected ISO 8601, unix seconds, or 15m / 2h / 1d ago") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def _split_args(args: list[str]) -> tuple[list[str], list[str]]:
    """Query terms and paths: an existing path, ``-``, or anything without an operator is a path."""
    terms, paths = [], []
    for arg in args:
        if arg == "-" or os.path.exists(arg) or not re.search(r"[=~<>]|\?$", arg):
            paths.append(arg)
        else:
            terms.append(arg)
    return terms, paths


class Scan:
    """One run: reads streams, filters, prints, counts."""

    def __init__(self, query: Query, render_line: Renderer | None, opts: argparse.Namespace) -> None:
        self.query = query
        self.render = render_line
        self.opts = opts
        # --strict and --show-bad must see every line that is not JSON: no prefilter then.
        self.prefilter = None if opts.strict or opts.show_bad else query.prefilter()
        self.matched = 0
        self.bad = 0
        self.by: Counter[str | None] = Counter()  # --count --by: None counts records without the field
        self.out = sys.stdout.buffer
        self.collected: list[tuple[float, int, bytes]] = []  # --txn: printed in time order at the end

    def feed(self, buf: Buffer, end: int | None = None) -> None:
        """Process the whole lines in ``buf[:end]`` (all of ``buf`` by default)."""
        if end is None:
            end = len(buf)
        spans = _all_lines(buf, end) if self.prefilter is None else self.prefilter.spans(buf, end)
        loads, matches = orjson.loads, self.query.matches
        with memoryview(buf) as view:  # released on return: the reader may resize its buffer
            for start, stop in spans:
                raw = view[start:stop].tobytes()
                if raw[:1] == b"{":  # no svlogd prefix: the usual case, without a call
                    body, prefix_time = raw, None
                else:
                    body, prefix_time = strip_prefix(raw)
                try:
                    obj = loads(body)
                except orjson.JSONDecodeError:
                    obj = None
                if not isinstance(obj, dict):
                    if raw.strip():  # blank lines are not bad lines
                        self._bad(raw)
                    continue
                if matches(obj, prefix_time):
                    self._hit(obj, raw, body, prefix_time)

    def _bad(self, raw: bytes) -> None:
        self.bad += 1
        if self.opts.strict:
            sys.stderr.write(f"gelf-chainsaw: not a JSON object: {raw[:120]!r}\n")
            raise SystemExit(2)
        if self.opts.show_bad:
            sys.stderr.buffer.write(b"bad: " + raw + b"\n")

    def _hit(self, obj: dict[str, Any], raw: bytes, body: bytes, prefix_time: float | None) -> None:
        self.matched += 1
        if self.opts.count:
            if self.opts.by:
                value = lookup(obj, self.opts.by)
                self.by[None if value is MISSING else as_text(value)] += 1
            return
        assert self.render is not None
        line = self.render(obj, raw, body, prefix_time)
        if self.opts.txn and not self.opts.follow:
            self.collected.append((record_time(obj, prefix_time) or 0.0, len(self.collected), line))
        else:
            self.out.write(line)

    def finish(self) -> None:
        for _, _, line in sorted(self.collected):
            self.out.write(line)
        if self.opts.count:
            if self.opts.by:
                self.out.writelines(render.counts(self.by, _MISSING_LABEL))
            else:
                self.out.write(f"{self.matched}\n".encode())
        self.out.flush()


def _all_lines(buf: Buffer, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of every line in ``buf[:end]``, without the newline."""
    start = 0
    find = buf.find
    while start < end:
        stop = find(b"\n", start, end)
        if stop < 0:
            stop = end
        yield start, stop
        start = stop + 1


def _describe_txn(txn_id: str) -> str | None:
    try:
        info = parse_txn_id(txn_id)
    except ValueError:
        return None
    return f"generated on host {info.host} at {info.time.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}"


def _parse(argv: list[str]) -> argparse.Namespace:
    """Options and terms in any order (a path may follow an option); after ``--``, only
    terms and paths, so a file named ``-x`` can be searched. The intermixed parser does not
    honour ``--`` itself, hence the split here."""
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1 :]
    opts = _parser().parse_intermixed_args(argv)
    opts.args += rest
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gelf-chainsaw`` console script."""
    opts = _parse(sys.argv[1:] if argv is None else list(argv))
    if sys.stdout is None:  # started with file descriptor 1 closed
        sys.stderr.write("gelf-chainsaw: standard output is closed\n")
        return 2
    term_args, paths = _split_args(opts.args)
    try:
        terms = [parse_term(t) for t in term_args]
        if opts.txn is not None:
            opts.txn = opts.txn.strip()  # pasted from a header, it may end in \r
            if not opts.txn:
                raise QueryError("--txn needs an id")
            terms.insert(0, parse_term(f"txnId={opts.txn}"))
        query = Query(
            terms,
            since=parse_time(opts.since) if opts.since else None,
            until=parse_time(opts.until) if opts.until else None,
        )
        if opts.by and not opts.count:
            raise QueryError("--by needs --count")
    except QueryError as exc:
        sys.stderr.write(f"gelf-chainsaw: {exc}\n")
        return 2
    report = _Report()
    streams = streams_for(paths, report, opts.recursive)
    if not streams:  # every path was bad, and said so
        return 2

    tty = sys.stdout.isatty()
    render_line: Renderer | None = None
    if opts.fields:
        render_line = render.Columns([f.strip() for f in opts.fields.split(",") if f.strip()])
    elif not opts.count:
        output = opts.output or ("pretty" if tty else "json")
        if output == "pretty":
            render_line = render.Pretty(tty and not os.environ.get("NO_COLOR"))
        else:
            render_line = render.json_line if output == "json" else render.raw_line

    if opts.txn:
        where = _describe_txn(opts.txn)
        if where:
            sys.stderr.write(f"gelf-chainsaw: txnId {opts.txn} was {where}\n")

    scan = Scan(query, render_line, opts)
    progress = report.progress = _Progress(streams) if sys.stderr.isatty() and not opts.follow else None
    try:
        if opts.follow:
            for _stream, data in follow_streams(streams, report):
                scan.feed(data)
                scan.out.flush()
        else:
            for stream in streams:
                for block in blocks(stream, report):
                    scan.feed(block)
                    if progress is not None:
                        progress.advance(len(block))
                    if stream.is_stdin:
                        scan.out.flush()  # a pipe's lines come out as they come in
        scan.finish()
    except KeyboardInterrupt:
        scan.finish()
    except BrokenPipeError:
        sys.stderr.close()  # the reader (head, less) went away: not an error
        return 0 if scan.matched else 1
    except OSError as exc:
        sys.stderr.write(f"gelf-chainsaw: {exc}\n")
        return 2
    finally:
        if progress is not None:
            progress.done()

    if scan.bad:
        sys.stderr.write(f"gelf-chainsaw: skipped {scan.bad} line(s) that are not JSON objects\n")
    if not scan.matched and opts.txn:
        where = _describe_txn(opts.txn)
        hint = f"; the id says it was {where}: look there" if where else ""
        sys.stderr.write(f"gelf-chainsaw: no record of {opts.txn} here{hint}\n")
    if report.errors:
        return 2
    return 0 if scan.matched else 1


class _Report:
    """Errors that do not stop the run (a file that cannot be read): one line each on stderr.

    Any of them makes the exit status 2 at the end, as with grep.
    """

    def __init__(self) -> None:
        self.progress: _Progress | None = None  # taken off the terminal before a message
        self.errors = 0

    def __call__(self, message: str) -> None:
        self.errors += 1
        if self.progress is not None:
            self.progress.done()
        sys.stderr.write(f"gelf-chainsaw: {message}\n")


class _Progress:
    """After a second of scanning on a terminal: bytes read of the total, on stderr."""

    def __init__(self, streams: list[Stream]) -> None:
        self.total = sum(s.size() for s in streams)
        self.read = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def advance(self, n: int) -> None:
        self.read += n
        now = time.monotonic()
        if now - self.start >= 1.0 and now - self.last >= 0.2:
            self.last = now
            self.shown = True
            pct = f" ({100 * self.read / self.total:.0f}%)" if self.total else ""
            sys.stderr.write(f"\rgelf-chainsaw: {self.read / 1e6:,.0f} MB read{pct}  ")
            sys.stderr.flush()

    def done(self) -> None:
        """Take the progress line off the terminal (it comes back with the next advance)."""
        if self.shown:
            self.shown = False
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


if __name__ == "__main__":
    raise SystemExit(main())
