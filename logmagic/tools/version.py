"""``--version`` for the host tools' commands: the installed distribution's version.

The version is looked up (``importlib.metadata``) only when the option is given: the commands
start without it.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["VersionAction", "installed_version"]

TYPE_CHECKING = False  # typing's constant without importing typing: the host tools start faster
if TYPE_CHECKING:
    from typing import Any, NoReturn


def installed_version() -> str:
    """The version of the installed ``logmagic`` distribution ("unknown" when run from a
    source tree that was never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("logmagic")
    except PackageNotFoundError:
        return "unknown (not installed)"


class VersionAction(argparse.Action):
    """``--version``: prints ``PROG VERSION`` on stdout and exits 0, as ``grep --version`` does."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> NoReturn:
        sys.stdout.write(f"{parser.prog} {installed_version()}\n")
        raise SystemExit(0)
