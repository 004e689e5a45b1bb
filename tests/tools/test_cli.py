"""The logmagic command."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

ROW = re.compile(r"^(\S.*?)\s{2,}(.+)$")
ARTICLE = ".rh-g2Tm.h-ord1.product.api0.r-axAIO3bO.c-9210.ts-1324830675.v-24e946e"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "logmagic.tools.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)


def test_txn_prints_where_to_start_digging() -> None:
    proc = run("txn", ARTICLE)
    assert proc.returncode == 0
    rows = dict(m.groups() for m in map(ROW.match, proc.stdout.splitlines()) if m)
    assert rows["origin host"] == "ord1.product.api0"
    assert rows["time (UTC)"] == "2011-12-25T16:31:15.000Z"
    assert rows["counter"].startswith("9210")
    assert rows["version"] == "24e946e" and rows["process tag"] == "g2Tm"
    assert "time (local)" in rows
    hint = [line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("gelf-chainsaw ")]
    assert hint and shlex.split(hint[0])[1:3] == ["--txn", ARTICLE], "a command to paste, with the id"


def test_txn_json() -> None:
    proc = run("txn", "--json", ARTICLE)
    out = json.loads(proc.stdout)
    assert (out["host"], out["counter"], out["version"], out["process_tag"]) == (
        "ord1.product.api0",
        9210,
        "24e946e",
        "g2Tm",
    )
    assert out["time"] == "2011-12-25T16:31:15.000Z"


def test_a_foreign_id_is_one_line_and_exit_2() -> None:
    proc = run("txn", "550e8400-e29b-41d4-a716-446655440000")
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "not a logmagic transaction id" in proc.stderr


def test_bad_usage_is_one_line_and_exit_2() -> None:
    for args in (["frobnicate"], ["txn"], ["txn", ARTICLE, "--bogus"]):
        proc = run(*args)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_txn_with_stdout_closed_is_one_line_and_exit_2() -> None:
    proc = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "logmagic.tools.cli", "txn", ARTICLE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr == "logmagic: standard output is closed\n"


LAST_MS = ".rh-3dT5.h-api0.r-pVDF7IRM.c-0.ts-253402300799999.v-x"  # 9999-12-31T23:59:59.999Z


def test_a_time_the_local_zone_cannot_show_is_given_in_utc_only() -> None:
    """East of UTC, the id's time would be in the year 10000: Python's dates end before that."""
    env = {**os.environ, "TZ": "JST-9"}
    proc = run("txn", LAST_MS, env=env)
    assert (proc.returncode, proc.stderr) == (0, "")
    rows = dict(m.groups() for m in map(ROW.match, proc.stdout.splitlines()) if m)
    assert rows["time (UTC)"].startswith("9999-12-31T23:59:59.")
    assert "time (local)" not in rows
    proc = run("txn", "--json", LAST_MS, env=env)
    assert (proc.returncode, proc.stderr) == (0, "")
    out = json.loads(proc.stdout)
    assert out["time"] == rows["time (UTC)"] and out["time_local"] is None


@pytest.mark.parametrize(
    "host",
    [b"ev\x1b]0;owned\x07il", b"red\x1b[31m", b"\xff", b"a b", b"a\nb"],
    ids=["title-escape", "color-escape", "not-utf8", "space", "newline"],
)
def test_an_id_with_a_hostile_host_is_refused_in_one_plain_line(host: bytes) -> None:
    """The host is printed on a terminal: only host-name characters are read as one, and the
    refusal shows the id escaped (bytes that are not UTF-8 arrive as lone surrogates)."""
    argv = [sys.executable.encode(), b"-m", b"logmagic.tools.cli", b"txn"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}  # a strict stdout, as in a UTF-8 locale
    for extra in ([b"--json"], []):
        proc = subprocess.run([*argv, *extra, b".rh-a.h-" + host + b".r-b.c-1.ts-1.v-1"], capture_output=True, env=env)
        assert (proc.returncode, proc.stdout) == (2, b"")
        assert proc.stderr.count(b"\n") == 1 and b"not a logmagic transaction id" in proc.stderr
        assert all(32 <= c < 127 for c in proc.stderr[:-1]), proc.stderr


def test_an_underscore_in_the_host_is_read() -> None:
    proc = run("txn", "--json", ".rh-a.h-build_box.r-b.c-1.ts-1.v-1")
    assert json.loads(proc.stdout)["host"] == "build_box"


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
@pytest.mark.parametrize(
    "txn_id",
    [
        ".rh-g2Tm.h-api0.r-axAIO3bO.c-" + "9" * 30 + ".ts-1324830675.v-1",
        ".rh-g2Tm.h-api0.r-axAIO3bO.c-\u0661\u0662.ts-1324830675.v-1",
        ".rh-g2Tm.h-api0.r-axAIO3bO.c-1.ts-\uff11\uff12\uff13.v-1",
    ],
    ids=["30-digit-counter", "arabic-indic-counter", "fullwidth-time"],
)
def test_an_impossible_counter_or_foreign_digits_are_one_line_and_exit_2(txn_id: str, as_json: bool) -> None:
    proc = run("txn", *(["--json"] if as_json else []), txn_id)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
