"""Celery: a task runs in the transaction it was published in.

    # tasks.py: the module of the Celery app, imported by producers and by ``celery worker``
    from celery import Celery
    from logmagic.integrations import celery as logmagic_celery, stdlib

    app = Celery("shop", broker="redis://127.0.0.1:6379/0")
    stdlib.capture()
    logmagic_celery.install()

``install()`` connects four of Celery's signals, once however often it is called:

* ``before_task_publish`` (producer, and a worker publishing from inside a task): the headers
  ``logmagic.web.txn_headers()`` gives (the txnId header; ``traceparent`` inside a trace) are
  added to the message, unless the caller set a header of that name. Outside a transaction
  and a trace nothing is added.
* ``task_prerun`` (worker, just before the task runs): the id from the message's header is made
  current, as the web middleware does with a request's header (``logmagic.web._common.begin``:
  an invalid id is replaced by a fresh one and a WARNING says so; a ``traceparent`` is
  continued); a message without an id gets a fresh one of its own. ``celeryTaskId`` and
  ``celeryTask`` (the task's name) are put in force with it as context fields, so every record
  written while the task runs carries all three:
  the task's own, those of the libraries it calls, and Celery's ``logging`` records ("Task ...
  succeeded", "raised unexpected", "retry") once ``stdlib.capture()`` sends ``logging`` to
  logmagic. A task run eagerly (``task.apply()``, ``task_always_eager``) is not published: it
  runs in the caller's transaction when there is one.
* Celery's "Task … received" record, written when the worker takes the message and before
  the task runs, gets the message's txnId, ``trace_id`` and task fields from a filter on its
  logger (``_Received``).
* ``task_postrun`` (worker, after the task, whatever its outcome: Celery sends it from a
  ``finally``): what ``task_prerun`` put in force is undone, so the next task in the same
  process or thread starts from nothing.
* ``setup_logging`` (worker and beat, at start; unless ``take_over_logging=False``): Celery
  then leaves ``logging`` alone (no handlers of its own, no root logger "hijack", no
  redirection of ``print``) and its records go through ``stdlib.capture()``, so the worker's
  stderr holds logmagic's lines only. See ``install``.

Nothing is wrapped: the task functions and classes are left as they are.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

try:
    from celery import signals
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError("logmagic.integrations.celery needs Celery: pip install 'logmagic[celery]'") from exc

from logmagic import _propagation, txn
from logmagic._report import warn_once
from logmagic.integrations import stdlib
from logmagic.integrations._bridge import logger_for
from logmagic.trace_context import TRACEPARENT, TRACESTATE, parse_traceparent
from logmagic.web._common import Options, begin, valid_inbound
from logmagic.web.outbound import txn_headers

__all__ = ["FACILITY", "TASK_FIELD", "TASK_ID_FIELD", "install", "installed", "outgoing_headers", "uninstall"]

#: Facility of this integration's own records (an invalid inbound id, an ignored ``--logfile``).
FACILITY = "logmagic.celery"
#: The context fields every record of a task carries: the task's id and its name.
TASK_ID_FIELD = "celeryTaskId"
TASK_FIELD = "celeryTask"

#: The message headers are read as a middleware reads a request's; task messages come from the
#: application's own producers, so a valid id is always used (``trust_inbound`` is for edges).
_OPTIONS = Options.make(facility=FACILITY, trust_inbound=True)

#: ``dispatch_uid`` of each receiver: Celery connects a receiver once per uid.
_UIDS = {
    "publish": "logmagic.celery.before_task_publish",
    "prerun": "logmagic.celery.task_prerun",
    "postrun": "logmagic.celery.task_postrun",
    "logging": "logmagic.celery.setup_logging",
}

_lock = threading.Lock()
_state = {"installed": False}


def outgoing_headers() -> dict[str, str]:
    """The headers a task message gets: ``logmagic.web.txn_headers()``, the one definition of
    what is sent to another process: the configured txn header inside a transaction, and
    ``traceparent``/``tracestate`` inside a trace (``{}`` outside both)."""
    return txn_headers()


def _on_publish(headers: Any = None, **_: Any) -> None:
    """``before_task_publish``: add the outgoing headers the caller did not set (in any case),
    and no ``tracestate`` when the caller chose the ``traceparent``, as the HTTP hooks do."""
    if not isinstance(headers, dict):
        return  # task protocol 1 has no message headers of this kind
    present = {name.lower() for name in headers if isinstance(name, str)}
    for name, value in outgoing_headers().items():
        if name.lower() in present or (name.lower() == TRACESTATE and TRACEPARENT in present):
            continue
        headers[name] = value


def _header_reader(request: Any) -> Callable[[str], str | None]:
    """A ``GetHeader`` over a task's request: its message headers by name, in any case.

    Celery keeps the headers it does not know in ``request.headers``, and older versions only
    as attributes of the request; both are read. A value that is not text counts as absent.
    """
    found: dict[str, str] = {}
    for source in (getattr(request, "__dict__", None), getattr(request, "headers", None)):
        if isinstance(source, Mapping):
            for name, value in source.items():
                if isinstance(name, str) and isinstance(value, str):
                    found[name.lower()] = value
    return lambda name: found.get(name.lower())


class _Open(threading.local):
    """The scopes ``task_prerun`` opened in this thread and ``task_postrun`` has not closed:
    (task id, undo), innermost last. More than one only for tasks run eagerly inside a task."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, Callable[[], None]]] = []


_open = _Open()


def _on_prerun(task_id: Any = None, task: Any = None, **_: Any) -> None:
    """``task_prerun``: make the message's txnId (or a fresh one) current with the task's fields."""
    if task is None or not isinstance(task_id, str):
        return
    request = getattr(task, "request", None)
    fields = {TASK_ID_FIELD: task_id, TASK_FIELD: str(getattr(task, "name", "") or "")}
    get_header = _header_reader(request)
    caller = txn.current_txn_id()
    eager = bool(getattr(request, "is_eager", False))
    if eager and caller is not None and get_header(_propagation.ACTIVE.txn_header) is None:
        # Run in the caller's process and context: its transaction is the task's.
        token = txn.set_scope(caller, fields)
        _open.scopes.append((task_id, lambda: txn.reset_current(token)))
        return
    with txn.context(**fields):  # the WARNING about an invalid header carries the task's fields
        inbound = begin(_OPTIONS, get_header, logger_for(FACILITY))
    _open.scopes.append((task_id, inbound._replace(fields={**inbound.fields, **fields}).activate()))


def _on_postrun(task_id: Any = None, **_: Any) -> None:
    """``task_postrun``: undo what ``task_prerun`` made current for this task (and anything
    opened inside it that was never closed), innermost first."""
    scopes = _open.scopes
    index = next((i for i in range(len(scopes) - 1, -1, -1) if scopes[i][0] == task_id), None)
    if index is None:
        return  # its prerun ran before install(), or found no task
    while len(scopes) > index:
        undo = scopes.pop()[1]
        try:
            undo()
        except (ValueError, RuntimeError) as exc:
            # A pool that ran task_prerun and task_postrun in different contexts.
            warn_once("celery-postrun", f"logmagic.integrations.celery: could not end a task's scope: {exc!r}")


def _on_setup_logging(loglevel: Any = None, logfile: Any = None, **_: Any) -> None:
    """``setup_logging``: Celery's records go to logmagic instead of Celery's own handlers.

    With no logmagic ``Handler`` on the root logger yet, ``stdlib.capture()`` at the worker's
    ``--loglevel``. With one (``stdlib.capture()`` in the app module, or ``dictConfig``), its
    level is lowered to ``--loglevel`` when that is more verbose, never raised.
    """
    level = loglevel if isinstance(loglevel, int) and not isinstance(loglevel, bool) and loglevel > 0 else None
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, stdlib.Handler)]
    if not ours:
        stdlib.capture(level if level is not None else logging.WARNING)
    elif level is not None:
        for handler in ours:
            if handler.level > level:
                handler.setLevel(level)
        if root.level > level:
            root.setLevel(level)
    if logfile:
        logger_for(FACILITY).warning(
            "Celery's --logfile is not written: logmagic's routes decide where records go", logfile=str(logfile)
        )


#: The logger of Celery's "Task … received" record, and the function that writes it.
_RECEIVED_LOGGER = "celery.worker.strategy"
_RECEIVED_IN = "task_message_handler"


class _Received(logging.Filter):
    """Celery's "Task … received" record is written when the worker takes a message, before
    the task's transaction begins. This filter (on Celery's ``celery.worker.strategy`` logger)
    gives it the txnId, ``trace_id``, ``celeryTaskId`` and ``celeryTask`` of the message, read
    from the worker's request object in the frame that writes the record
    (``task_message_handler``'s ``req``). A txnId that is not valid is left out (the task's own
    records say what replaced it). Anything unexpected leaves the record as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            frame: FrameType | None = sys._getframe(1)
            for _ in range(16):  # logging's own frames lie between the handler and the filter
                if frame is None or frame.f_code.co_name == _RECEIVED_IN:
                    break
                frame = frame.f_back
            request = frame.f_locals.get("req") if frame is not None else None
            headers = getattr(request, "_request_dict", None)
            if not isinstance(headers, Mapping):
                return True
            found = {k.lower(): v for k, v in headers.items() if isinstance(k, str) and isinstance(v, str)}
            txn_id = found.get(_propagation.ACTIVE.txn_header.lower())
            if txn_id is not None and valid_inbound(txn_id):
                record.txnId = txn_id
            trace = parse_traceparent(found.get(TRACEPARENT), found.get(TRACESTATE))
            if trace is not None:
                record.trace_id = trace.trace_id
            if isinstance(found.get("id"), str):
                record.__dict__[TASK_ID_FIELD] = found["id"]
            if isinstance(found.get("task"), str):
                record.__dict__[TASK_FIELD] = found["task"]
        except Exception:  # never in the way of Celery's own logging
            pass
        return True


_RECEIVED = _Received()


def install(*, take_over_logging: bool = True) -> None:
    """Connect the receivers of Celery's signals (see the module docs); call it where the Celery
    app is defined, so that producers and workers both run it.

    Calling it again connects nothing twice; ``take_over_logging`` is whatever the last call
    said. ``take_over_logging=False`` leaves Celery's own logging setup in place: it then removes
    the root logger's handlers, ``stdlib.capture()``'s included, and prints plain text lines on
    stderr (``worker_hijack_root_logger``).
    """
    if not isinstance(take_over_logging, bool):
        raise TypeError(f"take_over_logging must be True or False, got {take_over_logging!r}")
    with _lock:
        signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid=_UIDS["publish"])
        signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid=_UIDS["prerun"])
        signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid=_UIDS["postrun"])
        received = logging.getLogger(_RECEIVED_LOGGER)
        if _RECEIVED not in received.filters:
            received.addFilter(_RECEIVED)
        if take_over_logging:
            signals.setup_logging.connect(_on_setup_logging, weak=False, dispatch_uid=_UIDS["logging"])
        else:
            signals.setup_logging.disconnect(_on_setup_logging, dispatch_uid=_UIDS["logging"])
        _state["installed"] = True


def uninstall() -> None:
    """Disconnect every receiver ``install()`` connected. Scopes of tasks running now are still
    closed by their ``task_postrun`` only if it comes before this; call it between tasks."""
    with _lock:
        signals.before_task_publish.disconnect(_on_publish, dispatch_uid=_UIDS["publish"])
        signals.task_prerun.disconnect(_on_prerun, dispatch_uid=_UIDS["prerun"])
        signals.task_postrun.disconnect(_on_postrun, dispatch_uid=_UIDS["postrun"])
        signals.setup_logging.disconnect(_on_setup_logging, dispatch_uid=_UIDS["logging"])
        logging.getLogger(_RECEIVED_LOGGER).removeFilter(_RECEIVED)
        _state["installed"] = False


def installed() -> bool:
    """Whether ``install()`` is in force."""
    return _state["installed"]
