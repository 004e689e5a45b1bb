"""Running gelf-chainsaw (as a process, or its scanner in this process) and making log lines."""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from logmagic.tools.chainsaw import render
from logmagic.tools.chainsaw.query import Query, parse_term
from logmagic.tools.chainsaw.scan import Scan

CHAINSAW = [sys.executable, "-m", "logmagic.tools.chainsaw"]
#: C0 controls and DEL: what must never reach a terminal from log data.
CONTROL = frozenset((*range(0x20), 0x7F))


@dataclass
class Result:
    code: int
    out: bytes
    err: str

    @property
    def lines(self) -> list[bytes]:
        return self.out.splitlines()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def env_without_color(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR" and not k.startswith("LOGMAGIC_")}
    env.update(extra)
    return env


def chainsaw(
    *args: str | Path,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = 30,
    wrapper: Sequence[str] = (),
) -> Result:
    """Run the command as a user would, stdout and stderr piped (``wrapper``: a command prefix)."""
    proc = subprocess.run(
        [*wrapper, *CHAINSAW, *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env if env is not None else env_without_color(),
    )
    return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))


#: setpriv's option that takes away root's power to read and enter any file.
_DROP_DAC = ["--bounding-set=-dac_override,-dac_read_search"]


@functools.cache
def _setpriv_works() -> bool:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return False
    return subprocess.run([setpriv, *_DROP_DAC, "true"], capture_output=True).returncode == 0


def unprivileged() -> list[str]:
    """A command prefix under which file permission bits apply, so that mode 000 is unreadable.

    Nothing when not root. As root, ``setpriv`` without the two capabilities that let root
    read and enter anything; the test is skipped when that cannot be done here.
    """
    if os.geteuid() != 0:
        return []
    if not _setpriv_works():
        pytest.skip("running as root, and setpriv cannot drop CAP_DAC_OVERRIDE here: permission bits do not apply")
    return ["setpriv", *_DROP_DAC]


def assert_one_line_error(result: Result, *mentions: str) -> None:
    """Exit 2, nothing on stdout, one line on stderr naming what is wrong."""
    assert result.code == 2, result
    assert result.out == b""
    assert "Traceback" not in result.err
    assert len(result.err_lines) == 1, result.err
    for text in mentions:
        assert text in result.err, (text, result.err)


def scan_lines(terms: list[str], lines: list[bytes], prefilter: bool = True) -> list[bytes]:
    """The lines the scanner prints in json mode for ``terms`` (svlogd prefix removed); without
    ``prefilter``, the reference: every line judged on its own."""
    out = io.BytesIO()
    scan = Scan(Query([parse_term(t) for t in terms]), render.json_line, out, prefilter=prefilter)
    data = b"".join(line + b"\n" for line in lines)
    if prefilter:
        scan.feed(data)
    else:
        scan.feed_every_line(data)
    scan.finish()
    return out.getvalue().splitlines()


def jl(obj: dict[str, Any]) -> bytes:
    """A compact JSON line (no newline)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path
