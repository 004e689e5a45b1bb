"""gelf-chainsaw as a new user meets it: --version, colors, -r, --fields, times, level names,
where a line came from (-H), and the count of lines that are not JSON."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import CHAINSAW, assert_one_line_error, chainsaw, env_without_color, jl, write_lines
from .test_cli import ERR, INFO, WARN, make_service, run_on_terminal, service_lines, tt_prefix

T = 1795328883.25  # 2026-11-22T06:28:03.250Z


def test_version() -> None:
    result = chainsaw("--version")
    assert (result.code, result.err) == (0, "")
    assert re.fullmatch(rb"gelf-chainsaw \d+\.\d+\S*\n", result.out), result.out


def test_version_of_the_logmagic_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "logmagic.tools.cli", "--version"], capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert re.fullmatch(r"logmagic \d+\.\d+\S*\n", proc.stdout), proc.stdout


# --- colors --------------------------------------------------------------------------------------


def test_a_dumb_terminal_gets_no_color(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [ERR])
    colored = run_on_terminal([str(path)], env_without_color(TERM="xterm"))
    assert b"\x1b[" in colored
    dumb = run_on_terminal([str(path)], env_without_color(TERM="dumb"))
    assert b"disk full" in dumb and b"\x1b" not in dumb


# --- -r ------------------------------------------------------------------------------------------


def test_recursive_without_a_path_searches_here_not_stdin(tmp_path: Path) -> None:
    api = make_service(tmp_path / "api/log/main", "api", *service_lines("api"))
    result = chainsaw("-r", "level<=err", stdin=ERR + b"\n", wrapper=("env", "-C", str(tmp_path)))
    assert result.code == 0, result.err
    assert result.lines == api  # from api/log/main; not the line on stdin
    named = chainsaw("-r", "level<=err", "--fields", "message", wrapper=("env", "-C", str(tmp_path)))
    assert [line.split(b"\t")[0] for line in named.lines] == [b"api/log/main"] * len(api), "named as grep -r names"


# --- --fields -------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["pretty", "json", "raw"])
def test_fields_with_an_output_mode_is_an_error(tmp_path: Path, output: str) -> None:
    path = write_lines(tmp_path / "x.log", [ERR])
    assert_one_line_error(chainsaw("--fields", "message", "-o", output, path), "--fields", f"-o {output}")


def test_fields_with_count_is_an_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [ERR])
    assert_one_line_error(chainsaw("--fields", "message", "--count", path), "--fields", "--count")


def test_fields_timestamp_is_iso_time_and_raw_is_the_value_as_written(tmp_path: Path) -> None:
    lines = [
        jl({"short_message": "a", "timestamp": T}),
        jl({"short_message": "b", "time": "2026-11-23T08:28:03.5+02:00"}),
        tt_prefix(T + 1) + jl({"short_message": "c"}),  # the svlogd prefix's time
        jl({"short_message": "d"}),
    ]
    path = write_lines(tmp_path / "x.log", lines)
    result = chainsaw("--fields", "timestamp,message,timestamp:raw,time:raw", path)
    assert result.code == 0, result.err
    assert [line.decode().split("\t") for line in result.lines] == [
        ["2026-11-22T06:28:03.250Z", "a", str(T), str(T)],
        ["2026-11-23T06:28:03.500Z", "b", "2026-11-23T08:28:03.5+02:00", "2026-11-23T08:28:03.5+02:00"],
        ["2026-11-22T06:28:04.250Z", "c", "-", "-"],
        ["-", "d", "-", "-"],
    ]


def test_an_unknown_column_form_is_an_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [ERR])
    assert_one_line_error(chainsaw("--fields", "timestamp:iso", path), "timestamp:iso", "name:raw")


# --- times ---------------------------------------------------------------------------------------


def test_a_record_without_a_time_is_shown_without_one(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "x.log", [jl({"short_message": "no time", "level": 3}), ERR])
    out = chainsaw("-o", "pretty", path).out.decode().splitlines()
    assert "1970" not in "".join(out)
    assert out[0].split()[:3] == ["ERR", "-", "no"]
    with_time = chainsaw("-o", "pretty", write_lines(tmp_path / "y.log", [jl({"short_message": "t", "timestamp": T})]))
    assert with_time.out.decode().startswith("2026-11-22T06:28:03.250Z ")


# --- level names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["levl<=err", "Level>warn", "lvl<err", "_level<=crit"])
def test_a_name_close_to_level_is_pointed_at_level(term: str) -> None:
    result = chainsaw(term, stdin=INFO + b"\n")
    assert_one_line_error(result, "only level takes level names", "did you mean level")
    name, value = re.split(r"[<>=]+", term)
    op = term[len(name) : len(term) - len(value)]
    assert f"level{op}{value}" in result.err


def test_a_level_name_under_another_field_says_its_number() -> None:
    assert_one_line_error(chainsaw("severity<=err", stdin=INFO + b"\n"), "only level takes level names", "severity<=3")


# --- where a line came from ----------------------------------------------------------------------


def two_files(tmp_path: Path) -> tuple[Path, Path]:
    return write_lines(tmp_path / "a.log", [ERR, INFO]), write_lines(tmp_path / "b.log", [WARN, ERR])


def test_several_paths_name_the_source_in_columns_and_pretty_lines(tmp_path: Path) -> None:
    a, b = two_files(tmp_path)
    columns = chainsaw("--fields", "message", "level<=warn", a, b)
    assert columns.lines == [f"{a}\tdisk full".encode(), f"{b}\tslow".encode(), f"{b}\tdisk full".encode()]
    pretty = chainsaw("-o", "pretty", "level<=err", a, b).out.decode().splitlines()
    assert [line.split(": ", 1)[0] for line in pretty] == [str(a), str(b)]
    assert "disk full" in pretty[0].split(": ", 1)[1]


def test_one_path_names_no_source_unless_asked(tmp_path: Path) -> None:
    a, _ = two_files(tmp_path)
    assert chainsaw("--fields", "message", "level<=err", a).lines == [b"disk full"]
    assert chainsaw("--fields", "message", "-H", "level<=err", a).lines == [f"{a}\tdisk full".encode()]


def test_no_filename_turns_it_off(tmp_path: Path) -> None:
    a, b = two_files(tmp_path)
    assert chainsaw("--fields", "message", "--no-filename", "level<=err", a, b).lines == [b"disk full", b"disk full"]


def test_json_gets_a_source_field_only_when_asked(tmp_path: Path) -> None:
    a, b = two_files(tmp_path)
    plain = chainsaw("level<=err", a, b)
    assert plain.lines == [ERR, ERR], "several paths do not change the JSON"
    asked = chainsaw("-H", "level<=err", a, b)
    assert [r["_source"] for r in asked.records] == [str(a), str(b)]
    assert [{k: v for k, v in r.items() if k != "_source"} for r in asked.records] == plain.records
    empty = chainsaw("-H", write_lines(tmp_path / "c.log", [b"{ }", b'{"a":1}  ']))
    assert empty.lines == [
        f'{{ "_source":"{tmp_path / "c.log"}"}}'.encode(),  # the object's text as written
        f'{{"a":1,"_source":"{tmp_path / "c.log"}"}}'.encode(),
    ]


def test_raw_gets_grep_s_prefix_only_when_asked(tmp_path: Path) -> None:
    a, b = two_files(tmp_path)
    assert chainsaw("-o", "raw", "level<=err", a, b).lines == [ERR, ERR]
    assert chainsaw("-o", "raw", "-H", "level<=err", a, b).lines == [f"{a}:".encode() + ERR, f"{b}:".encode() + ERR]


def test_stdin_is_named_as_grep_names_it(tmp_path: Path) -> None:
    a, _ = two_files(tmp_path)
    result = chainsaw("--fields", "message", "level<=err", a, "-", stdin=ERR + b"\n")
    assert result.lines == [f"{a}\tdisk full".encode(), b"(standard input)\tdisk full"]


def test_the_service_directory_is_the_source(tmp_path: Path) -> None:
    make_service(tmp_path / "api/log/main", "api", *service_lines("api"))
    make_service(tmp_path / "db/log/main", "db", *service_lines("db"))
    result = chainsaw(
        "--fields", "message", "level<=err", "api/log/main", "db/log/main", wrapper=("env", "-C", str(tmp_path))
    )
    assert {line.split(b"\t")[0] for line in result.lines} == {b"api/log/main", b"db/log/main"}


def test_a_source_name_is_escaped_for_the_terminal(tmp_path: Path) -> None:
    hostile = tmp_path / "a\x1b[2Jb.log"
    write_lines(hostile, [ERR])
    other = write_lines(tmp_path / "other.log", [INFO])
    result = chainsaw("--fields", "message", hostile, other)
    assert b"\x1b" not in result.out and b"\\x1b[2Jb.log\tdisk full" in result.out


# --- lines that are not JSON ---------------------------------------------------------------------


def test_lines_the_prefilter_skips_are_still_counted_as_not_json(tmp_path: Path) -> None:
    """A search by txnId parses only the lines holding the id; the others that are not JSON
    (here: text and a time prefix followed by text) are counted all the same."""
    txn = ".rh-3dT5.h-api0.r-pVDF7IRM.c-0.ts-1324936588828.v-062c3d0"
    hit = jl({"_txnId": txn, "short_message": "hit"})
    lines = [b"plain text", INFO, tt_prefix(T) + b"Fatal Python error", hit, b"", b"   ", tt_prefix(T) + ERR]
    result = chainsaw("--txn", txn, write_lines(tmp_path / "x.log", lines))
    assert (result.code, result.lines) == (0, [hit])
    assert result.err_lines[-1] == "gelf-chainsaw: skipped 2 line(s) that are not JSON objects"
    count = chainsaw("--count", "level<=err", write_lines(tmp_path / "y.log", lines))
    assert count.lines == [b"1"] and count.err_lines == ["gelf-chainsaw: skipped 2 line(s) that are not JSON objects"]


def test_the_command_exits_without_waiting_for_the_interpreter_s_teardown(tmp_path: Path) -> None:
    """``run`` flushes and leaves with os._exit: all the output is there, and the exit status."""
    path = write_lines(tmp_path / "x.log", [ERR] * 50_000)
    proc = subprocess.run([*CHAINSAW, "level<=err", path], capture_output=True, env=env_without_color())
    assert proc.returncode == 0 and proc.stdout == (ERR + b"\n") * 50_000
    nothing = subprocess.run([*CHAINSAW, "level<=crit", path], capture_output=True, env=env_without_color())
    assert (nothing.returncode, nothing.stdout) == (1, b"")
