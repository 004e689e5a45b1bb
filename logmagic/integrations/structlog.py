"""structlog processors: txnIds in the event dict, routing into logmagic, and GELF lines.

    import structlog
    from logmagic.integrations.structlog import to_logmagic

    structlog.configure(processors=[structlog.contextvars.merge_contextvars, to_logmagic])

* ``add_txn_id``: adds the current ``txnId`` to the event dict (for structlog's own renderers).
* ``to_logmagic`` / ``ToLogmagic(facility=...)``: the final processor that hands each event to
  logmagic (rewriters, routes, sinks, txnId) and then drops it from structlog's chain.
* ``GelfRenderer``: the final processor for applications that keep structlog's own output,
  rendering each event as one GELF 1.1 line with logmagic's encoder.

How an event dict becomes a record: the message is ``event`` (``%``-formatted with
``positional_args`` when structlog's stdlib ``BoundLogger`` left them), the level comes from
the method name (``exception`` is ERR, ``critical`` CRIT, ``warning`` WARNING...), the facility
is the ``logger`` key when it holds a name (``structlog.stdlib.add_logger_name``) or the
default, a numeric ``timestamp`` (``TimeStamper(fmt=None)``) is the record's time,
``exc_info`` (or an already rendered ``exception`` text) becomes ``full_message``, and every
other key is a field.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any, NoReturn

import structlog

from logmagic import redact
from logmagic._report import REPORTER
from logmagic._safe import describe_exception, safe_str
from logmagic.encode.gelf import GelfEncoder
from logmagic.integrations._bridge import logger_for
from logmagic.levels import ERR, FOREIGN_NAMES, INFO, METHOD_LEVELS
from logmagic.record import Record
from logmagic.txn import current_txn_id

__all__ = ["DEFAULT_FACILITY", "GelfRenderer", "ToLogmagic", "add_txn_id", "to_logmagic"]

EventDict = MutableMapping[str, Any]

#: The facility of events without a ``logger`` name.
DEFAULT_FACILITY = "structlog"

#: structlog method name -> level: logmagic's own names, and structlog's that logmagic lacks.
_METHOD_LEVELS = {**METHOD_LEVELS, **{name.lower(): n for name, n in FOREIGN_NAMES.items()}, "exception": ERR}


def _level(method_name: str) -> int:
    """The logmagic level for a structlog method name; an unknown name logs at INFO."""
    return _METHOD_LEVELS.get(method_name, INFO)


def _facility(event_dict: Mapping[str, Any], default: str) -> str:
    name = event_dict.get("logger")
    return name if isinstance(name, str) and name else default


def _traceback(exc_info: Any) -> str | None:
    """``exc_info`` as structlog accepts it (True, an exception, a sys.exc_info() tuple) as text."""
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and exc_info[0] is not None:
        return "".join(traceback.format_exception(*exc_info))
    return None


def _split(event_dict: Mapping[str, Any]) -> tuple[str, dict[str, Any], float | None, str | None]:
    """Message, fields, timestamp (or None: now) and full_message of an event dict."""
    fields = dict(event_dict)
    fields.pop("logger", None)
    event = fields.pop("event", None)
    msg = "" if event is None else safe_str(event)
    args = fields.pop("positional_args", None)
    if args:
        try:
            msg = msg % (args[0] if len(args) == 1 and isinstance(args[0], Mapping) else args)
        except Exception as exc:
            fields["positional_args"] = args
            fields["format_error"] = describe_exception(exc)
    timestamp = fields.get("timestamp")
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        del fields["timestamp"]
    else:
        timestamp = None
    full_message = None
    if "exc_info" in fields:
        try:
            full_message = _traceback(fields.pop("exc_info"))
        except Exception as exc:
            full_message = f"<traceback could not be formatted: {describe_exception(exc)}>"
    if full_message is None and isinstance(fields.get("exception"), str):
        full_message = fields.pop("exception")
    return msg, fields, timestamp, full_message


def add_txn_id(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Processor: add ``txnId`` (the current transaction id) unless there is none or one is set."""
    txn_id = current_txn_id()
    if txn_id is not None and "txnId" not in event_dict:
        event_dict["txnId"] = txn_id
    return event_dict


class ToLogmagic:
    """Final processor: log the event through logmagic, then drop it from structlog's chain.

    The event goes through logmagic's rewriters and the facility's route to its sinks, gets
    the current txnId, and is subject to the route's level like any ``logmagic.local()``
    record. ``facility`` is used for events without a ``logger`` name. The processor never
    raises anything but ``structlog.DropEvent``: a failure is reported on stderr as a lost
    record.
    """

    def __init__(self, facility: str = DEFAULT_FACILITY) -> None:
        self.facility = facility

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> NoReturn:
        try:
            level = _level(method_name)
            log = logger_for(_facility(event_dict, self.facility))
            if log.enabled(level):
                msg, fields, timestamp, full_message = _split(event_dict)
                log.forward(level, msg, fields, timestamp=timestamp, full_message=full_message)
        except Exception as exc:
            REPORTER.lost("logmagic.structlog", describe_exception(exc))
        raise structlog.DropEvent

    def __repr__(self) -> str:
        return f"ToLogmagic(facility={self.facility!r})"


#: ``ToLogmagic()`` with the default facility.
to_logmagic = ToLogmagic()


class GelfRenderer:
    """Final processor: the event as one GELF 1.1 line (``str``, without the newline).

    For applications that keep structlog's output (``PrintLoggerFactory``, ``WriteLoggerFactory``
    or the stdlib) but want logmagic's format: the same encoder as logmagic's stderr sink, so
    the line is valid JSON whatever the values, with secrets redacted. Nothing else of logmagic
    applies (no routes, rewriters or txnId: add ``add_txn_id`` before it for that).
    """

    def __init__(self, facility: str = DEFAULT_FACILITY) -> None:
        self.facility = facility
        self._encode = GelfEncoder().encode

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> str:
        try:
            facility = _facility(event_dict, self.facility)
            msg, fields, timestamp, full_message = _split(event_dict)
        except Exception as exc:  # a mapping that cannot be read: say so in a valid line
            facility, msg, timestamp, full_message = self.facility, "<unreadable event>", None, None
            fields = {"render_error": describe_exception(exc)}
        record = Record(
            facility,
            _level(method_name),
            msg,
            redact.stage(fields),  # the pipeline's redaction stage: encoders mask nothing themselves
            time.time() if timestamp is None else timestamp,
            full_message,
        )
        return self._encode(record)[:-1].decode("utf-8")

    def __repr__(self) -> str:
        return f"GelfRenderer(facility={self.facility!r})"
