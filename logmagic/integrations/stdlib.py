"""The standard library's ``logging``, both ways.

* ``capture()`` / ``uncapture()``: every ``logging`` record becomes a logmagic record (facility
  = logger name), so libraries and servers that use ``logging`` (uvicorn, gunicorn, urllib3)
  get logmagic's routes, rewriters, sinks and txnIds.
* ``Handler``: the same as a ``logging.Handler``, for ``logging.config.dictConfig`` users.
* ``StdlibSink``: logmagic records into ``logging``, for applications that keep their own
  handlers (the built-in sink name ``stdlib``). It is defined in ``logmagic.sinks.stdlib``,
  below the configuration, and re-exported here.

Both directions at once neither loop nor double: a ``LogRecord`` made by ``StdlibSink`` carries
``logmagic_level`` and ``Handler`` ignores it, and while one direction is passing a record on
in a thread, the other direction ignores what that thread logs (a record that came from
``logging`` is not sent back to it): both check ``logmagic.sinks.stdlib.busy``.

Levels, ``logging`` to logmagic: CRITICAL to CRIT, ERROR to ERR, WARNING to WARNING, INFO to
INFO, DEBUG to DEBUG; a custom level takes the nearest standard level below it (25 is INFO,
35 WARNING, 55 CRIT) and anything below DEBUG is TRACE1. Back to ``logging``: EMERG, ALERT
and CRIT are CRITICAL, ERR is ERROR, WARNING is WARNING, NOTICE and INFO are INFO, DEBUG and
TRACE1..TRACE8 are DEBUG; the exact level stays in ``record.logmagic_level``.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from logmagic import config
from logmagic._forklocks import renew_after_fork
from logmagic._safe import describe_exception, safe_str
from logmagic.integrations._bridge import logger_for
from logmagic.levels import CRIT, DEBUG, ERR, INFO, TRACE1, WARNING
from logmagic.request import ENVIRON_KEY
from logmagic.sinks.stdlib import LOGRECORD_ATTRIBUTES, MARK, StdlibSink, busy, reported, to_stdlib_level

__all__ = [
    "MARK",
    "SERVER_LOGGERS",
    "Handler",
    "StdlibSink",
    "capture",
    "from_stdlib_level",
    "to_stdlib_level",
    "uncapture",
]

#: Loggers that servers configure with their own handlers and ``propagate = False``, so that
#: a root handler never sees their records. ``capture()`` takes them over by default.
#: ``django.server`` is Django's ``runserver`` (its access lines), set up so by Django's
#: default ``LOGGING``.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access", "django.server")

#: ``LogRecord`` attributes ``Handler`` does not take as fields: the standard ones, and
#: uvicorn's ``color_message``, which is the message again with terminal color codes in it.
_NOT_FIELDS = LOGRECORD_ATTRIBUTES | {"color_message"}
#: Where gunicorn's access record holds the WSGI middleware's id: its ``%`` arguments are
#: "atoms", with ``{name}e`` for each environ entry.
_GUNICORN_TXN_ATOM = "{" + ENVIRON_KEY + "}e"


def from_stdlib_level(levelno: int) -> int:
    """The logmagic level of a ``logging`` level number: the nearest standard level at or below it."""
    if levelno >= logging.CRITICAL:
        return CRIT
    if levelno >= logging.ERROR:
        return ERR
    if levelno >= logging.WARNING:
        return WARNING
    if levelno >= logging.INFO:
        return INFO
    if levelno >= logging.DEBUG:
        return DEBUG
    return TRACE1


def _full_message(record: logging.LogRecord) -> str | None:
    """The traceback of ``exc_info`` and the stack of ``stack_info``, as one text, or None."""
    parts = []
    if record.exc_text:
        parts.append(record.exc_text)
    elif record.exc_info and record.exc_info[0] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts) if parts else None


class Handler(logging.Handler):
    """A ``logging`` handler that sends every record it gets to logmagic.

    The facility is the logger name, the level is mapped (see the module docs), the message is
    interpolated with the record's ``%`` arguments, ``exc_info`` and ``stack_info`` go to
    ``full_message``, ``extra=`` fields become fields (but for uvicorn's ``color_message``, the
    message again with terminal colors), and the current txnId is added (on gunicorn's access
    record, the id ``WSGIMiddleware`` put in the request's environ); then
    logmagic's rewriters and the facility's route apply, as for ``logmagic.local(name)``. The
    record keeps the time it was made. A broken format string still gives one record: the
    unformatted message, with ``args`` and ``format_error`` fields. A record whose exception a
    logmagic record has written already (``logmagic.sinks.stdlib.mark_reported``: Django's
    ``django.request`` record of an error the Django middleware wrote) is dropped, and
    ``runserver``'s access lines lose their ``request`` (a socket) and ``server_time`` fields.

    For ``dictConfig``: ``{"class": "logmagic.integrations.stdlib.Handler"}``.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``record`` to logmagic, unless it came from logmagic. Never raises."""
        guard = busy
        if guard.active or MARK in record.__dict__:
            return
        if record.exc_info and reported(record.exc_info[1]):
            return  # a logmagic record has written this exception and its traceback already
        guard.active = True
        try:
            level = from_stdlib_level(record.levelno)
            log = logger_for(record.name)
            if not log.enabled(level):
                return
            fields = {k: v for k, v in record.__dict__.items() if k not in _NOT_FIELDS}
            if record.name == "django.server":
                # runserver's access line: its "request" is the connection's socket and its
                # "server_time" the time again, for Django's own formatter.
                fields.pop("request", None)
                fields.pop("server_time", None)
            args = record.args
            if isinstance(args, Mapping) and _GUNICORN_TXN_ATOM in args and "txnId" not in fields:
                # gunicorn writes its access line after the request's transaction has ended.
                fields["txnId"] = args[_GUNICORN_TXN_ATOM]
            try:
                msg = record.getMessage()
            except Exception as exc:
                msg = safe_str(record.msg)
                fields.setdefault("args", record.args)
                fields.setdefault("format_error", describe_exception(exc))
            log.forward(level, msg, fields, timestamp=record.created, full_message=_full_message(record))
        except Exception:
            self.handleError(record)
        finally:
            guard.active = False


@dataclass
class _Captured:
    """What ``capture()`` changed, so that ``uncapture()`` can put it back."""

    handler: Handler
    root_level: int
    taken: dict[str, tuple[list[logging.Handler], bool]] = field(default_factory=dict)


_lock = threading.RLock()
renew_after_fork(globals(), "_lock")
_captured: _Captured | None = None


def _stdlib_level(level: int | str) -> int:
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        num = logging.getLevelName(level.strip().upper())
        if isinstance(num, int):
            return num
    raise ValueError(f"unknown logging level {level!r}: expected a number or CRITICAL, ERROR, WARNING, INFO, DEBUG")


def capture(level: int | str = "INFO", *, take_over: Iterable[str] = SERVER_LOGGERS) -> Handler:
    """Send ``logging`` records at ``level`` and above to logmagic; returns the installed ``Handler``.

    Installs one ``Handler`` on the root logger and lowers the root logger's level to
    ``level`` if it was higher. The loggers named in ``take_over`` that exist already (by
    default uvicorn's and gunicorn's, which print with their own handlers and do not
    propagate) lose their handlers and propagate to the root, so each of their records is
    written once, by logmagic; their own levels stay. Pass ``take_over=()`` to leave them be.

    Calling it again changes the level and takes over more loggers, but never adds a second
    handler. ``uncapture()`` (and ``logmagic.reset()``) undoes all of it.
    """
    global _captured
    levelno = _stdlib_level(level)
    root = logging.getLogger()
    with _lock:
        if _captured is None:
            _captured = _Captured(Handler(), root.level)
            root.addHandler(_captured.handler)
        _captured.handler.setLevel(levelno)
        if root.level > levelno:
            root.setLevel(levelno)
        known = logging.Logger.manager.loggerDict
        for name in take_over:
            target = known.get(name)
            if isinstance(target, logging.Logger) and name not in _captured.taken:
                _captured.taken[name] = (list(target.handlers), target.propagate)
                for handler in list(target.handlers):
                    target.removeHandler(handler)
                target.propagate = True
        return _captured.handler


def uncapture() -> None:
    """Undo ``capture()``: remove its handler, give the taken-over loggers their handlers back."""
    global _captured
    with _lock:
        if _captured is None:
            return
        root = logging.getLogger()
        root.removeHandler(_captured.handler)
        root.setLevel(_captured.root_level)
        for name, (handlers, propagate) in _captured.taken.items():
            target = logging.getLogger(name)
            target.propagate = propagate
            for handler in handlers:
                target.addHandler(handler)
        _captured = None


config.on_reset(uncapture)
