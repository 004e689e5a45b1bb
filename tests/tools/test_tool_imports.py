"""The host tools load none of the logging runtime: no sink, web, integration, configuration
or lifecycle module, and no exit or fork hook of logmagic's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Modules of the runtime an application imports; a host tool has no use for them.
RUNTIME = (
    "logmagic.sinks",
    "logmagic.web",
    "logmagic.integrations",
    "logmagic.config",
    "logmagic.lifecycle",
    "logmagic.txn",
)

#: Runs the code given as argv[1], then prints (on the real stdout) the modules loaded and the
#: modules whose functions were registered with ``atexit.register`` or ``os.register_at_fork``.
PROBE = """
import atexit, json, os, sys
hooks = []
def recording(register):
    def record(func=None, *args, **kwargs):
        for f in (func, *kwargs.values()):
            if callable(f):
                hooks.append(getattr(f, "__module__", None) or "?")
        return register(func, *args, **kwargs) if func is not None else register(**kwargs)
    return record
atexit.register = recording(atexit.register)
os.register_at_fork = recording(os.register_at_fork)
exec(sys.argv[1])
sys.__stdout__.write(json.dumps({"modules": sorted(sys.modules), "hooks": hooks}) + "\\n")
"""


def probe(code: str) -> dict[str, list[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, list[str]] = json.loads(proc.stdout.splitlines()[-1])
    return result


TOOLS = {
    "gelf-chainsaw": "import logmagic.tools.chainsaw.cli",
    "gelf-chainsaw searching": (
        "import io, sys, logmagic.tools.chainsaw.cli as c;"
        " sys.stdin = io.TextIOWrapper(io.BytesIO(b'{\"level\":3}\\n'));"
        " sys.stdout = io.TextIOWrapper(io.BytesIO()); c.main(['level<=err', '-o', 'json', '--count'])"
    ),
    "logmagic txn": (
        "import io, sys, logmagic.tools.cli as c; sys.stdout = io.TextIOWrapper(io.BytesIO());"
        " c.main(['txn', '.rh-g2Tm.h-api0.r-axAIO3bO.c-9.ts-1324830675.v-24e946e'])"
    ),
}


@pytest.mark.parametrize("tool", list(TOOLS))
def test_a_host_tool_loads_no_runtime_module(tool: str) -> None:
    loaded = probe(TOOLS[tool])["modules"]
    assert [m for m in loaded if any(m == r or m.startswith(f"{r}.") for r in RUNTIME)] == []


@pytest.mark.parametrize("tool", list(TOOLS))
def test_a_host_tool_registers_no_exit_or_fork_hook(tool: str) -> None:
    hooks = probe(TOOLS[tool])["hooks"]
    assert [h for h in hooks if h.startswith("logmagic")] == []


def test_the_shipper_still_loads_its_command() -> None:
    """``logmagic ship`` is only loaded when it is run, and then it is there."""
    loaded = probe("import logmagic.tools.cli as c; c._parser(['ship', '--help'])")["modules"]
    assert "logmagic.tools.ship.cli" in loaded
