"""The record: what one log call produced, handed to every sink on its route."""

from __future__ import annotations

__all__ = ["Record"]

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:
    from typing import Any


class Record:
    """One log event.

    ``fields`` is a dict owned by this record (never the caller's mapping), already rewritten.
    ``timestamp`` is float seconds since the epoch, taken once when the call was made.
    ``full_message`` holds a traceback or a call stack, or ``None``.
    Sinks must treat a record as read-only: the same object goes to every sink of a route.
    """

    __slots__ = ("facility", "fields", "full_message", "level", "msg", "timestamp")

    def __init__(
        self,
        facility: str,
        level: int,
        msg: str,
        fields: dict[str, Any],
        timestamp: float,
        full_message: str | None = None,
    ) -> None:
        self.facility = facility
        self.level = level
        self.msg = msg
        self.fields = fields
        self.timestamp = timestamp
        self.full_message = full_message

    def __repr__(self) -> str:
        return (
            f"Record(facility={self.facility!r}, level={self.level}, msg={self.msg!r}, "
            f"fields={self.fields!r}, timestamp={self.timestamp!r})"
        )
