"""What the bridges share: one logmagic logger per facility name."""

from __future__ import annotations

from logmagic.api import LocalLogger, local  # the runtime: the configuration and the exit flush come with it

#: Facility -> logger. ``local()`` is cheap (an instance of the facility's class), but a dict
#: lookup per bridged record is cheaper still; logger names of a process are few.
_loggers: dict[str, LocalLogger] = {}


def logger_for(facility: str) -> LocalLogger:
    """The logger for ``facility``, made on first use (loggers follow configuration changes)."""
    found = _loggers.get(facility)
    if found is None:
        found = _loggers.setdefault(facility, local(facility))
    return found
