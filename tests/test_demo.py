"""The in-process part of ``make demo``: what it shows must be what logmagic does."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEMO = Path(__file__).parent.parent / "examples" / "demo.py"


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
