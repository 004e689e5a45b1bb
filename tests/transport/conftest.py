"""Real collectors for the transport clients: the peer processes of ``tests/e2e/peers``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..e2e.peers import Peer, running_peers

StartPeer = Callable[..., Peer]


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[StartPeer]:
    """Start peers with ``peers("scribe_server.py", *args, port=...)``; all are killed at the end."""
    with running_peers(tmp_path) as start:
        yield start
