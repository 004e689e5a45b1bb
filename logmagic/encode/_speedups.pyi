from collections.abc import Mapping
from typing import Any

def plain_gelf_dict(
    host: str,
    msg: str,
    ts: float,
    level: int,
    facility: str,
    fields: Mapping[Any, Any],
    names: Mapping[Any, str],
    txn: object,
    empty: str,
    /,
) -> dict[str, Any] | None: ...
