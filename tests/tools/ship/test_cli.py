"""``logmagic ship --status`` on status files it cannot use, and with stdout closed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SHIP = [sys.executable, "-m", "logmagic.tools.cli", "ship"]


@pytest.mark.parametrize("text", ["[1, 2]", '"running"', "3", '{"sources": [1]}', '{"sources": {"a": 1}}'])
def test_a_status_file_that_is_not_a_status_is_one_line_and_exit_2(tmp_path: Path, text: str) -> None:
    state = tmp_path / "ship.state"
    status = tmp_path / "ship.state.status"
    status.write_text(text)
    proc = subprocess.run([*SHIP, "--status", "--state", str(state)], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"logmagic ship: status file {status}: not a logmagic ship status\n"


def test_status_with_stdout_closed_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cmd = ["sh", "-c", 'exec "$@" >&-', "sh", *SHIP, "--status", "--state", str(tmp_path / "ship.state")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (2, "logmagic ship: standard output is closed\n")
