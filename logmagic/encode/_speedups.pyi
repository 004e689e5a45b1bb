from collections.abc import Callable, Iterator, Mapping
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
def plain_size(fields: Mapping[Any, Any], names: Mapping[Any, str], /) -> int: ...
def keep_plain(
    entries: Any,
    fields: Mapping[Any, Any],
    names: Mapping[Any, str],
    spec: Any,
    msg: str,
    scope: Any,
    base: int,
    now: Callable[[], float],
    /,
) -> int: ...
def trim_kept(
    entries: Any, accounted: int, size: int, held: int, max_records: int, max_bytes: int, max_total: int, /
) -> tuple[int, int, int, int, int, int]: ...
def plain_gelf_line(
    host: str,
    msg: str,
    ts: float,
    level: int,
    facility: str,
    fields: Mapping[Any, Any],
    names: Mapping[Any, str],
    txn: object,
    empty: str,
    dumps: Callable[..., bytes],
    option: int,
    /,
) -> bytes | None: ...
def write_counted(fd: int, data: bytes, counter: Iterator[int], /) -> int: ...
