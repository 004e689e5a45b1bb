"""What a failed send means, and how long to wait before the next try.

A client raises ``Retry`` when the collector may take the same batch later (it is down,
overloaded, said ``TRY_LATER`` or ``503``) and ``Reject`` when it refused the batch for good.
The caller keeps the batch and waits: ``next_backoff`` doubles the wait after each failure,
up to a ceiling, and ``retry_delay`` adds jitter, or takes what the collector asked for.
"""

from __future__ import annotations

import random

__all__ = ["Reject", "Retry", "next_backoff", "retry_delay"]


class Retry(Exception):
    """Delivery failed for now: keep the batch and try again (after ``after`` seconds if given)."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Reject(Exception):
    """The destination refused the batch for good (a bad request): drop it, count it, report it.

    ``status`` is the HTTP status when there is one, so a caller that must not drop lines
    (the shipper) can tell a bad line (400, 413) from a bad configuration (401, 403, 404).
    """

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


def next_backoff(previous: float, first: float, ceiling: float) -> float:
    """The backoff after one more failure: ``first`` after the first one (``previous`` 0),
    then twice the previous one, never more than ``ceiling``."""
    return min(ceiling, max(previous * 2, first))


def retry_delay(exc: BaseException, backoff: float) -> float:
    """Seconds to wait before trying again: what the destination asked for (``Retry.after``,
    an HTTP ``Retry-After``), else ``backoff`` with jitter, so that many clients do not retry
    in step."""
    after = exc.after if isinstance(exc, Retry) else None
    return after if after is not None else backoff * random.uniform(0.5, 1.0)
