"""The ``logmagic`` command.

``logmagic txn ID`` decodes a transaction id: origin host, time (UTC and local), counter,
version and process tag — where to start digging, even when no log line holds the id.
``logmagic ship`` forwards log files to Scribe or HTTP (see ``logmagic.tools.ship``).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from typing import NoReturn

import orjson

from logmagic.tools.version import VersionAction
from logmagic.txn_format import parse_txn_id

EPILOG = """examples:
  logmagic txn .rh-3dT5.h-product-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0
  logmagic txn --json "$(curl -sI https://api.example.com/ | sed -n 's/^X-Response-Id: //Ip' | tr -d '\\r')"
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse prints usage too)
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(2)


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The command line; ``ship`` is left out when ``argv`` runs ``txn``: the shipper loads the
    logging runtime and its network clients, which decoding an id has no use for."""
    parser = _Parser(
        prog="logmagic", description="logmagic host tools", epilog=EPILOG, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    txn = sub.add_parser(
        "txn", help="decode a transaction id", epilog=EPILOG, formatter_class=argparse.RawTextHelpFormatter
    )
    txn.add_argument("txn_id", metavar="ID", help="the id, e.g. from an X-Response-Id header or a 500 page")
    txn.add_argument("--json", action="store_true", help="print the decoded fields as one JSON object")
    if next((arg for arg in argv if not arg.startswith("-")), None) != "txn":
        from logmagic.tools.ship.cli import add_parser

        add_parser(sub)
    return parser


def _txn(txn_id: str, as_json: bool) -> int:
    # The bytes of an argument that is not UTF-8 come as lone surrogates, which orjson and a
    # strict stdout refuse: they are written as escapes (\udcff) from here on.
    txn_id = txn_id.strip().encode("utf-8", "backslashreplace").decode("utf-8")
    try:
        info = parse_txn_id(txn_id)
    except ValueError as exc:
        sys.stderr.write(f"logmagic txn: {exc}\n")
        return 2
    utc = info.time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    try:
        local: datetime.datetime | None = info.time.astimezone()
    except (OverflowError, OSError, ValueError):  # past year 9999 in the local zone: UTC only
        local = None
    if as_json:
        out = {
            "txnId": txn_id,
            "host": info.host,
            "time": utc,
            "time_local": local.isoformat(timespec="milliseconds") if local else None,
            "counter": info.counter,
            "version": info.version,
            "process_tag": info.process_tag,
            "request_tag": info.request_tag,
        }
        sys.stdout.write(orjson.dumps(out).decode() + "\n")
        return 0
    rows = [
        ("origin host", info.host),
        ("time (UTC)", utc),
        ("counter", f"{info.counter} (ids this process had made before this one)"),
        ("version", info.version),
        ("process tag", info.process_tag),
        ("request tag", info.request_tag),
    ]
    if local:
        rows.insert(2, ("time (local)", f"{local.isoformat(timespec='milliseconds')} {local.tzname() or ''}".rstrip()))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        sys.stdout.write(f"{key:<{width}}  {value}\n")
    sys.stdout.write(
        f"\nstart on host {info.host}, in the logs written around {utc}, e.g.:\n"
        f"  gelf-chainsaw --txn '{txn_id}' -r /etc/service/\n"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``logmagic`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(argv).parse_args(argv)
    if args.command == "txn":
        if sys.stdout is None:  # started with file descriptor 1 closed
            sys.stderr.write("logmagic: standard output is closed\n")
            return 2
        return _txn(args.txn_id, args.json)
    if args.command == "ship":
        from logmagic.tools.ship.cli import run

        return run(args)
    _parser(argv).print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
