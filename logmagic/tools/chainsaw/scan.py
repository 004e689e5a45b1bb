"""The scan: lines read from a stream, judged against the query, handed to the output.

``judge`` is the one definition of what a line is to a query: its svlogd prefix taken off (the
prefix's time kept), the rest parsed as JSON (orjson), and, if that is an object, the query
evaluated on it. ``Scan.feed_every_line`` runs it on every line, as written; it is the
reference (and what ``--strict`` and ``--show-bad`` run, since they must see every line).

``Scan.feed`` is the fast variant, checked against the reference by the tests
(tests/tools/chainsaw/test_equivalence.py): the query's byte prefilter picks the lines that may
match (``query.LineFilter``), and only those are judged, by the same steps written out in one
loop (no call per line, the prefix's time worked out only when something needs it). Lines the
prefilter skips are not parsed; the ones among them that do not start with ``{`` after their
prefix are counted as not JSON (``bytescan.odd_lines``, found in the pass that finds the
escapes), so that count stays honest without parsing them. Where only the matches' text is
needed (``-o json``, ``--count``), the lines that pass are first judged in C without the parser
(``bytescan.decide``, from ``Query.plan``): a line it decides is not parsed at all, and every
other one is parsed as before.

Output is gathered and written in pieces of about 256 KiB, not a system call per line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from logmagic.tools.chainsaw.bytescan import bodies, bodies_at, decide, marks
from logmagic.tools.chainsaw.query import MISSING, Buffer, Query, as_text, lookup, record_time
from logmagic.tools.chainsaw.render import Renderer, json_line
from logmagic.tools.logfiles.prefix import strip_prefix

__all__ = ["Scan", "judge"]

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:
    from typing import IO, Any

#: Bytes of output gathered before they are written.
_FLUSH_AT = 1 << 18


def judge(raw: bytes, query: Query) -> tuple[dict[str, Any] | None, bytes, float | None, bool]:
    """What the line ``raw`` (no newline) is to ``query``: its JSON object (None when it is not
    one), the line without its svlogd prefix, the prefix's time, and whether it matches."""
    import orjson

    if raw[:1] == b"{":  # no svlogd prefix: the usual case, without a call
        body, when = raw, None
    else:
        body, when = strip_prefix(raw)
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, body, when, False
    if not isinstance(obj, dict):
        return None, body, when, False
    return obj, body, when, query.matches(obj, when)


class _Spans:
    """Lines where they are: ``buf[spans[2i]:spans[2i + 1]]`` is line ``i``."""

    __slots__ = ("buf", "spans")

    def __init__(self, buf: Buffer, spans: list[int]) -> None:
        self.buf = buf
        self.spans = spans

    def __getitem__(self, i: int) -> bytes:
        return bytes(self.buf[self.spans[2 * i] : self.spans[2 * i + 1]])

    def lines(self) -> list[bytes]:
        spans = self.spans
        with memoryview(self.buf) as view:
            return [view[spans[i] : spans[i + 1]].tobytes() for i in range(0, len(spans), 2)]


class Scan:
    """One run: judges the lines it is fed, counts, and gathers what to print.

    ``render`` is None with ``--count``. ``order`` collects the rendered lines to print them
    sorted by time at the end (``--txn``). ``bad`` is called with each line that is not a JSON
    object (``--strict``, ``--show-bad``); ``needs_time``: whether the prefix's time must be
    worked out for every match (a time window, pretty output, ``--txn``'s order), else only
    the line without its prefix is.
    """

    def __init__(
        self,
        query: Query,
        render: Renderer | None,
        out: IO[bytes],
        *,
        prefilter: bool = True,
        by: str | None = None,
        order: bool = False,
        bad: Callable[[bytes], None] | None = None,
        needs_time: bool = True,
        line_by_line: bool = False,
    ) -> None:
        self.query = query
        self.render = render
        self.out = out
        self.filter = query.prefilter() if prefilter else None
        self.by_field = by
        self.order = order
        self.on_bad = bad
        self.needs_time = needs_time or order or query.since is not None or query.until is not None
        self.test = query.timeless() or (lambda obj: query.matches(obj, None))
        self.plan = query.plan()  # None: every line the prefilter lets through is parsed
        self.line_by_line = line_by_line  # a terminal: each line as soon as it is found
        self.source = ""
        self.matched = 0
        self.bad = 0
        self.by: Counter[str | None] = Counter()  # --count --by: None counts records without the field
        self.pending: list[bytes] = []
        self.collected: list[tuple[float, int, bytes]] = []

    # -- the reference: every line judged on its own ------------------------------------------

    def feed_every_line(self, buf: Buffer, end: int | None = None) -> None:
        """Judge every line of ``buf[:end]`` (whole lines; all of ``buf`` by default)."""
        if end is None:
            end = len(buf)
        data = bytes(buf[:end])
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()
        for raw in lines:
            obj, body, when, hit = judge(raw, self.query)
            if obj is None:
                if raw.strip():  # blank lines are not bad lines
                    self._bad(raw)
            elif hit:
                self._hit(obj, raw, body, when)
        self._settle()

    # -- the fast variant ------------------------------------------------------------------------

    def feed(self, buf: Buffer, end: int | None = None) -> None:
        """Process the whole lines in ``buf[:end]`` (all of ``buf`` by default), as
        ``feed_every_line`` would, judging only the lines the prefilter lets through."""
        if end is None:
            end = len(buf)
        if self.on_bad is not None:
            self.feed_every_line(buf, end)
            return
        if self.filter is None:
            data = bytes(buf[:end])
            lines = data.split(b"\n")
            if data.endswith(b"\n"):
                lines.pop()
            self._judge(lines)
            self._settle()
            return
        f = self.filter
        escapes, odd = marks(buf, 0, end, f.units, f.short)
        spans = f.spans(buf, end, escapes)
        if odd:  # lines not JSON; those the prefilter passed are counted when parsed
            self.bad += len(set(odd).difference(spans[::2]))
        if spans:
            self._judge(_Spans(buf, spans))
        self._settle()

    def _judge(self, lines: list[bytes] | _Spans) -> None:
        """``judge`` on each line, written out in one loop, then the matches handled. ``lines``:
        the lines, or where they are in the buffer read (made into bytes only as needed)."""
        if self.needs_time:
            self._judge_timed(lines if isinstance(lines, list) else lines.lines())
            return
        texts = bodies(lines) if isinstance(lines, list) else bodies_at(lines.buf, lines.spans)
        # -o json or --count: the matches' text is all that is needed, so the lines decide()
        # judges without the parser are not parsed; other outputs need each match's object
        text_only = (self.render is json_line and not self.order) or (self.render is None and self.by_field is None)
        found: list[int] = []
        todo: list[int] | range = range(len(texts))
        if text_only and self.plan is not None:
            found, todo = decide(texts, self.plan)
        decided = len(found)
        objs: list[dict[str, Any]] = []
        bad = 0
        if todo:
            import orjson  # imported at the first line to parse: a search that parses none needs none

            loads, error, test = orjson.loads, orjson.JSONDecodeError, self.test
            for i in todo:
                try:
                    obj = loads(texts[i])
                except error:
                    if lines[i].strip():
                        bad += 1
                    continue
                if type(obj) is dict:
                    if test(obj):
                        found.append(i)
                        objs.append(obj)
                elif lines[i].strip():
                    bad += 1
        self.bad += bad
        if not text_only:
            for i, obj in zip(found, objs, strict=True):
                self._hit(obj, lines[i], texts[i], None)
            return
        if decided and len(found) > decided:
            found.sort()  # the output keeps the lines' order
        self.matched += len(found)
        if found and self.render is not None:
            self.pending.append(b"\n".join([texts[i] for i in found]) + b"\n")

    def _judge_timed(self, lines: list[bytes]) -> None:
        """``_judge`` where the prefix's time matters (a time window, pretty output, ``--txn``)."""
        import orjson

        loads, error, matches = orjson.loads, orjson.JSONDecodeError, self.query.matches
        strip = strip_prefix
        for raw in lines:
            if raw[:1] == b"{":
                body, when = raw, None
            else:
                body, when = strip(raw)
            try:
                obj = loads(body)
            except error:
                if raw.strip():
                    self.bad += 1
                continue
            if type(obj) is not dict:
                if raw.strip():
                    self.bad += 1
                continue
            if matches(obj, when):
                self._hit(obj, raw, body, when)

    # -- matches and bad lines ---------------------------------------------------------------------

    def _hit(self, obj: dict[str, Any], raw: bytes, body: bytes, when: float | None) -> None:
        self.matched += 1
        if self.render is None:
            if self.by_field is not None:
                value = lookup(obj, self.by_field)
                self.by[None if value is MISSING else as_text(value)] += 1
            return
        line = self.render(obj, raw, body, when, self.source)
        if self.order:
            self.collected.append((record_time(obj, when) or 0.0, len(self.collected), line))
        else:
            self.pending.append(line)

    def _bad(self, raw: bytes) -> None:
        self.bad += 1
        if self.on_bad is not None:
            self.on_bad(raw)

    # -- output ------------------------------------------------------------------------------

    def _settle(self) -> None:
        """Write what is gathered once it is big enough, or at once on a terminal."""
        if self.pending and (self.line_by_line or len(self.pending) >= 512 or sum(map(len, self.pending)) >= _FLUSH_AT):
            self.flush()

    def flush(self) -> None:
        """Write what is gathered (one write), and flush the output."""
        if self.pending:
            pieces, self.pending = self.pending, []
            if len(pieces) == 1 or sum(map(len, pieces)) >= _FLUSH_AT:
                for piece in pieces:  # big pieces (a block's matches): written as they are
                    self.out.write(piece)
            else:
                self.out.write(b"".join(pieces))
        self.out.flush()

    def finish(self) -> None:
        """Write the rest: ``--txn``'s records in time order, or the counts."""
        self.pending += [line for _, _, line in sorted(self.collected)]
        self.collected.clear()
        self.flush()
