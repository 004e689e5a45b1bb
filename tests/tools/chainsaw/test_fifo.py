"""A FIFO where a log file should be, in a directory gelf-chainsaw lists, never blocks it."""

from __future__ import annotations

import os
from pathlib import Path

from .helpers import jl, write_lines
from .test_follow import Following, following  # noqa: F401 - the fixture

ROTATED = "@400000006500000000000000.s"


def test_follow_over_a_directory_whose_current_and_config_are_fifos_reads_the_others(
    tmp_path: Path,
    following: list[Following],  # noqa: F811 - the fixture
) -> None:
    stuck, fine = tmp_path / "a", tmp_path / "b"
    stuck.mkdir()
    fine.mkdir()
    write_lines(stuck / ROTATED, [jl({"msg": "a rotated"})])
    os.mkfifo(stuck / "current")  # opening it for reading would wait for a writer for ever
    os.mkfifo(stuck / "config")
    write_lines(fine / "current", [jl({"msg": "b current"})])
    run = Following("-r", tmp_path)
    following.append(run)
    got = run.take(2, timeout=20)
    assert [b"a rotated" in line for line in got] == [True, False], got
    assert b"b current" in got[1]
    err = run.stop()
    assert f"{stuck / 'current'}: not a regular file" in err
