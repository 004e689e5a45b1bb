"""``gelf-chainsaw``: every line of a request, on one host, in one command."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections.abc import Sequence

from logmagic.tools.chainsaw import render
from logmagic.tools.chainsaw.inputs import streams_for
from logmagic.tools.chainsaw.query import Query, QueryError, parse_term
from logmagic.tools.chainsaw.scan import Scan
from logmagic.tools.logfiles.streams import Stream, regions
from logmagic.tools.version import VersionAction

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:
    from typing import NoReturn

    from logmagic.tools.chainsaw.render import Renderer

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
  cd /etc/service && gelf-chainsaw -r status>=500 --fields timestamp,message,status

exit status: 0 when something matched, 1 when nothing did, 2 on errors.
"""

#: What ``--count --by`` shows for records without the field (``-`` may be a value: nginx's).
_MISSING_LABEL = "(missing)"
#: How ``--with-filename`` names standard input (grep's name for it).
_STDIN_NAME = "(standard input)"
_RELATIVE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhdw])")  # fullmatch: ``$`` accepts a trailing newline
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"gelf-chainsaw: {message} (see --help)\n")
        raise SystemExit(2)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's layout, with the terminal's width looked up as ``shutil.get_terminal_size`` does
    but without importing ``shutil``: argparse makes a formatter for every option it adds, and
    ``shutil`` (with ``bz2``, ``lzma`` and ``fnmatch``) would cost every run some 3 ms."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


def _columns() -> int:
    """The terminal's width: ``$COLUMNS``, else the width of the terminal on stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gelf-chainsaw",
        description="Search GELF/JSON log lines in files, .gz files, svlogd directories and stdin.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    p.add_argument("args", nargs="*", metavar="TERM|PATH", help="query terms and paths (no path or -: stdin)")
    p.add_argument("--txn", metavar="ID", help="every record of this transaction, in time order")
    p.add_argument("--since", metavar="TIME", help="ISO 8601, unix seconds, or relative: 15m, 2h, 1d")
    p.add_argument("--until", metavar="TIME", help="same forms as --since")
    p.add_argument("-r", "--recursive", action="store_true", help="walk a tree of service log directories (no path: .)")
    p.add_argument("-F", "--follow", action="store_true", help="keep reading as lines are written (like tail -F)")
    p.add_argument("-o", "--output", choices=("pretty", "json", "raw"), help="default: pretty on a terminal, else json")
    p.add_argument(
        "--fields", metavar="A,B,C", help="print these fields as tab-separated columns (timestamp:raw: as written)"
    )
    p.add_argument("--count", action="store_true", help="print the number of matching records")
    p.add_argument("--by", metavar="FIELD", help="with --count: counts per value of FIELD")
    p.add_argument(
        "-H",
        "--with-filename",
        dest="with_filename",
        action="store_true",
        default=None,
        help="say where each line came from (default with several paths or -r; -o json: a _source field)",
    )
    p.add_argument("--no-filename", dest="with_filename", action="store_false", help="never say where a line came from")
    p.add_argument("--strict", action="store_true", help="a line that is not a JSON object is an error")
    p.add_argument("--show-bad", action="store_true", help="print lines that are not JSON objects on stderr")
    p.add_argument("--version", action=VersionAction)
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
    import datetime

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


def _describe_txn(txn_id: str) -> str | None:
    from logmagic.txn_format import parse_txn_id

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


def _check_output(opts: argparse.Namespace) -> None:
    """Options that ask for two kinds of output at once are an error, not a silent choice."""
    if opts.fields is not None:
        if opts.output is not None:
            raise QueryError(f"--fields prints tab-separated columns: it cannot be used with -o {opts.output}")
        if opts.count:
            raise QueryError("--fields prints matching records: it cannot be used with --count")
        if not [f for f in opts.fields.split(",") if f.strip()]:
            raise QueryError("--fields needs at least one field name")
    if opts.by and not opts.count:
        raise QueryError("--by needs --count")


def _color() -> bool:
    """Whether a terminal gets colors: not with ``NO_COLOR`` set, nor on a dumb terminal."""
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _renderer(opts: argparse.Namespace, tty: bool, with_source: bool) -> Renderer | None:
    """How a match is printed, or None with ``--count``."""
    if opts.fields is not None:
        return render.Columns([f.strip() for f in opts.fields.split(",") if f.strip()], with_source)
    if opts.count:
        return None
    output = opts.output or ("pretty" if tty else "json")
    if output == "pretty":
        return render.Pretty(tty and _color(), with_source)
    asked = opts.with_filename is True  # json and raw say where a line came from only when asked
    if output == "json":
        return render.json_with_source if asked else render.json_line
    return render.raw_with_source if asked else render.raw_line


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gelf-chainsaw`` console script."""
    opts = _parse(sys.argv[1:] if argv is None else list(argv))
    if sys.stdout is None:  # started with file descriptor 1 closed
        sys.stderr.write("gelf-chainsaw: standard output is closed\n")
        return 2
    term_args, paths = _split_args(opts.args)
    if opts.recursive and not paths:
        paths = ["."]  # as grep -r: the tree here, not stdin
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
        _check_output(opts)
        tty = sys.stdout.isatty()
        with_source = opts.with_filename if opts.with_filename is not None else len(paths) > 1 or opts.recursive
        render_line = _renderer(opts, tty, with_source)
    except QueryError as exc:
        sys.stderr.write(f"gelf-chainsaw: {exc}\n")
        return 2
    report = _Report()
    streams = streams_for(paths, report, opts.recursive)
    if not streams:  # every path was bad, and said so
        return 2

    if opts.txn:
        where = _describe_txn(opts.txn)
        if where:
            sys.stderr.write(f"gelf-chainsaw: txnId {opts.txn} was {where}\n")

    every_line = opts.strict or opts.show_bad  # they must see every line that is not JSON: no prefilter
    scan = Scan(
        query,
        render_line,
        sys.stdout.buffer,
        prefilter=not every_line,
        by=opts.by if opts.count else None,
        order=bool(opts.txn) and not opts.follow,
        bad=_BadLines(opts.strict) if every_line else None,
        needs_time=not (opts.count or render_line in (render.json_line, render.raw_line)),
        line_by_line=tty,
    )
    progress = report.progress = _Progress(streams) if sys.stderr.isatty() and not opts.follow else None
    try:
        if opts.follow:
            from logmagic.tools.logfiles.follow import follow_streams

            for stream, data in follow_streams(streams, report):
                scan.source = _source_name(stream)
                scan.feed(data)
                scan.flush()
        else:
            for stream in streams:
                scan.source = _source_name(stream)
                for buf, end in regions(stream, report):
                    scan.feed(buf, end)
                    if progress is not None:
                        progress.advance(end)
                    if stream.is_stdin:
                        scan.flush()  # a pipe's lines come out as they come in
        _finish(scan, opts)
    except KeyboardInterrupt:
        _finish(scan, opts)
    except _Strict as stop:
        scan.flush()  # what matched before the bad line
        sys.stderr.write(f"gelf-chainsaw: not a JSON object: {stop.line[:120]!r}\n")
        return 2
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


def run() -> NoReturn:
    """The ``gelf-chainsaw`` command: ``main``, then exit without the interpreter's teardown.

    A search is over when its output is written; freeing every module and object the run
    made would cost it some 5 ms more (a tenth of a run over a small file). Output is
    flushed first; gelf-chainsaw registers no exit hook, and files are closed by the system.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a reader gone away, a stream closed: nothing left to say
            pass
    os._exit(code)


def _finish(scan: Scan, opts: argparse.Namespace) -> None:
    """The rest of the output: ``--txn``'s records in time order, or the counts."""
    scan.finish()
    if opts.count:
        if opts.by:
            sys.stdout.buffer.writelines(render.counts(scan.by, _MISSING_LABEL))
        else:
            sys.stdout.buffer.write(f"{scan.matched}\n".encode())
    sys.stdout.buffer.flush()


def _source_name(stream: Stream) -> str:
    """Where a stream's lines come from, as ``--with-filename`` shows it."""
    return _STDIN_NAME if stream.is_stdin else stream.name


class _Strict(Exception):
    """``--strict`` met a line that is not a JSON object."""

    def __init__(self, line: bytes) -> None:
        super().__init__("not a JSON object")
        self.line = line


class _BadLines:
    """``--strict``: the first line that is not a JSON object ends the run (exit 2).
    ``--show-bad``: each such line is printed on stderr."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict

    def __call__(self, raw: bytes) -> None:
        if self.strict:
            raise _Strict(raw)
        sys.stderr.buffer.write(b"bad: " + raw + b"\n")


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
    run()
