"""The shipper's loop: read whole lines, send them, and only then remember how far it got.

Delivery is at least once. For each source the shipper reads a batch of whole lines, sends
it, waits for the collector's acknowledgment, and then writes the position after the batch
to the state file (atomically). A crash between the acknowledgment and the write resends that
one batch after the restart; a line is never skipped. While the collector is down the same
batch is retried with backoff and nothing more is read, so memory stays bounded.

A collector that refuses a batch for good (HTTP 400, 413, 422) gets it again in halves, down
to single lines; only a line refused on its own is dropped, counted and logged. Refusals that
mean a bad configuration (401, 403, 404, …) are retried like an outage, so no line is dropped
because a token expired; the error is logged and the lag grows until someone fixes it.

The shipper logs about itself through logmagic (facility ``logmagic.ship``), to stderr
unless configured otherwise, never into the files it ships.
"""

from __future__ import annotations

import glob
import os
import resource
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import orjson

from logmagic._safe import describe_exception
from logmagic.api import flush, local
from logmagic.tools.logfiles.identity import Trust
from logmagic.tools.ship.destination import Destination, Reject
from logmagic.tools.ship.kinds import Waiting, open_source
from logmagic.tools.ship.source import Batch, Position, Source
from logmagic.tools.ship.state import StateFile, write_atomically
from logmagic.transport.retry import retry_delay

log = local("logmagic.ship")  # the facility of the shipper's own records (docs/ship.md)

#: Seconds at most between two writes of the state while batches are being acknowledged.
SAVE_EVERY = 1.0
#: Descriptors kept for what is not a followed file: the collector's socket, the state and
#: status files, decompressed copies, the interpreter's own.
RESERVED_FDS = 64

#: HTTP refusals that split the batch to find the line at fault; others wait like an outage.
LINE_FAULTS = frozenset((400, 413, 422))
_GLOB_CHARS = frozenset("*?[")


def descriptor_budget() -> int:
    """How many followed files may be open at once: the limit on open files (``ulimit -n``)
    less what the shipper needs besides them."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 16
    return max(1, soft - min(RESERVED_FDS, soft // 2))


@dataclass
class Options:
    """Tuning, from the command line."""

    batch_lines: int = 5000
    batch_bytes: int = 1 << 20
    max_line: int = 1 << 20
    keep_prefix: bool = False
    poll: float = 0.2
    rescan: float = 10.0
    max_backoff: float = 30.0
    status_interval: float = 1.0
    trust: Trust = field(default_factory=Trust)
    max_open: int = field(default_factory=descriptor_budget)


@dataclass
class Totals:
    """Counters over the shipper's run, shown by ``--status``."""

    lines: int = 0
    bytes: int = 0
    batches: int = 0
    retries: int = 0
    dropped: int = 0


def source_specs(spec: str) -> tuple[str, str | None]:
    """``PATH`` or ``PATH::CATEGORY``."""
    path, sep, category = spec.partition("::")
    if not path or (sep and not category):
        raise ValueError(f"--from {spec!r}: expected PATH or PATH::CATEGORY")
    return path, category or None


class Shipper:
    """Follow the sources and forward their lines to ``destination``."""

    def __init__(
        self, specs: list[str], destination: Destination, state: StateFile, status_path: str, options: Options
    ) -> None:
        self.specs = [source_specs(s) for s in specs]
        self.destination = destination
        self.state = state
        self.status_path = status_path
        self.options = options
        self.sources: dict[str, Source | Waiting] = {}
        self.positions: dict[str, Position] = {}
        self.totals = Totals()
        self._stop = threading.Event()
        self._rescan_now = threading.Event()
        self._last_rescan = 0.0
        self._down_since: float | None = None
        self._rate: tuple[float, int] = (time.monotonic(), 0)
        self._lines_per_s = 0.0
        self._unsaved = False  # positions acknowledged since the state was last written
        self._saved_at = 0.0
        self._open: OrderedDict[str, None] = OrderedDict()  # sources holding a file open, least recent first

    # -- control -----------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def rescan(self) -> None:
        self._rescan_now.set()

    def install_signals(self, stop_timeout: float) -> None:
        """SIGTERM/SIGINT: finish the batch in flight, save, exit; SIGHUP: look for new sources."""

        def give_up() -> None:
            log.warning(
                "stop timeout: the send in flight did not end; exiting without it",
                stop_timeout=stop_timeout,
                unsent="the batch in flight, sent again at the next start",
            )
            os._exit(0)

        def on_stop(signum: int, frame: FrameType | None) -> None:
            self.stop()
            # The state is saved after every acknowledged batch, so exiting at any moment is
            # safe: this only bounds how long a send stuck on a dead collector may take.
            timer = threading.Timer(stop_timeout, give_up)
            timer.daemon = True
            timer.start()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, lambda signum, frame: self.rescan())

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        self.positions = self.state.load()
        self._scan()
        log.info(
            "shipping",
            sources=sorted(self.sources),
            destination=self.destination.url,
            state=self.state.path,
        )
        try:
            while not self._stop.is_set():
                if self._rescan_now.is_set() or time.monotonic() - self._last_rescan >= self.options.rescan:
                    self._scan()
                moved = self._round()
                self._write_status()
                if not moved:
                    self._stop.wait(self.options.poll)
        finally:
            self._write_status(force=True)
            self.destination.close()
            for source in self.sources.values():
                source.close()
            log.info("stopped", lines=self.totals.lines, retries=self.totals.retries, dropped=self.totals.dropped)
            flush(2.0)
        return 0

    def _round(self) -> bool:
        """Read each source in turn and send what it has; whether a batch was sent.

        The positions acknowledged in the round are saved at its end (and every
        ``SAVE_EVERY`` seconds during a long one): with one source, after every batch.
        """
        moved = False
        try:
            for source in list(self.sources.values()):
                if self._stop.is_set():
                    break
                sent = self._ship(source)
                if sent is None:
                    break  # stopping, the batch unsent: it is sent again after the restart
                moved = moved or sent
        finally:
            if self._unsaved:
                self._save()
        return moved

    def _ship(self, source: Source | Waiting) -> bool | None:
        """Read a batch of ``source`` and send it: whether there was one; None when asked to stop first."""
        if isinstance(source, Waiting):
            arrived = source.arrived()
            if arrived is None:
                return False
            self.sources[source.path] = source = arrived
        held = source.holds_descriptor
        batch = source.read_batch(self.options.batch_lines, self.options.batch_bytes)
        self._take_notes(source)
        self._budget(source, held, batch is not None)
        if batch is not None:
            if not self._deliver(source, batch):
                return None
            self.positions[source.path] = batch.end
            self._unsaved = True
            if time.monotonic() - self._saved_at >= SAVE_EVERY:
                self._save()
        if source.finished:
            self._retire(source)
        return batch is not None

    def _budget(self, source: Source, held: bool, read: bool) -> None:
        """Keep at most ``max_open`` files open: the sources that read nothing for longest let
        theirs go (they open it again, by identity, when it has something new)."""
        key = source.path
        if not source.holds_descriptor:
            self._open.pop(key, None)
            return
        if read or key not in self._open:
            self._open[key] = None
            self._open.move_to_end(key, last=read)  # opened to find nothing: the first to go
        while len(self._open) > self.options.max_open:
            oldest = next(iter(self._open))
            del self._open[oldest]
            parked = self.sources.get(oldest)
            if isinstance(parked, Source):
                parked.park()

    def _scan(self) -> None:
        """Add the sources named (or matched by a glob) that are not followed yet."""
        self._rescan_now.clear()
        announce = bool(self._last_rescan)  # a new source, not one of those there at the start
        self._last_rescan = time.monotonic()
        for pattern, category in self.specs:
            paths = sorted(glob.glob(pattern)) if _GLOB_CHARS & set(pattern) else [pattern]
            for path in paths:
                key = os.path.abspath(path)
                if key in self.sources or (not os.path.exists(key) and key in self.positions):
                    continue
                if self._own_file(key):
                    continue
                chosen = category or self.destination.category or None
                source = open_source(
                    key,
                    chosen,
                    keep_prefix=self.options.keep_prefix,
                    max_line=self.options.max_line,
                    trust=self.options.trust,
                )
                source.resume(self.positions.get(key))
                self.sources[key] = source
                if announce:
                    log.info("following a new source", source=key, category=source.category or None)

    def _own_file(self, path: str) -> bool:
        """Whether ``path`` is one of the shipper's own files (a glob may match them)."""
        own = (self.state.path, os.path.abspath(self.status_path))
        return path in own or path.startswith(tuple(f"{p}.tmp." for p in own))

    def _retire(self, source: Source | Waiting) -> None:
        """Stop following a deleted file read to its end, and forget its position.

        A path named on the command line is followed again at once, waiting for a new file;
        a glob's match is gone for good.
        """
        source.close()
        del self.sources[source.path]
        self._open.pop(source.path, None)
        if self.positions.pop(source.path, None) is not None:
            self._save()
        log.info("file deleted and shipped to its end; no longer followed", source=source.path)
        self._rescan_now.set()

    def _deliver(self, source: Source, batch: Batch) -> bool:
        """Send ``batch`` until acknowledged; False when asked to stop first.

        Only the lines the collector accepted count as sent; the ones it refused are dropped.
        """
        refused = self._send(source.category, batch.lines)
        if refused is None:
            return False
        self.totals.lines += len(batch.lines) - len(refused)
        self.totals.bytes += sum(map(len, batch.lines)) - sum(map(len, refused))
        self.totals.batches += 1
        return True

    def _send(self, category: str, lines: list[bytes]) -> list[bytes] | None:
        """Send ``lines`` until acknowledged: the lines refused for good, or None when asked to stop first."""
        backoff = 0.0
        while True:
            failure: Exception
            try:
                self.destination.send(category, lines)
            except Reject as exc:
                if exc.status in LINE_FAULTS:
                    return self._send_in_halves(category, lines, exc)
                problem, failure = str(exc), exc
            except Exception as exc:  # Retry, or anything a client raised
                problem, failure = describe_exception(exc), exc
            else:
                if self._down_since is not None:
                    log.notice("collector reachable again", down_s=round(time.monotonic() - self._down_since, 1))
                    self._down_since = None
                return []
            self.totals.retries += 1
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("collector unavailable, retrying; reading paused", error=problem)
            backoff = min(self.options.max_backoff, max(backoff * 2, 0.1))
            if self._stop.wait(min(retry_delay(failure, backoff), self.options.max_backoff)):
                return None
            self._write_status()

    def _send_in_halves(self, category: str, lines: list[bytes], exc: Reject) -> list[bytes] | None:
        if len(lines) == 1:
            self.totals.dropped += 1
            log.error("the collector refused a line; dropped", error=str(exc), bytes=len(lines[0]))
            return lines
        half = len(lines) // 2
        first = self._send(category, lines[:half])
        if first is None:
            return None
        rest = self._send(category, lines[half:])
        return None if rest is None else first + rest

    def _take_notes(self, source: Source | Waiting) -> None:
        counters = source.counters
        while counters.losses:
            log.error(counters.losses.pop(0), source=source.path, gaps=counters.gaps)
        while counters.warnings:
            log.warning(counters.warnings.pop(0), source=source.path)

    def _save(self) -> None:
        self._unsaved, self._saved_at = False, time.monotonic()
        try:
            self.state.save(self.positions)
        except OSError as exc:
            log.error("cannot write the state file; a restart will resend more", error=describe_exception(exc))

    # -- status ------------------------------------------------------------------------------

    def _write_status(self, force: bool = False) -> None:
        now = time.monotonic()
        since, lines_then = self._rate
        if not force and now - since < self.options.status_interval:
            return
        if now > since:
            self._lines_per_s = (self.totals.lines - lines_then) / (now - since)
        self._rate = (now, self.totals.lines)
        try:
            write_atomically(self.status_path, orjson.dumps(self.status()), sync=False)
        except OSError:
            pass  # the status is a convenience; the state file is what matters

    def status(self) -> dict[str, Any]:
        """What ``--status`` shows: counters, and per source its position and bytes behind."""
        sources = []
        for key, source in sorted(self.sources.items()):
            pos = self.positions.get(key)
            behind, _ = source.lag(pos)
            sources.append(
                {
                    "source": key,
                    "category": source.category,
                    "file": pos.name if pos else None,
                    "offset": pos.offset if pos else 0,
                    "bytes_behind": behind,
                    "oversized": source.counters.oversized,
                    "unterminated": source.counters.unterminated,
                    "gaps": source.counters.gaps,
                    "truncations": source.counters.truncations,
                }
            )
        return {
            "pid": os.getpid(),
            "time": time.time(),
            "destination": self.destination.url,
            "collector_down_s": round(time.monotonic() - self._down_since, 1) if self._down_since else 0,
            "lines_sent": self.totals.lines,
            "bytes_sent": self.totals.bytes,
            "lines_per_s": round(self._lines_per_s, 1),
            "retries": self.totals.retries,
            "dropped": self.totals.dropped,
            "sources": sources,
        }
