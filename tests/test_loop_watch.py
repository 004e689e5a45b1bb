"""``logmagic.watch_event_loop``: who blocked the event loop, for how long, and where."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import logmagic
from logmagic import loop_watch
from tests.conftest import ListSink


def stall_records(sink: ListSink) -> list[logmagic.Record]:
    return [r for r in sink.records if r.facility == loop_watch.FACILITY]


def test_a_blocking_call_is_one_record_at_detection_and_one_at_the_end(sink: ListSink) -> None:
    async def blocking_handler() -> None:
        async with logmagic.transaction(".t-block"), logmagic.context(accountId="ac1"):
            await asyncio.sleep(0.05)
            time.sleep(0.6)

    async def main() -> None:
        watch = logmagic.watch_event_loop(threshold=0.1)
        await asyncio.sleep(0.05)
        await asyncio.create_task(blocking_handler(), name="request-7")
        await asyncio.sleep(0.15)  # the watchdog sees the heartbeat again
        watch.stop()

    asyncio.run(main())
    first, last = stall_records(sink)
    assert first.level == logmagic.WARNING and first.msg == f"event loop blocked for {first.fields['blocked_ms']} ms"
    assert first.fields["blocked_ms"] >= 100  # reported only once the threshold has passed
    if sys.version_info >= (3, 11):
        assert first.fields["txnId"] == ".t-block" and first.fields["accountId"] == "ac1"
    assert first.fields["task"] == "request-7"
    assert first.full_message is not None and "time.sleep(0.6)" in first.full_message
    assert "in blocking_handler" in first.full_message
    assert last.fields["stall_ended"] is True and last.fields["task"] == "request-7"
    # The loop was held at least 600 ms; the count starts when the missed beat was due, at most
    # threshold/2 (50 ms) after the stall began. No upper bound: a loaded machine only adds.
    assert last.fields["blocked_ms"] >= 600 - 50 - 5
    assert last.fields["blocked_ms"] >= first.fields["blocked_ms"]


def test_awaiting_never_counts_as_a_stall(sink: ListSink) -> None:
    # Awaits four times the threshold; the threshold is far above what a loaded machine's
    # scheduler delays a loop by, so a stall here could only be the awaiting counted as one.
    async def main() -> int:
        watch = logmagic.watch_event_loop(threshold=0.25)
        await asyncio.gather(*(asyncio.sleep(1.0) for _ in range(10)))
        watch.stop()
        return watch.stalls

    assert asyncio.run(main()) == 0
    assert stall_records(sink) == []


def test_watching_twice_is_one_watch_and_a_closed_loop_ends_it() -> None:
    loop = asyncio.new_event_loop()
    first = logmagic.watch_event_loop(loop, threshold=0.25)
    assert logmagic.watch_event_loop(loop, threshold=0.5) is first
    threads = [t for t in threading.enumerate() if t.name == "logmagic-loop-watch" and t.is_alive()]
    loop.run_until_complete(asyncio.sleep(0.05))
    time.sleep(0.6)  # not running between run_until_complete calls, past the threshold: not a stall
    assert first.stalls == 0
    loop.close()
    first._thread.join(1.0)
    assert not first._thread.is_alive() and first._thread in threads


@pytest.mark.parametrize("threshold", [0, -1, float("nan"), "0.1", True, 10_000])
def test_a_bad_threshold_says_what_is_wrong(threshold: object) -> None:
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="threshold"):
            logmagic.watch_event_loop(loop, threshold=threshold)  # type: ignore[arg-type]
    finally:
        loop.close()


def test_outside_a_loop_it_asks_for_one() -> None:
    with pytest.raises(ValueError, match="pass loop="):
        logmagic.watch_event_loop()


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "LOGMAGIC_ROUTES": "__root__=INFO:graylog2-stderr"},
    )


def test_the_watch_never_keeps_the_process_alive() -> None:
    done = run(
        """
        import asyncio, logmagic
        loop = asyncio.new_event_loop()
        logmagic.watch_event_loop(loop, threshold=0.05)
        loop.run_until_complete(asyncio.sleep(0.1))
        print("main done")  # the loop is left open: only the daemon thread remains
        """
    )
    assert done.returncode == 0 and done.stdout == "main done\n"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_starts_a_watch_of_its_own() -> None:
    done = run(
        """
        import asyncio, os, threading, time, logmagic
        async def main():
            logmagic.watch_event_loop(threshold=0.05)
            await asyncio.sleep(0.05)
        asyncio.run(main())
        pid = os.fork()
        if pid == 0:
            alive = [t.name for t in threading.enumerate() if t.name == "logmagic-loop-watch"]
            async def child():
                # one stall of four thresholds; the threshold far above scheduling delays
                watch = logmagic.watch_event_loop(threshold=0.2)
                await asyncio.sleep(0.02)
                time.sleep(0.8)
                await asyncio.sleep(0.3)
                return watch.stalls
            stalls = asyncio.run(child())
            print(f"child threads={alive} stalls={stalls}", flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        """
    )
    assert "child threads=[] stalls=1" in done.stdout, done.stderr
    assert '"_facility":"logmagic.loop"' in done.stderr
