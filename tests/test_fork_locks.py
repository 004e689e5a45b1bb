"""After ``fork()`` every lock of logmagic is free in the child, renewed by the module that owns it."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

import logmagic
from logmagic import _report, call_paths, config, logger, rewriters
from logmagic.integrations import stdlib

#: (module, name of its lock): every module-level lock logmagic has.
LOCKS: list[tuple[Any, str]] = [
    (config, "_lock"),
    (logger, "_lock"),
    (call_paths, "_internal_lock"),
    (rewriters, "_reported_lock"),
    (stdlib, "_lock"),
]


def current_locks() -> list[Any]:
    return [getattr(module, name) for module, name in LOCKS] + [_report._STDERR.lock]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_locks_held_by_another_thread_at_fork_are_free_in_the_child() -> None:
    logmagic.local("app").info("the runtime is loaded")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        locks = current_locks()
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait(30)
        for lock in reversed(locks):
            lock.release()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        pid = os.fork()
        if pid == 0:  # the child: every lock must be free, or it is stuck for good
            free = all(lock.acquire(timeout=2) for lock in current_locks())
            os._exit(0 if free else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        thread.join(10)
    assert os.waitstatus_to_exitcode(status) == 0
