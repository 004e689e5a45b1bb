"""The pytest plugin of logmagic: the ``logmagic_records`` fixture.

Installed with logmagic (entry point ``pytest11``), so any project that has logmagic in its
test environment gets the fixture without a conftest. Disable it with ``-p no:logmagic``.

logmagic is imported when the fixture is first used, not when pytest loads the plugin, so
coverage measurement started by a later plugin still sees logmagic's import.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["logmagic_records"]


@pytest.fixture
def logmagic_records() -> Iterator[list[dict[str, Any]]]:
    """Every record logged during the test, as dicts (see ``logmagic.testing.capture``).

    Records of every facility and level are kept instead of being written anywhere; the
    configuration the test started with is back after it.
    """
    from logmagic.testing import capture

    with capture() as records:
        yield records
