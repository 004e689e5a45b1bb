"""Who is logging: the host name and service version stamped on records and transaction ids.

Read once at import; ``logmagic.configure(host=..., version=...)`` replaces them.
"""

from __future__ import annotations

import os
import socket


class Identity:
    """The process's host and version, as mutable attributes read on the hot path."""

    __slots__ = ("host", "version")

    def __init__(self) -> None:
        self.host = ""
        self.version = ""
        self.reset()

    def reset(self) -> None:
        """Back to the defaults: ``socket.gethostname()`` and ``$LOGMAGIC_VERSION`` (or ``0``)."""
        try:
            self.host = socket.gethostname() or "localhost"
        except OSError:
            self.host = "localhost"
        self.version = os.environ.get("LOGMAGIC_VERSION") or "0"


IDENTITY = Identity()
