"""Markers of the end-to-end tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs real processes for several seconds (still part of the normal run; -m 'not slow' skips)"
    )
