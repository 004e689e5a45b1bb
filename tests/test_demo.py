"""The in-process part of ``make demo``: what it shows must be what logmagic does."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import re
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

DEMO = Path(__file__).parent.parent / "examples" / "demo.py"
STORY = DEMO.parent / "story"


def load_demo(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("logmagic_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "logmagic_demo", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_tour_shows_the_rewriter_turning_requests_into_account_and_txn(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    load_demo(monkeypatch).in_process_tour()
    err = capfd.readouterr().err
    gelf = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    signed_in = [r for r in gelf if r["short_message"] == "user signed in"]
    assert len(signed_in) == 2  # the GELF section and the section after the route change
    assert {r["_accountId"] for r in signed_in} == {"ac42"}
    assert all(r["_txnId"].startswith(".rh-3dT5.h-product-api0.") for r in signed_in)
    health = [r for r in gelf if r["short_message"] == "health check"]
    assert health and all(r["_accountId"] is None for r in health)  # the anonymous request
    assert "slow query for ac42" in err
    assert "pool stats" in err.split("route change at runtime")[1]  # DEBUG for myapp.db after the change
    assert "pool stats" not in err.split("route change at runtime")[0]
    assert "not-in-the-logs" not in err and "Bearer" not in err


def _distribution(requirement: str) -> str:
    """The canonical distribution name a requirement (``Flask>=3; extra == "demo"``) names."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]).lower()


def _modules_used(path: Path) -> set[str]:
    """Top-level modules a script imports or runs with ``python -m``."""
    used: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            used.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            used.add(node.module.split(".")[0])
        elif isinstance(node, ast.List):
            words = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            used.update(w.split(".")[0] for m, w in itertools.pairwise(words) if m == "-m" and isinstance(w, str))
    return used


def test_make_demo_installs_what_the_demo_runs_and_no_more() -> None:
    """``make demo`` installs ``logmagic[demo]``: the distributions the demo and its two services
    import or start, beyond logmagic and its own dependencies, are that extra exactly."""
    modules: set[str] = set()
    for script in [DEMO, *sorted(STORY.glob("*.py"))]:
        modules |= _modules_used(script)
    local = {p.stem for p in STORY.glob("*.py")}
    third_party = modules - set(sys.stdlib_module_names) - local - {"__future__", "logmagic"}
    owners = metadata.packages_distributions()
    needed = {_distribution(dist) for module in third_party for dist in owners[module]}
    requires = metadata.requires("logmagic") or []
    core = {_distribution(r) for r in requires if ";" not in r}
    demo = {_distribution(r) for r in requires if re.search(r"""extra\s*==\s*["']demo["']""", r)}
    assert demo and needed - core == demo
