"""``python -m logmagic.tools.chainsaw``."""

from logmagic.tools.chainsaw.cli import run

run()
