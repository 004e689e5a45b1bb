"""The gelf-chainsaw command as a user runs it: inputs, exit codes, errors, --txn, output modes."""

from __future__ import annotations

import datetime
import gzip
import json
import os
import pty
import shutil
import subprocess
import tty
from pathlib import Path

import pytest

from .helpers import (
    CHAINSAW,
    CONTROL,
    Result,
    assert_one_line_error,
    chainsaw,
    env_without_color,
    jl,
    unprivileged,
    write_lines,
)

ERR = jl({"version": "1.1", "short_message": "disk full", "level": 3, "_facility": "app.db"})
WARN = jl({"version": "1.1", "short_message": "slow", "level": 4, "_facility": "app.db"})
INFO = jl({"version": "1.1", "short_message": "ok", "level": 6, "_facility": "app.web"})


def tt_prefix(when: float) -> bytes:
    """svlogd -tt's prefix for ``when``: ``2026-11-22_06:28:03.46035 ``."""
    stamp = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y-%m-%d_%H:%M:%S.%f")
    return stamp[:-1].encode() + b" "


# --- input ----------------------------------------------------------------------------------


def test_gz_and_plain_files_in_argument_order(tmp_path: Path) -> None:
    older = tmp_path / "app.log.1.gz"
    with gzip.open(older, "wb") as f:
        f.write(b"".join(line + b"\n" for line in (ERR, INFO, WARN)))
    newer = write_lines(tmp_path / "app.log", [INFO, WARN, ERR])
    result = chainsaw("level<=warning", older, newer)
    assert result.code == 0
    assert result.lines == [ERR, WARN, WARN, ERR]
    assert result.err == ""


def test_reads_stdin_with_no_path_or_dash(tmp_path: Path) -> None:
    data = b"".join(line + b"\n" for line in (INFO, ERR, WARN))
    assert chainsaw("level<=err", stdin=data).lines == [ERR]
    assert chainsaw("-", "level<=err", stdin=data).lines == [ERR]
    assert chainsaw(stdin=data).lines == [INFO, ERR, WARN]
    file = write_lines(tmp_path / "x.log", [WARN])
    assert chainsaw(file, "-", "level<=warn", stdin=data).lines == [WARN, ERR, WARN]


def test_a_last_line_without_newline_is_read(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(INFO + b"\n" + ERR)
    assert chainsaw("level<=err", path).lines == [ERR]


def make_service(log_dir: Path, name: str, rotated: list[bytes], current: list[bytes]) -> list[bytes]:
    log_dir.mkdir(parents=True)
    if rotated:
        write_lines(log_dir / "@400000006b0398b4000000a0.s", rotated)
    write_lines(log_dir / "current", current)
    (log_dir / "lock").write_bytes(b"")
    (log_dir / "config").write_text("s4000\n")
    return [line for line in rotated + current if b'"level":3' in line]


def service_lines(name: str) -> tuple[list[bytes], list[bytes]]:
    def rec(i: int, level: int) -> bytes:
        return jl({"short_message": f"{name} {i}", "level": level, "_facility": name})

    return [rec(1, 3), rec(2, 6)], [rec(3, 6), rec(4, 3), rec(5, 3)]


def test_recursive_walks_a_tree_of_service_log_dirs(tmp_path: Path) -> None:
    api = make_service(tmp_path / "service/api/log/main", "api", *service_lines("api"))
    db = make_service(tmp_path / "service/db/log/main", "db", *service_lines("db"))
    (tmp_path / "service/api/run").write_text("#!/bin/sh\n")
    (tmp_path / "service/docs").mkdir()
    write_lines(tmp_path / "service/docs/notes.log", [ERR])  # not an svlogd directory: not read
    result = chainsaw("-r", "level<=err", tmp_path / "service")
    assert result.code == 0, result.err
    assert sorted(result.lines) == sorted(api + db)
    assert [line for line in result.lines if b"api" in line] == api
    assert [line for line in result.lines if b"db" in line] == db


def test_recursive_follows_runit_service_symlinks(tmp_path: Path) -> None:
    """runit's /etc/service holds symlinks to /etc/sv/<name>: ``-r /etc/service`` must see them."""
    api = make_service(tmp_path / "sv/api/log/main", "api", *service_lines("api"))
    db = make_service(tmp_path / "sv/db/log/main", "db", *service_lines("db"))
    service = tmp_path / "service"
    service.mkdir()
    (service / "api").symlink_to("../sv/api")
    (service / "db").symlink_to("../sv/db")
    (service / "loop").symlink_to(".")  # a cycle must not be walked forever, nor read twice
    result = chainsaw("-r", "level<=err", service)
    assert result.code == 0, result.err
    assert sorted(result.lines) == sorted(api + db)


def test_recursive_reports_a_directory_it_cannot_enter_and_goes_on(tmp_path: Path) -> None:
    """runit's ``supervise/`` directories are mode 700: ``-r`` as another user names each one."""
    api = make_service(tmp_path / "service/api/log/main", "api", *service_lines("api"))
    db = make_service(tmp_path / "service/db/log/main", "db", *service_lines("db"))
    locked = [tmp_path / "service/api/supervise", tmp_path / "service/api/log/supervise"]
    for path in locked:
        path.mkdir()
        path.chmod(0)
    result = chainsaw("-r", "level<=err", tmp_path / "service", wrapper=unprivileged())
    assert result.code == 2
    assert sorted(result.lines) == sorted(api + db)
    assert sorted(result.err_lines) == sorted(f"gelf-chainsaw: {path}: Permission denied" for path in locked)


def test_recursive_walks_a_very_deep_tree(tmp_path: Path) -> None:
    levels = [tmp_path / "d"]
    for _ in range(1199):
        levels.append(levels[-1] / "d")
    try:
        for level in levels:  # one at a time: mkdir(parents=True) recurses too
            level.mkdir()
        api = make_service(levels[-1] / "main", "api", *service_lines("api"))
        result = chainsaw("-r", "level<=err", levels[0])
        assert (result.code, result.lines, result.err) == (0, api, "")
    finally:  # bottom up: pytest's clean-up of tmp_path recurses and would fail on this tree
        shutil.rmtree(levels[-1] / "main", ignore_errors=True)
        for level in reversed(levels):
            if level.exists():
                level.rmdir()


def test_a_directory_without_r_is_one_svlogd_stream(tmp_path: Path) -> None:
    api = make_service(tmp_path / "main", "api", *service_lines("api"))
    result = chainsaw("level<=err", tmp_path / "main")
    assert result.lines == api


def test_default_output_when_piped_is_json(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [tt_prefix(1795328883.5) + ERR])
    assert chainsaw("level<=err", path).lines == [ERR]


BAD_LINES = [b"plain text", b"[1, 2]", b'"a string"', b"42", b'{"broken": ', b"null", b"{'single': 1}"]


def test_lines_that_are_not_json_objects_are_counted_on_one_line(tmp_path: Path) -> None:
    lines = [INFO, *BAD_LINES[:3], ERR, *BAD_LINES[3:], WARN]
    result = chainsaw(write_lines(tmp_path / "x.log", lines))
    assert result.code == 0
    assert result.lines == [INFO, ERR, WARN]
    assert len(result.err_lines) == 1
    assert str(len(BAD_LINES)) in result.err_lines[0].split()


def test_show_bad_prints_them_on_stderr(tmp_path: Path) -> None:
    prefixed = tt_prefix(1795328883.0) + b"not json either"
    lines = [INFO, *BAD_LINES, prefixed, ERR]
    result = chainsaw("--show-bad", write_lines(tmp_path / "x.log", lines))
    assert result.lines == [INFO, ERR]
    bad = [line for line in result.err_lines if line.startswith("bad: ")]
    assert bad == [f"bad: {line.decode()}" for line in [*BAD_LINES, prefixed]]


def test_strict_makes_a_bad_line_an_error(tmp_path: Path) -> None:
    result = chainsaw("--strict", write_lines(tmp_path / "x.log", [ERR, b"plain text", INFO]))
    assert result.code == 2
    assert len(result.err_lines) == 1
    assert "plain text" in result.err


@pytest.mark.parametrize("flag", ["--strict", "--show-bad"])
def test_strict_and_show_bad_see_every_bad_line_even_with_a_query(tmp_path: Path, flag: str) -> None:
    path = write_lines(tmp_path / "x.log", [b"plain text", ERR])
    result = chainsaw(flag, "level<=err", path)
    if flag == "--strict":
        assert result.code == 2, "a line that is not a JSON object is an error under --strict"
    else:
        assert "bad: plain text" in result.err_lines


# --- exit codes and one-line errors -----------------------------------------------------------


def test_exit_1_when_nothing_matched(tmp_path: Path) -> None:
    result = chainsaw("level<=err", write_lines(tmp_path / "x.log", [INFO, WARN]))
    assert (result.code, result.out, result.err) == (1, b"", "")


def test_missing_file(tmp_path: Path) -> None:
    assert_one_line_error(chainsaw("level<=err", tmp_path / "nope.log"), "nope.log")


def test_a_missing_path_is_reported_and_the_others_are_searched(tmp_path: Path) -> None:
    """Like grep: each bad path in one line, the others searched, exit 2 at the end."""
    first = write_lines(tmp_path / "a.log", [INFO, ERR])
    second = write_lines(tmp_path / "b.log", [WARN, ERR])
    result = chainsaw("level<=err", first, tmp_path / "nosuch.log", second, tmp_path / "gone")
    assert result.code == 2
    assert result.lines == [ERR, ERR]
    assert result.err_lines == [
        f"gelf-chainsaw: {tmp_path / 'nosuch.log'}: no such file or directory",
        f"gelf-chainsaw: {tmp_path / 'gone'}: no such file or directory",
    ]


def test_no_readable_path_at_all(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = chainsaw("level<=err", tmp_path / "nosuch.log", tmp_path / "empty")
    assert (result.code, result.out) == (2, b"")
    assert len(result.err_lines) == 2 and "Traceback" not in result.err


def test_directory_without_log_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi\n")
    assert_one_line_error(chainsaw(tmp_path), str(tmp_path))
    assert_one_line_error(chainsaw("-r", tmp_path), str(tmp_path))


@pytest.mark.parametrize("args", [["--bogus"], ["-o", "yaml"], ["--count", "--by"], ["-x"]])
def test_bad_flags(args: list[str]) -> None:
    assert_one_line_error(chainsaw(*args, stdin=INFO + b"\n"))


@pytest.mark.parametrize(
    "term",
    [
        "=x",
        "!=x",
        "~x",
        ">3",
        "?",
        "status>abc",
        "status>=abc",
        "status<abc",
        "status<=abc",
        "level<=bogus",
        "level>trace9",
        "a b=c",
    ],
)
def test_bad_query_terms(term: str) -> None:
    assert_one_line_error(chainsaw(term, stdin=INFO + b"\n"), term)


def test_numeric_comparisons_take_only_json_numbers(tmp_path: Path) -> None:
    """Text compares as a number only when it is written as a JSON number."""
    values: list[object] = ["1_000", "Infinity", "NaN", " 7 ", "7\n", "0x10", "+9", "1e3", "-7", 6, 7.5, "9.0"]
    lines = [jl({"x": v}) for v in values]
    result = chainsaw("x>5", write_lines(tmp_path / "x.log", lines))
    assert result.records == [{"x": "1e3"}, {"x": 6}, {"x": 7.5}, {"x": "9.0"}]


@pytest.mark.parametrize("term", ["x>nan", "x>1_0", "x<Infinity", "x>= 5", "x<=+5", "x>0x10", "level<=3_0"])
def test_a_bound_that_is_not_a_json_number(term: str) -> None:
    assert_one_line_error(chainsaw(term, stdin=INFO + b"\n"), term)


@pytest.mark.parametrize("term", ["msg~(", "msg~[a-", "msg~*x"])
def test_bad_regex(term: str) -> None:
    assert_one_line_error(chainsaw(term, stdin=INFO + b"\n"), term)


@pytest.mark.parametrize(
    ("term", "says"),
    [("x~a{99999999999}", "repetition number is too large"), ("x~" + "(" * 1000 + ")" * 1000, "too deeply nested")],
)
def test_a_regex_too_big_to_compile(term: str, says: str) -> None:
    assert_one_line_error(chainsaw(term, stdin=INFO + b"\n"), "bad regular expression", says)


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "yesterday"],
        ["--until", "5x"],
        ["--since", "2026-13-45"],
        ["--since", "nan"],  # would compare false with every time, so match every record
        ["--until", "inf"],
        ["--since=-inf"],
    ],
)
def test_bad_time(args: list[str]) -> None:
    assert_one_line_error(chainsaw(*args, stdin=INFO + b"\n"), args[-1].split("=")[-1])


def test_by_needs_count() -> None:
    assert_one_line_error(chainsaw("--by", "status", stdin=INFO + b"\n"), "--by")


def test_after_a_double_dash_a_name_starting_with_a_dash_is_a_path(tmp_path: Path) -> None:
    (tmp_path / "-o.log").write_bytes(INFO + b"\n")
    in_dir = ("env", "-C", str(tmp_path))
    found = chainsaw("level=6", "-o", "json", "--", "-o.log", wrapper=in_dir)
    assert (found.code, found.out) == (0, INFO + b"\n")
    # Without the double dash it is the option, and its value is wrong: one line, exit 2.
    assert_one_line_error(chainsaw("level=6", "-o.log", wrapper=in_dir), "-o/--output")


def test_the_content_decides_whether_a_file_is_gzip_not_its_name(tmp_path: Path) -> None:
    """Like ``zgrep``: svlogd's ``!gzip`` processor writes gzip under the name ``@….s``."""
    named_gz = write_lines(tmp_path / "app.log.gz", [ERR])
    packed = tmp_path / "@400000006b0398b400000001.s"
    packed.write_bytes(gzip.compress(INFO + b"\n"))
    result = chainsaw("-o", "json", named_gz, packed)
    assert (result.code, result.lines) == (0, [ERR, INFO])


def test_a_path_may_follow_an_option(tmp_path: Path) -> None:
    """Terms, options and paths in any order: ``gelf-chainsaw level<=3 -o json /var/log/x``."""
    path = write_lines(tmp_path / "x.log", [b"2026-11-22_06:28:03.46035 " + ERR, INFO])
    result = chainsaw("level<=3", "-o", "json", path)
    assert (result.code, result.lines) == (0, [ERR])
    assert chainsaw("-o", "raw", "level<=3", "--count", path).lines == [b"1"]
    assert chainsaw("--fields", "message", path, "level<=err").lines == [b"disk full"]


def test_a_truncated_gz_file(tmp_path: Path) -> None:
    path = tmp_path / "app.log.1.gz"
    whole = gzip.compress(b"".join(jl({"i": i, "level": 3, "pad": "x" * i}) + b"\n" for i in range(2000)))
    path.write_bytes(whole[: len(whole) // 2])  # logrotate was still compressing it
    result = chainsaw("level<=err", path)
    assert result.code == 2
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1, result.err


def test_a_truncated_gz_file_is_named_and_the_other_files_are_read(tmp_path: Path) -> None:
    broken = tmp_path / "app.log.2.gz"
    whole = gzip.compress(b"".join(jl({"i": i, "level": 6, "pad": "x" * i}) + b"\n" for i in range(2000)))
    broken.write_bytes(whole[: len(whole) // 2])
    newer = write_lines(tmp_path / "app.log", [INFO, ERR])
    result = chainsaw("level<=err", broken, newer)
    assert result.code == 2
    assert result.lines == [ERR]
    assert len(result.err_lines) == 1, result.err
    assert str(broken) in result.err and "Traceback" not in result.err


# --- --txn ------------------------------------------------------------------------------------

TXN = ".rh-3dT5.h-api0.example.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0"
OTHER = ".rh-3dT5.h-api0.example.r-ZZZZZZZZ.c-1.ts-1324936588900.v-062c3d0"
T0 = 1324936588.828  # the id's own time


def test_txn_collects_records_from_several_files_in_time_order(tmp_path: Path) -> None:
    svc = tmp_path / "api"
    svc.mkdir()
    write_lines(
        svc / "current",
        [
            tt_prefix(T0 + 2) + jl({"short_message": "s2", "_txnId": TXN, "timestamp": T0 + 2, "level": 6}),
            tt_prefix(T0 + 3) + jl({"short_message": "other", "_txnId": OTHER, "timestamp": T0 + 3}),
            tt_prefix(T0 + 4) + jl({"short_message": "s4 (prefix time)", "_txnId": TXN, "level": 3}),
            tt_prefix(T0 + 5) + jl({"short_message": "s5", "_txnId": TXN, "timestamp": T0 + 5}),
        ],
    )
    worker = write_lines(
        tmp_path / "worker.log",
        [
            jl({"message": "s6", "txnId": TXN, "timestamp": T0 + 6}),
            jl({"message": "s1", "txnId": TXN, "timestamp": T0 + 1}),
        ],
    )
    with gzip.open(tmp_path / "db.log.gz", "wb") as f:
        f.write(jl({"msg": "other", "txnId": OTHER, "timestamp": T0}) + b"\n")
        f.write(jl({"msg": "s3", "_txnId": TXN, "timestamp": T0 + 3.5}) + b"\n")
    result = chainsaw("--txn", TXN, svc, worker, tmp_path / "db.log.gz")
    assert result.code == 0, result.err
    messages = [r.get("short_message") or r.get("message") or r.get("msg") for r in result.records]
    assert messages == ["s1", "s2", "s3", "s4 (prefix time)", "s5", "s6"]


@pytest.mark.parametrize(
    ("txn", "host", "when"),
    [
        (TXN, "api0.example", "2011-12-26T21:56:28.828"),
        (
            ".rh-g2Tm.h-ord1.product.api0.r-axAIO3bO.c-9210.ts-1324830675.v-24e946e",
            "ord1.product.api0",
            "2011-12-25T16:31:15",
        ),
    ],
)
def test_txn_says_where_the_id_was_made(tmp_path: Path, txn: str, host: str, when: str) -> None:
    path = write_lines(tmp_path / "x.log", [jl({"_txnId": txn, "short_message": "hit"}), INFO])
    result = chainsaw("--txn", txn, path)
    assert result.code == 0
    assert len(result.lines) == 1
    assert len(result.err_lines) == 1
    assert host in result.err and when in result.err


def test_txn_without_a_match_says_where_to_look(tmp_path: Path) -> None:
    txn = ".rh-Zz99.h-web7.r-AAAAAAAA.c-3.ts-1700000000000.v-1"
    result = chainsaw("--txn", txn, write_lines(tmp_path / "x.log", [ERR, INFO]))
    assert (result.code, result.out) == (1, b"")
    last = result.err_lines[-1]
    assert txn in last and "web7" in last and "2023-11-14T22:13:20" in last


@pytest.mark.parametrize("pasted", [TXN + "\r", f"  {TXN}\n", f"\t{TXN} "])
def test_txn_with_surrounding_whitespace(tmp_path: Path, pasted: str) -> None:
    r"""An id copied from a header ends in ``\r``; it is the id that is searched, and named."""
    hit = jl({"_txnId": TXN, "short_message": "hit"})
    result = chainsaw("--txn", pasted, write_lines(tmp_path / "x.log", [hit, INFO]))
    assert (result.code, result.lines) == (0, [hit])
    assert result.err_lines == [
        f"gelf-chainsaw: txnId {TXN} was generated on host api0.example at 2011-12-26T21:56:28.828Z"
    ]
    missing = chainsaw("--txn", pasted, write_lines(tmp_path / "y.log", [INFO]))
    assert missing.code == 1 and f"no record of {TXN} here;" in missing.err_lines[-1]


def test_a_blank_txn_id_is_an_error() -> None:
    assert_one_line_error(chainsaw("--txn", " \r", stdin=INFO + b"\n"), "--txn")


def test_an_opaque_txn_id_is_searched_as_is(tmp_path: Path) -> None:
    uuid = "3f2b8c1e-9a7d-4c1b-8e2f-0123456789ab"
    lines = [
        jl({"_txnId": uuid, "short_message": "b", "timestamp": 20.0}),
        jl({"_txnId": uuid[:-1] + "c", "short_message": "other"}),
        jl({"txnId": uuid, "short_message": "a", "timestamp": 10.0}),
    ]
    path = write_lines(tmp_path / "x.log", lines)
    result = chainsaw("--txn", uuid, path)
    assert result.code == 0
    assert result.lines == [lines[2], lines[0]]
    assert result.err == ""
    missing = chainsaw("--txn", "00000000-0000-4000-8000-000000000000", path)
    assert missing.code == 1
    assert len(missing.err_lines) == 1
    assert "00000000-0000-4000-8000-000000000000" in missing.err and "generated" not in missing.err


# --- output ---------------------------------------------------------------------------------

HOSTILE = jl(
    {
        "version": "1.1",
        "short_message": "alert\x07bell \x1b]0;owned\x07 back\rover \x1b[2Jclear",
        "full_message": "Traceback (most recent call last):\n\tframe \x1b[31mred\x1b[0m\r\n",
        "level": 3,
        "timestamp": 1795328883.5,
        "_facility": "app\x1bdb",
        "_user\x1b[1m": "value\x08\x7f\x9b31m",
        "_tab": "a\tb",
    }
)


def test_pretty_escapes_control_characters_from_the_data(tmp_path: Path) -> None:
    result = chainsaw("-o", "pretty", write_lines(tmp_path / "x.log", [HOSTILE, INFO]))
    assert result.code == 0
    assert not set(result.out) & (CONTROL - {0x09, 0x0A}), result.out
    text = result.out.decode()
    assert "\x9b" not in text  # C1 CSI
    for visible in ("alert", "bell", "owned", "over", "clear", "frame", "red", "value"):
        assert visible in text
    head = text.splitlines()[0]
    assert "\t" not in head  # the tab in a field value is data, not layout
    assert not text.lstrip().startswith("{")


def test_pretty_reads_the_level_as_queries_do(tmp_path: Path) -> None:
    levels: list[object] = [3, 3.0, "3", "err", "ERROR", 4.0, "4", 6, "bogus"]
    lines = [jl({"level": v, "short_message": f"m{i}", "timestamp": 1.0}) for i, v in enumerate(levels)]
    result = chainsaw("-o", "pretty", write_lines(tmp_path / "x.log", lines))
    shown = [line.split()[1] for line in result.out.decode().splitlines()]
    assert shown == ["ERR", "ERR", "ERR", "ERR", "ERR", "WARNING", "WARNING", "INFO", "INFO"]
    assert chainsaw("--count", "level<=err", tmp_path / "x.log").lines == [b"5"]


def test_iso_8601_timestamps_are_the_record_time(tmp_path: Path) -> None:
    """structlog writes ISO 8601 text: it is shown, and --since/--until compare it."""
    stamps = [
        "2026-11-23T10:00:00Z",
        "2026-11-23T12:00:01.5+02:00",
        "2026-11-23T10:00:02.123456",
        "2026-11-23 06:00:03-0400",
        "2026-11-23T11:00:00Z",
    ]
    lines = [jl({"timestamp": t, "short_message": f"m{i}", "level": 6}) for i, t in enumerate(stamps)]
    path = write_lines(tmp_path / "x.log", lines)
    pretty = chainsaw("-o", "pretty", path).out.decode().splitlines()
    assert [line.split()[0] for line in pretty] == [
        "2026-11-23T10:00:00.000Z",
        "2026-11-23T10:00:01.500Z",
        "2026-11-23T10:00:02.123Z",
        "2026-11-23T10:00:03.000Z",
        "2026-11-23T11:00:00.000Z",
    ]
    window = chainsaw("--since", "2026-11-23T10:00:00.5Z", "--until", "2026-11-23T10:30:00Z", path)
    assert [r["short_message"] for r in window.records] == ["m1", "m2", "m3"]


def test_a_time_out_of_range_is_no_time(tmp_path: Path) -> None:
    """Nanoseconds since the epoch are no date: the record is shown, without its time."""
    lines = [jl({"timestamp": 1.7e18, "short_message": "ns", "level": 6}), jl({"time": "9999-99-99T00:00:00Z"})]
    path = write_lines(tmp_path / "x.log", lines)
    result = chainsaw("-o", "pretty", path)
    assert result.code == 0
    assert "unprintable" not in result.out.decode() and "ns" in result.lines[0].decode()
    assert chainsaw("--since", "2000-01-01", path).code == 1


def run_on_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """stdout of the command on a pseudo-terminal (raw mode: bytes as written)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen([*CHAINSAW, *args], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            block = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not block:
            break
        out += block
    os.close(master)
    proc.wait(timeout=30)
    assert proc.stderr is not None
    proc.stderr.close()
    return out


def test_on_a_terminal_the_default_is_pretty_with_colors(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [HOSTILE])
    out = run_on_terminal([str(path)], env_without_color())
    assert b"\x1b[" in out  # the level's color
    assert b"\x07" not in out and b"\x1b]" not in out and b"\x1b[2J" not in out and b"\r" not in out
    assert b"alert" in out and not out.startswith(b"{")


def test_no_color_is_respected(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [HOSTILE])
    out = run_on_terminal([str(path)], env_without_color(NO_COLOR="1"))
    assert b"alert" in out
    assert not set(out) & (CONTROL - {0x09, 0x0A})


def test_json_strips_the_svlogd_prefix_and_raw_keeps_it(tmp_path: Path) -> None:
    lines = [
        b"2026-11-22_06:28:03.46035 " + ERR,
        b"@400000006b0398b411646674 " + WARN,
        b"2026-11-22T06:28:03.46035 " + INFO,
        ERR,
    ]
    path = write_lines(tmp_path / "x.log", lines)
    assert chainsaw("-o", "json", path).lines == [ERR, WARN, INFO, ERR]
    assert chainsaw("-o", "raw", path).lines == lines
    assert chainsaw("-o", "raw", "level<=err", path).lines == [lines[0], lines[3]]


def test_fields_prints_tab_separated_columns(tmp_path: Path) -> None:
    lines = [
        jl({"short_message": "hi\tthere", "_txnId": "t1", "_status": 200, "_req_method": "GET", "level": 3}),
        jl({"message": "x", "txnId": "t2", "status": 404, "req": {"method": "POST"}, "level": 3}),
        jl({"msg": "y", "level": 6}),
    ]
    path = write_lines(tmp_path / "x.log", lines)
    result = chainsaw("--fields", "message,txnId,status,req.method,nope", "level<=err", path)
    assert result.code == 0
    rows = [line.decode().split("\t") for line in result.lines]
    assert [row[1:] for row in rows] == [["t1", "200", "GET", "-"], ["t2", "404", "POST", "-"]]
    assert rows[0][0].startswith("hi") and rows[0][0].endswith("there")
    assert rows[1][0] == "x"


def test_count(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [ERR, INFO, ERR, WARN, b"junk"])
    assert chainsaw("--count", "level<=warn", path).out == b"3\n"
    zero = chainsaw("--count", "level<=crit", path)
    assert (zero.code, zero.out) == (1, b"0\n")


def test_count_by_a_field_most_common_first(tmp_path: Path) -> None:
    statuses = [404, 500, 500, 200, 500, 404, None, 500, 404, 500]
    lines = [jl({"_status": s, "level": 6}) if s is not None else jl({"level": 6}) for s in statuses]
    lines.append(jl({"status": 200, "level": 3}))
    result = chainsaw("--count", "--by", "status", write_lines(tmp_path / "x.log", lines))
    assert result.code == 0
    assert result.lines == [b"5\t500", b"3\t404", b"2\t200", b"1\t(missing)"]
    by_level = chainsaw("--count", "--by", "level", "status>=404", write_lines(tmp_path / "y.log", lines))
    assert by_level.lines == [b"8\t6"]


def test_count_by_escapes_values_and_tells_a_missing_field_from_a_dash(tmp_path: Path) -> None:
    values: list[object] = ["a\nb", "\x1b[31mred", "x\ty", "-", None, "-", "caf\u00e9", {"k": "\r"}]
    lines = [jl({"p": v}) if v is not None else jl({"q": 1}) for v in values]
    result = chainsaw("--count", "--by", "p", write_lines(tmp_path / "x.log", lines))
    assert result.code == 0
    assert result.out.decode().splitlines() == [
        "2\t-",
        "1\ta\\nb",
        "1\t\\x1b[31mred",
        "1\tx\\ty",
        "1\t(missing)",
        "1\tcaf\u00e9",
        '1\t{"k":"\\r"}',
    ]
    assert not CONTROL.intersection(result.out.replace(b"\t", b"").replace(b"\n", b""))


def test_json_output_is_each_matching_object(tmp_path: Path) -> None:
    records = [{"level": i % 8, "i": i, "s": 'é"\\\n'} for i in range(50)]
    path = write_lines(tmp_path / "x.log", [json.dumps(r).encode() for r in records])
    assert chainsaw("level<=err", path).records == [r for r in records if r["level"] <= 3]


def closed(fd: str, *args: str | Path) -> Result:
    """Run the command with stdin (``<&-``) or stdout (``>&-``) closed, as a shell can."""
    proc = subprocess.run(
        ["sh", "-c", f'exec "$@" {fd}', "sh", *CHAINSAW, *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env_without_color(),
        timeout=30,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr.decode())


def test_closed_stdin_or_stdout_is_one_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [ERR])
    assert_one_line_error(closed("<&-", "level<=err"), "standard input is closed")
    assert_one_line_error(closed(">&-", "level<=err", path), "standard output is closed")
    # a closed stdin among readable paths is one more bad path
    result = closed("<&-", "level<=err", path, "-")
    assert (result.code, result.lines) == (2, [ERR])
    assert result.err_lines == ["gelf-chainsaw: standard input is closed"]
