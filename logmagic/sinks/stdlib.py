"""The ``stdlib`` sink: logmagic records handed to the standard library's ``logging``.

It lives with the other sinks, below the configuration, so that the built-in sink name
``stdlib`` is made without importing ``logmagic.integrations.stdlib`` (which sits on top of the
configuration, since ``capture()`` is undone by ``reset()``). That module re-exports
``StdlibSink`` and uses the loop guard defined here.

Levels, logmagic to ``logging``: EMERG, ALERT and CRIT are CRITICAL, ERR is ERROR, WARNING is
WARNING, NOTICE and INFO are INFO, DEBUG and TRACE1..TRACE8 are DEBUG; the exact level stays in
``record.logmagic_level``.
"""

from __future__ import annotations

import logging
import threading

from logmagic._safe import safe_str
from logmagic.levels import ALERT, CRIT, DEBUG, EMERG, ERR, INFO, NOTICE, TRACE1, WARNING
from logmagic.record import Record
from logmagic.sinks.base import Sink

__all__ = [
    "LOGRECORD_ATTRIBUTES",
    "MARK",
    "REPORTED",
    "StdlibSink",
    "busy",
    "mark_reported",
    "reported",
    "to_stdlib_level",
]

#: The ``LogRecord`` attribute set by ``StdlibSink`` (the record's exact logmagic level).
#: ``logmagic.integrations.stdlib.Handler`` ignores records that have it: they came from logmagic.
MARK = "logmagic_level"

#: Set (to ``True``) on an exception a logmagic record has already reported with its traceback,
#: such as the Django middleware's error record. ``Handler`` drops a ``logging`` record whose
#: ``exc_info`` holds that exception (Django's ``django.request`` record of the same error,
#: gunicorn's "Error handling request"), so one error gives one record with one traceback;
#: the ``logging`` handlers of other libraries still get theirs.
REPORTED = "__logmagic_reported__"


def mark_reported(exc: BaseException) -> None:
    """Say that ``exc`` was written, with its traceback, by a logmagic record."""
    try:
        setattr(exc, REPORTED, True)
    except Exception:  # an exception class with __slots__ and no __dict__: it is written twice
        pass


def reported(exc: BaseException | None) -> bool:
    """Whether ``mark_reported(exc)`` was called."""
    return exc is not None and getattr(exc, REPORTED, False) is True


#: ``LogRecord`` attributes that are not ``extra=`` fields: a field with one of these names is
#: set as ``field_<name>``, and ``Handler`` does not take them as fields.
LOGRECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

_TO_STDLIB = {
    EMERG: logging.CRITICAL,
    ALERT: logging.CRITICAL,
    CRIT: logging.CRITICAL,
    ERR: logging.ERROR,
    WARNING: logging.WARNING,
    NOTICE: logging.INFO,
    INFO: logging.INFO,
    DEBUG: logging.DEBUG,
}


def to_stdlib_level(level: int) -> int:
    """The ``logging`` level number for a logmagic level (trace levels are DEBUG)."""
    return _TO_STDLIB.get(level, logging.DEBUG)


class _Busy(threading.local):
    """Whether this thread is passing a record from one side to the other right now."""

    active = False


#: The loop guard shared by both directions: while ``StdlibSink`` hands a record to ``logging``,
#: ``Handler`` ignores what the thread logs, and while ``Handler`` hands a ``logging`` record
#: to logmagic, ``StdlibSink`` does not send it back.
busy = _Busy()


class StdlibSink(Sink):
    """A sink that hands logmagic records to ``logging``, for applications with their own handlers.

    Each record becomes a ``LogRecord`` of the logger named like the facility, at the mapped
    level (the exact one in ``logmagic_level``), with the record's time, its fields as
    attributes (as ``extra=`` would set them; a field named like a ``LogRecord`` attribute,
    such as ``name``, is set as ``field_name``), a traceback in ``exc_text`` and a trace
    level's stack in ``stack_info``. The logger's level, filters and handlers decide the rest.

    Built in as the sink name ``stdlib``; or register it: ``logmagic.register_sink("stdlib", StdlibSink())``.
    """

    def emit(self, record: Record) -> None:
        guard = busy
        if guard.active:  # the record came from logging through Handler: it is there already
            return
        levelno = to_stdlib_level(record.level)
        target = logging.getLogger(record.facility)
        if not target.isEnabledFor(levelno):
            return
        rec = logging.getLogRecordFactory()(record.facility, levelno, "", 0, record.msg, None, None)
        ts = record.timestamp
        rec.created = ts
        rec.msecs = int((ts - int(ts)) * 1000) + 0.0
        for key, value in record.fields.items():
            name = key if isinstance(key, str) else safe_str(key)
            rec.__dict__[f"field_{name}" if name in LOGRECORD_ATTRIBUTES or name == MARK else name] = value
        if record.full_message is not None:
            if record.level >= TRACE1:
                rec.stack_info = record.full_message
            else:
                rec.exc_text = record.full_message.rstrip("\n")  # as Formatter.formatException leaves it
        rec.__dict__[MARK] = record.level
        guard.active = True
        try:
            target.handle(rec)
        finally:
            guard.active = False
