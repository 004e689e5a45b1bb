"""Each module imports only the layers below it (or its own), as docs/architecture.md says.

The layers, lowest first; a module may import its own layer and any layer below. The host
tools have rules of their own: the log-file library and gelf-chainsaw stay on the vocabulary
(and the console encoder, for pretty output), so they never load the logging runtime.
"""

from __future__ import annotations

from .test_import_cycles import PACKAGE, import_edges

LAYERS: list[set[str]] = [
    {
        "levels",
        "record",
        "_identity",
        "_safe",
        "_fdio",
        "_forklocks",
        "txn_format",
        "_propagation",
        "trace_context",
        "_inline",
    },
    {"txn"},
    {"encode", "redact", "_report", "flight_recorder"},
    {"sinks", "transport"},
    {"rewriters", "request", "routing", "sink_specs"},
    {"call_paths", "logger"},
    {"config", "lifecycle", "loop_watch"},
    {"api", "web", "integrations", "testing", "pytest_plugin"},
]
#: What each host tool may import besides the other parts of the tools.
TOOLS: dict[str, set[str]] = {
    "logfiles": LAYERS[0],
    "chainsaw": LAYERS[0] | {"encode"},
    "cli": LAYERS[0],
    "version": set(),
    "ship": set().union(*LAYERS),
}


def part(module: str) -> str:
    """``logmagic.sinks.queued`` -> ``sinks``; ``logmagic.tools.ship.cli`` -> ``tools.ship``."""
    names = module.split(".")[1:]
    if names[:1] == ["tools"]:
        return ".".join(names[:2])
    return names[0] if names else ""


def layer(name: str) -> int:
    return next(i for i, parts in enumerate(LAYERS) if name in parts)


def test_every_module_imports_only_its_own_layer_and_those_below() -> None:
    wrong = []
    for edge in import_edges(PACKAGE):
        source, target = part(edge.source), part(edge.target)
        if source in ("", "tools") or target == source:
            continue  # the package itself (it loads the API lazily), and imports within a part
        if source.startswith("tools."):
            allowed = TOOLS[source.removeprefix("tools.")]
            if target not in allowed and not target.startswith("tools"):
                wrong.append(str(edge))
        elif target.startswith("tools") or target == "" or layer(target) > layer(source):
            wrong.append(str(edge))
    assert wrong == []


def test_every_part_of_logmagic_is_in_a_layer() -> None:
    parts = {part(edge.source) for edge in import_edges(PACKAGE)}
    placed = set().union(*LAYERS) | {"", "tools"} | {f"tools.{t}" for t in TOOLS}
    assert parts - placed == set()
