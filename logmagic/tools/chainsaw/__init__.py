"""gelf-chainsaw: search GELF/JSON log lines on one host (files, .gz, svlogd directories, stdin)."""

from logmagic.tools.chainsaw.cli import main

__all__ = ["main"]
