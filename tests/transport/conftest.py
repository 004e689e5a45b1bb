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


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(CA certificate, server key + certificate chain) from a private CA, for 127.0.0.1 and localhost."""
    trustme = pytest.importorskip("trustme")
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, server_file = directory / "ca.pem", directory / "server.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server.private_key_and_cert_chain_pem.write_to_path(str(server_file))
    return ca_file, server_file
