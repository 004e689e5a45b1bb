"""Backoff between tries: doubling up to a ceiling, with jitter unless the collector asked for a delay."""

from __future__ import annotations

from logmagic.transport.retry import Reject, Retry, next_backoff, retry_delay


def test_backoff_starts_at_first_doubles_and_stops_at_the_ceiling() -> None:
    waits = []
    backoff = 0.0
    for _ in range(8):
        backoff = next_backoff(backoff, 0.05, 1.0)
        waits.append(backoff)
    assert waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_the_delay_is_what_the_collector_asked_for_else_the_backoff_jittered_down_to_half() -> None:
    assert retry_delay(Retry("HTTP 429", after=7.0), 0.1) == 7.0
    for exc in (Retry("HTTP 503"), Reject("HTTP 400", 400), OSError("reset")):
        delays = [retry_delay(exc, 2.0) for _ in range(200)]
        assert all(1.0 <= d <= 2.0 for d in delays)
        assert len(set(delays)) > 1, "jittered, so that many clients do not retry in step"
