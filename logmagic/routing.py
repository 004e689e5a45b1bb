"""The route table: which sinks, and down to which level, a facility's records go to.

Patterns: ``__root__`` matches every facility; ``a.b`` matches ``a.b`` and its descendants;
``a.b.*`` matches the descendants of ``a.b`` only. A facility uses the single most specific
route that matches it (more name components win; ``a.b.*`` beats ``a.b``); setting a pattern
again replaces its route. Routes are resolved when the configuration changes, never per call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ROOT", "Route", "RouteTable", "check_pattern"]

ROOT = "__root__"
_COMPONENT = re.compile(r"[^.*\s]+")  # fullmatch: ``$`` would accept a trailing newline


@dataclass(frozen=True)
class Route:
    """Records of facilities matching ``pattern`` at ``level`` or more severe go to ``sinks``."""

    pattern: str
    level: int
    sinks: tuple[str, ...]

    @property
    def specificity(self) -> tuple[int, int]:
        """Sort key: deeper patterns first, and ``a.b.*`` before ``a.b``."""
        if self.pattern == ROOT:
            return (0, 0)
        if self.pattern.endswith(".*"):
            return (self.pattern.count("."), 1)
        return (self.pattern.count(".") + 1, 0)

    def matches(self, facility: str) -> bool:
        """Whether this route applies to ``facility``."""
        p = self.pattern
        if p == ROOT:
            return True
        if p.endswith(".*"):
            return facility.startswith(p[:-1])
        return facility == p or facility.startswith(p + ".")


def check_pattern(pattern: object) -> str:
    """Return ``pattern`` if it is a valid route pattern, else raise ``ValueError``."""
    if not isinstance(pattern, str):
        raise ValueError(f"invalid route pattern {pattern!r}: expected a string")
    if pattern == ROOT:
        return pattern
    body = pattern[:-2] if pattern.endswith(".*") else pattern
    if not body or not all(_COMPONENT.fullmatch(part) for part in body.split(".")):
        raise ValueError(f"invalid route pattern {pattern!r}: expected __root__, a facility like 'a.b', or 'a.b.*'")
    return pattern


class RouteTable:
    """An ordered set of routes, one per pattern."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def put(self, route: Route) -> None:
        """Add ``route``, replacing any route with the same pattern."""
        self._routes.pop(route.pattern, None)
        self._routes[route.pattern] = route

    def remove(self, pattern: str) -> None:
        """Forget the route for ``pattern`` (no error when there is none)."""
        self._routes.pop(pattern, None)

    def clear(self) -> None:
        """Forget every route."""
        self._routes.clear()

    def routes(self) -> list[Route]:
        """All routes, oldest first."""
        return list(self._routes.values())

    def match(self, facility: str) -> Route | None:
        """The most specific route for ``facility``; among equals, the one set last."""
        best: Route | None = None
        for route in self._routes.values():
            if route.matches(facility) and (best is None or route.specificity >= best.specificity):
                best = route
        return best
