"""The wheel's build hook (``hatch_build.py``), as the accelerator tests use it."""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def hatch_build() -> ModuleType:
    """``hatch_build`` from the project's root; the test is skipped where hatchling is missing
    (it is only there while pip builds logmagic, or in the dev extra)."""
    sys.path.insert(0, str(ROOT))
    try:
        import hatch_build as hook
    except ImportError as exc:
        pytest.skip(f"hatchling is not installed here: {exc}")
    finally:
        sys.path.remove(str(ROOT))
    return hook


def build(source: str, name: str, out_dir: Path) -> ModuleType:
    """The C file ``source`` (relative to the root) compiled by the hook and loaded as ``name``."""
    output = out_dir / ("_speedups" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    assert hatch_build()._compile(str(ROOT / source), str(output)) is None
    spec = importlib.util.spec_from_file_location(name, output)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
