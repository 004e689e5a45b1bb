"""The event-loop stall detector: which task, which transaction, held the loop, and where.

One blocking call in one handler (``time.sleep``, a synchronous database driver, a CPU-bound
loop) stalls every request on an asyncio loop. ``watch_event_loop(loop, threshold)`` runs a
heartbeat callback on the loop every ``threshold / 2`` seconds and a daemon thread that wakes
when the next heartbeat would be ``threshold`` late (about once per threshold while the loop
keeps its beat). When the heartbeat is that late, the thread writes one WARNING record
(facility ``logmagic.loop``): ``event loop blocked for 512 ms``, with ``blocked_ms``, the
running task's name (``task``), its txnId and ``context`` fields, and the stack of the loop's
thread at that moment in ``full_message``. When the heartbeat runs again it writes one more
record with the whole duration. A stall of many seconds is two records, not one per
heartbeat. ``blocked_ms`` counts from when the missed heartbeat was due, so it is at most
``threshold / 2`` short of the real stall; a stall shorter than one and a half thresholds may
go unseen.

The running task's transaction is read from the task's context: ``Task.get_context()`` where
Python has it (3.12+); on 3.11 the watch installs a task factory on the loop (chaining the
loop's own, if any) that remembers each new task's context, so tasks made before the watch
started show no txnId; on 3.10 a task's context cannot be read, and the record names the task
and the stack only.

The thread is a daemon and never keeps the process alive; it ends when the loop is closed or
``stop()`` is called. A loop that is not running (between ``run_until_complete`` calls) is not
stalled. After ``fork()`` a child has no watch: it starts its own, or none.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Coroutine
from typing import Any

from logmagic import txn
from logmagic.levels import WARNING
from logmagic.logger import local

__all__ = ["FACILITY", "LoopWatch", "watch_event_loop"]

FACILITY = "logmagic.loop"

#: Loops watched in this process, and their watches.
_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopWatch] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
#: A task's context, kept by the task factory where ``Task.get_context`` does not exist.
_contexts: weakref.WeakKeyDictionary[asyncio.Task[Any], contextvars.Context] = weakref.WeakKeyDictionary()


def watch_event_loop(loop: asyncio.AbstractEventLoop | None = None, threshold: float = 0.1) -> LoopWatch:
    """Watch ``loop`` (default: the running one) for stalls longer than ``threshold`` seconds.

    Watching a loop that is watched already returns its watch (the first threshold stays).
    """
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0.001 <= threshold <= 3600:
        raise ValueError(f"threshold must be a number of seconds from 0.001 to 3600, got {threshold!r}")
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ValueError("watch_event_loop() outside a running loop needs the loop: pass loop=") from None
    with _lock:
        watch = _watches.get(loop)
        if watch is None or watch.stopped:
            watch = LoopWatch(loop, float(threshold))
            _watches[loop] = watch
            watch.start()
    return watch


class LoopWatch:
    """One loop's heartbeat and watchdog thread (made by ``watch_event_loop``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold: float) -> None:
        self.loop = loop
        self.threshold = threshold
        self.interval = threshold / 2
        #: When the next heartbeat is due (monotonic seconds), written on the loop only.
        self.due = time.monotonic() + self.interval
        #: The loop's thread, known from the first heartbeat.
        self.loop_thread: int | None = None
        self.stopped = False
        #: Stalls reported (each once at detection, once at its end).
        self.stalls = 0
        self._wake = threading.Event()
        self._handle: asyncio.TimerHandle | None = None
        self._thread = threading.Thread(target=self._run, name="logmagic-loop-watch", daemon=True)
        self._log = local(FACILITY)

    def start(self) -> None:
        if (3, 11) <= sys.version_info < (3, 12):
            _remember_task_contexts(self.loop)
        self.loop.call_soon_threadsafe(self._heartbeat)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching: the thread ends at once, the heartbeat with its next beat."""
        self.stopped = True
        self._wake.set()
        handle = self._handle
        if handle is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(handle.cancel)
            except RuntimeError:  # closed meanwhile
                pass

    def _heartbeat(self) -> None:
        """On the loop: note that it ran, and come back in ``interval``."""
        self.loop_thread = threading.get_ident()
        self.due = time.monotonic() + self.interval
        if not self.stopped:
            self._handle = self.loop.call_later(self.interval, self._heartbeat)

    def _run(self) -> None:
        """The watchdog thread. While the loop keeps its beat it sleeps until the first moment
        a stall could be seen (the next heartbeat's due time plus the threshold), so it wakes
        about once per threshold; during a stall it looks every ``interval`` for its end."""
        stall: tuple[float, dict[str, Any]] | None = None  # (the missed heartbeat's due time, fields)
        pause = self.interval
        while not self._wake.wait(max(pause, 0.001)):
            loop = self.loop
            if loop.is_closed():
                break
            due = self.due
            now = time.monotonic()
            if stall is not None:
                if due != stall[0]:  # the heartbeat ran again, at ``due - interval``
                    self._end(due - self.interval - stall[0], stall[1])
                    stall = None
                pause = self.interval
                continue
            late = now - due
            if late >= self.threshold and loop.is_running():
                stall = (due, self._detected(late))
                pause = self.interval
            else:
                pause = due + self.threshold - now
        self.stopped = True

    def _detected(self, late: float) -> dict[str, Any]:
        """Write the record of a stall found now; the fields that say whose it is."""
        self.stalls += 1
        fields: dict[str, Any] = {}
        task = _running_task(self.loop)
        if task is not None:
            fields["task"] = task.get_name()
            scope = _task_scope(task)
            if isinstance(scope, txn.Scope):
                fields.update(scope.fields)
                if scope.txn_id is not None:
                    fields["txnId"] = scope.txn_id
            elif scope is not None:
                fields["txnId"] = scope
        stack = None
        frame = sys._current_frames().get(self.loop_thread) if self.loop_thread is not None else None
        if frame is not None:
            stack = "".join(traceback.format_stack(frame))
        ms = round(late * 1000)
        self._log.forward(
            WARNING,
            f"event loop blocked for {ms} ms",
            {**fields, "blocked_ms": ms, "threshold_ms": round(self.threshold * 1000)},
            full_message=stack,
        )
        return fields

    def _end(self, blocked: float, fields: dict[str, Any]) -> None:
        ms = round(blocked * 1000)
        self._log.forward(
            WARNING, f"event loop was blocked for {ms} ms in all", {**fields, "blocked_ms": ms, "stall_ended": True}
        )


def _running_task(loop: asyncio.AbstractEventLoop) -> asyncio.Task[Any] | None:
    """The task the loop is running now, read from another thread (None between tasks)."""
    try:
        return asyncio.current_task(loop)
    except Exception:
        return None


def _task_scope(task: asyncio.Task[Any]) -> Any:
    """The txnId (or ``txn.Scope``) current in ``task``, or None."""
    get_context = getattr(task, "get_context", None)
    ctx = get_context() if get_context is not None else _contexts.get(task)
    return None if ctx is None else ctx.get(txn._current)


def _remember_task_contexts(loop: asyncio.AbstractEventLoop) -> None:
    """Have the loop's task factory keep each new task's context (Python before 3.12)."""
    previous = loop.get_task_factory()
    if getattr(previous, "_logmagic_remembers", False):
        return

    def factory(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kw: Any) -> asyncio.Future[Any]:
        ctx = kw.pop("context", None) or contextvars.copy_context()
        if previous is None:
            task: asyncio.Future[Any] = asyncio.Task(coro, loop=loop, context=ctx, **kw)  # type: ignore[call-arg]
        else:
            task = previous(loop, coro, context=ctx, **kw)  # type: ignore[call-arg]
        if isinstance(task, asyncio.Task):
            _contexts[task] = ctx
        return task

    factory._logmagic_remembers = True  # type: ignore[attr-defined]
    loop.set_task_factory(factory)  # type: ignore[arg-type]


def _forget_after_fork() -> None:
    """A child has no watchdog thread: its loops are not watched until it starts a watch."""
    global _lock
    _lock = threading.Lock()
    _watches.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
