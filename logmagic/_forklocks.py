"""Locks that a child process gets afresh after ``fork()``, each renewed by its owner.

A lock held by another thread at the moment of ``fork()`` stays held forever in the child,
where that thread does not exist. As CPython's ``logging`` does for its handlers, each module
that owns a lock registers it here where it makes it, and the child replaces it; no module
reaches into another's private locks.
"""

from __future__ import annotations

import os
import threading
from typing import Any


def renew_after_fork(namespace: dict[str, Any], name: str) -> None:
    """Make ``namespace[name]`` (a module's global lock) a new ``RLock`` in every forked child."""

    def renew() -> None:
        namespace[name] = threading.RLock()

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=renew)
