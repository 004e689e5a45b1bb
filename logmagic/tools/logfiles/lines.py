"""The one line cutter: whole lines out of a byte stream, none of them longer than a bound.

A reader that keeps a line until its newline comes would hold a file without newlines (the
NUL bytes ``copytruncate`` can leave, a binary file read by mistake) whole in memory. The
cutter bounds that at ``max_line`` bytes, in one of two ways:

* ``split=False`` (``gelf-chainsaw``): the first ``max_line`` bytes of a longer line are a
  line, and the rest of it, up to its newline, is skipped. Such a line is not JSON anyway;
  the search goes on with the next one.
* ``split=True`` (``logmagic ship``): a longer line goes on in pieces of ``max_line`` bytes,
  each a line of its own. Nothing is lost, and what waits for its newline is never longer
  than ``max_line``.

Either way the line is counted once in ``oversized``, however many pieces it made.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["Cutter"]


class Cutter:
    """Cuts the bytes it is fed into whole lines, carrying an unfinished line to the next feed.

    ``pending`` holds the bytes not given out yet: the start of a line whose newline has not
    come, and whole lines held back by a ``limit``. ``continued`` says, with ``split``, that
    ``pending`` finishes a line already given out in part; without it, that the rest of a cut
    line is being skipped up to its newline.
    """

    def __init__(self, max_line: int, *, split: bool = False) -> None:
        self.max_line = max_line
        self.split = split
        self.pending = b""
        self.continued = False
        self.oversized = 0
        self._block = bytearray()  # reused by ``block``: warm memory, no allocation per block

    def reset(self) -> None:
        """Drop the unfinished line (the file it was in could not be read on)."""
        self.pending, self.continued = b"", False

    def block(self, data: bytes) -> bytearray:
        """The whole lines ``data`` completes, as one block of newline-terminated lines.

        The block is one buffer, reused by the next call: use it before feeding more. When no
        line can be too long (the usual case) this is one copy and one search for the last
        newline.
        """
        buf = self._block
        if not self.continued and len(self.pending) + len(data) < self.max_line:
            buf[:] = self.pending
            buf += data
            end = buf.rfind(b"\n") + 1
            self.pending = bytes(buf[end:])
            del buf[end:]
        else:
            buf[:] = b"".join(self.feed(data))
        return buf

    def feed(self, data: bytes, limit: int = sys.maxsize, head: Callable[[bytes], bytes] | None = None) -> list[bytes]:
        """The whole lines ``data`` completes, each ending with a newline: at most ``limit`` of
        them (the others stay pending). ``head`` is applied to each line that starts in them (to
        take a timestamp prefix off), never to the pieces that continue a line.
        """
        buf = self.pending + data if self.pending else data
        out: list[bytes] = []
        if self.continued and not self.split:  # the rest of a cut line: skipped up to its newline
            start = buf.find(b"\n") + 1
            if start == 0:
                self.pending = b""
                return out
            self.continued = False
            buf = buf[start:]
        last = buf.rfind(b"\n")
        if last >= 0:
            found = buf[:last].split(b"\n")
            if len(found) > limit:
                found = found[:limit]
                self.pending = buf[sum(map(len, found)) + len(found) :]
            else:
                self.pending = buf[last + 1 :]
            if self.continued or (len(buf) > self.max_line and max(map(len, found)) > self.max_line):
                for line in found:
                    self._whole(line, out, head)
            elif head is not None:
                out.extend(head(line) + b"\n" for line in found)
            else:
                out.extend(line + b"\n" for line in found)
        else:
            self.pending = buf
        rest = self.pending
        too_long = len(rest) > self.max_line if self.split else len(rest) >= self.max_line
        if too_long and b"\n" not in rest:
            if self.split:  # keep 1 to max_line bytes waiting for the newline
                end = (len(rest) - 1) // self.max_line * self.max_line
                self._pieces(rest, end, out, head)
                self.pending = rest[end:]
            else:
                self._pieces(rest, self.max_line, out, head)
                self.pending = b""
            self.continued = True
        return out

    def _whole(self, line: bytes, out: list[bytes], head: Callable[[bytes], bytes] | None) -> None:
        """Append a whole line that may be too long, or may finish one that was."""
        if len(line) > self.max_line:
            self._pieces(line, len(line) if self.split else self.max_line, out, head)
        else:
            out.append((line if self.continued or head is None else head(line)) + b"\n")
        self.continued = False

    def _pieces(self, text: bytes, end: int, out: list[bytes], head: Callable[[bytes], bytes] | None) -> None:
        """Append ``text[:end]`` in pieces of ``max_line`` bytes, each as a line; count the line once."""
        first = not self.continued
        if first:
            self.oversized += 1
        for start in range(0, end, self.max_line):
            piece = text[start : start + self.max_line]
            out.append((head(piece) if first and start == 0 and head is not None else piece) + b"\n")
