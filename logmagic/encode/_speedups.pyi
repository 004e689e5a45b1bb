from collections.abc import Mapping
from typing import Any

def copy_plain(d: dict[str, Any], fields: Mapping[Any, Any], names: Mapping[Any, str], /) -> bool: ...
