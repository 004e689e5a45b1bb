"""``python -m logmagic.chainsaw``."""

from logmagic.chainsaw.cli import main

raise SystemExit(main())
