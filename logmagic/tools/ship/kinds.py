"""Which kind of source a path is: an svlogd directory or a file, decided when it first exists.

A path that does not exist yet is followed all the same (a log service started after the
shipper makes its directory then): it is ``Waiting`` until it appears, and becomes the source
of the kind it is then, for good.
"""

from __future__ import annotations

import os
import stat

from logmagic.tools.logfiles.identity import Trust
from logmagic.tools.ship.file_source import FileSource
from logmagic.tools.ship.source import Counters, Position, Source
from logmagic.tools.ship.svlogd_source import SvlogdSource

__all__ = ["Waiting", "open_source"]


class Waiting:
    """A path followed before it exists: nothing to read, nothing behind; ``arrived`` gives the
    source once the path is there."""

    holds_descriptor = False
    finished = False

    def __init__(self, path: str, category: str | None, keep_prefix: bool, max_line: int, trust: Trust) -> None:
        self.path = os.path.abspath(path)
        self.category = category or ""
        self.counters = Counters()
        self._options = (keep_prefix, max_line, trust)
        self._position: Position | None = None

    def resume(self, position: Position | None) -> None:
        """Where the source starts once the path exists."""
        self._position = position

    def arrived(self) -> Source | None:
        """The source, once the path exists (resumed where asked); None until then."""
        keep_prefix, max_line, trust = self._options
        source = _existing(self.path, self.category or None, keep_prefix, max_line, trust)
        if source is not None:
            source.resume(self._position)
        return source

    def lag(self, position: Position | None, count_lines: bool = False) -> tuple[int, int | None]:
        """Nothing is behind a path that is not there."""
        return 0, 0 if count_lines else None

    def close(self) -> None:
        """Nothing is open."""

    def __repr__(self) -> str:
        return f"<Waiting {self.path} category={self.category}>"


def open_source(
    path: str,
    category: str | None = None,
    *,
    keep_prefix: bool = False,
    max_line: int = 1 << 20,
    trust: Trust = Trust(),  # noqa: B008 - frozen, shared safely
) -> Source | Waiting:
    """The source following ``path``: an ``SvlogdSource`` for a directory, a ``FileSource``
    otherwise, ``Waiting`` while the path does not exist."""
    source = _existing(path, category, keep_prefix, max_line, trust)
    return source if source is not None else Waiting(path, category, keep_prefix, max_line, trust)


def _existing(path: str, category: str | None, keep_prefix: bool, max_line: int, trust: Trust) -> Source | None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    kind = SvlogdSource if stat.S_ISDIR(mode) else FileSource
    return kind(path, category, keep_prefix=keep_prefix, max_line=max_line, trust=trust)
