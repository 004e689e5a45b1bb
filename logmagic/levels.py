"""Log levels: the syslog numbering of the original Log Magic, extended by eight trace levels.

A lower number is more severe. A route's level is a threshold: a record is written when its
level is numerically less than or equal to the route's level.
"""

from __future__ import annotations

__all__ = [
    "ALERT",
    "ALIASES",
    "CRIT",
    "DBG",
    "DEBUG",
    "EMERG",
    "ERR",
    "ERROR",
    "FOREIGN_NAMES",
    "INFO",
    "LEVELS_BY_NAME",
    "LEVEL_NAMES",
    "MAX_LEVEL",
    "METHOD_LEVELS",
    "MIN_LEVEL",
    "MSG",
    "NOTICE",
    "TRACE",
    "TRACE1",
    "TRACE2",
    "TRACE3",
    "TRACE4",
    "TRACE5",
    "TRACE6",
    "TRACE7",
    "TRACE8",
    "WARN",
    "WARNING",
    "level_name",
    "parse_level",
    "syslog_level",
]

EMERG = 0
ALERT = 1
CRIT = 2
ERR = 3
WARNING = 4
NOTICE = 5
INFO = 6
DEBUG = 7
TRACE1 = 8
TRACE2 = 9
TRACE3 = 10
TRACE4 = 11
TRACE5 = 12
TRACE6 = 13
TRACE7 = 14
TRACE8 = 15

WARN = WARNING
ERROR = ERR
DBG = DEBUG
MSG = INFO
TRACE = TRACE1

#: Canonical name of every level number.
LEVEL_NAMES: dict[int, str] = {
    EMERG: "EMERG",
    ALERT: "ALERT",
    CRIT: "CRIT",
    ERR: "ERR",
    WARNING: "WARNING",
    NOTICE: "NOTICE",
    INFO: "INFO",
    DEBUG: "DEBUG",
    **{TRACE1 + i: f"TRACE{i + 1}" for i in range(8)},
}

#: Alias name -> canonical name.
ALIASES: dict[str, str] = {
    "WARN": "WARNING",
    "ERROR": "ERR",
    "DBG": "DEBUG",
    "MSG": "INFO",
    "TRACE": "TRACE1",
}

#: Every accepted name (canonical or alias, upper case) -> level number.
LEVELS_BY_NAME: dict[str, int] = {name: num for num, name in LEVEL_NAMES.items()}
LEVELS_BY_NAME.update({alias: LEVELS_BY_NAME[canon] for alias, canon in ALIASES.items()})

#: Names other logging libraries write for these levels (upper case), read where their records
#: are (structlog's methods, gelf-chainsaw's queries) but never loggers' methods: stdlib
#: logging, structlog and loguru write CRITICAL, log4j and logrus FATAL, both CRIT; PANIC is
#: syslog's old name for EMERG.
FOREIGN_NAMES: dict[str, int] = {"CRITICAL": CRIT, "FATAL": CRIT, "PANIC": EMERG}

#: Logger method name -> level number: every lower-case level name and alias.
METHOD_LEVELS: dict[str, int] = {name.lower(): num for name, num in LEVELS_BY_NAME.items()}

MIN_LEVEL = EMERG
MAX_LEVEL = TRACE8


def parse_level(value: object) -> int:
    """Return the level number for ``value``: an int, a numeric string or a name.

    Names are case-insensitive and include the aliases (``warn``, ``error``, ``dbg``, ``msg``,
    ``trace``). Anything else raises ``ValueError`` naming the accepted forms; a value whose
    own methods raise (``__repr__``, a ``str`` subclass's ``strip``) gets that ``ValueError``
    too, never its own exception.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid log level {value!r}: expected a number 0..15 or a level name")
    if isinstance(value, int):
        number = int.__index__(value)
        if MIN_LEVEL <= number <= MAX_LEVEL:
            return number
        raise ValueError(f"invalid log level {_shown(value)}: numbers must be in 0..15")
    if isinstance(value, str):
        text = str.strip(str.__str__(value))
        if text.isascii() and text.isdigit():
            return parse_level(int(text))
        num = LEVELS_BY_NAME.get(text.upper())
        if num is not None:
            return num
        names = ", ".join(LEVEL_NAMES.values())
        raise ValueError(f"unknown log level {text[:64]!r}: expected 0..15 or one of {names} (or an alias)")
    raise ValueError(f"invalid log level {_shown(value)}: expected a number 0..15 or a level name")


def _shown(value: object) -> str:
    """``repr(value)`` for a message, cut to 64 characters; the type's name if ``repr`` raises."""
    try:
        text = repr(value)
    except Exception:
        return f"of type {type(value).__name__}"
    return text if len(text) <= 64 else text[:61] + "..."


def level_name(level: int) -> str:
    """Return the canonical name of ``level`` (``"INFO"``), or the number as text if unknown."""
    return LEVEL_NAMES.get(level) or str(level)


def syslog_level(level: int) -> int:
    """Clamp a logmagic level to the syslog range 0..7 used by GELF's ``level`` field."""
    return level if level <= DEBUG else DEBUG
