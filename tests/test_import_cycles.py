"""The layering rule, checked: no import cycles inside ``logmagic/``, and no submodule imports
the ``logmagic`` package itself.

Every import counts, at module level or inside a function: a function-level import that closes
a cycle still ties the modules' import order together and hides a layering error. So do
``importlib.import_module("...")`` calls with a constant name, which are imports too. Only
imports under ``if TYPE_CHECKING:`` are left out: they never run.

``from logmagic import config`` is an import of the module ``logmagic.config``;
``from logmagic import local`` (a name, not a module) is an import of the package. Importing
``logmagic.encode.gelf`` runs ``logmagic/encode/__init__.py`` first, so it is an import of
``logmagic.encode`` too, except from inside ``logmagic.encode``: the importer's own packages
are loaded already (a package's ``__init__`` that re-exports its modules is no cycle), and
``logmagic`` itself is one of them for every module.
"""

from __future__ import annotations

import ast
import importlib.machinery
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "logmagic"

#: Files that are importable modules: source, stubs (a compiled module's name, when it is not
#: built) and compiled extensions.
_MODULE_SUFFIXES = (".py", ".pyi", *importlib.machinery.EXTENSION_SUFFIXES)


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line``."""

    source: str
    target: str
    line: int

    def __str__(self) -> str:
        return f"{self.source} imports {self.target} (line {self.line})"


def modules(package_dir: Path) -> dict[str, Path | None]:
    """Every module of the package under ``package_dir``: dotted name -> source file (None when
    there is no Python source to read, as for a compiled extension or a stub)."""
    found: dict[str, Path | None] = {}
    for path in sorted(package_dir.rglob("*")):
        suffix = next((s for s in _MODULE_SUFFIXES if path.name.endswith(s)), None)
        if suffix is None or "__pycache__" in path.parts:
            continue
        parts = path.relative_to(package_dir).parts
        parts = (*parts[:-1], path.name[: -len(suffix)])
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join((package_dir.name, *parts))
        if suffix == ".py" or name not in found:
            found[name] = path if suffix == ".py" else None
    return found


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, str | None, int]]:
    """``(module, name or None, line)`` for every import in ``tree`` outside ``if TYPE_CHECKING:``.

    Relative imports are made absolute; ``name`` is set for ``from module import name``.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[str, str | None, int]] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.extend((alias.name, None, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.extend((base, alias.name, node.lineno) for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, None, node.lineno))
        todo.extend(ast.iter_child_nodes(node))
    return found


def import_edges(package_dir: Path) -> list[Edge]:
    """Every import from one module of the package to another (or to the package itself), once
    per pair of modules, with the line of its first occurrence."""
    known = modules(package_dir)
    first: dict[tuple[str, str], int] = {}
    for module, path in known.items():
        if path is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for base, name, line in _imported_names(tree, module, path.name == "__init__.py"):
            target = f"{base}.{name}" if name is not None and f"{base}.{name}" in known else base
            for loaded in _loaded(target, module, known):
                first[module, loaded] = min(line, first.get((module, loaded), line))
    return [Edge(source, target, line) for (source, target), line in sorted(first.items())]


def _loaded(target: str, importer: str, known: dict[str, Path | None]) -> list[str]:
    """The modules an import of ``target`` by ``importer`` runs: ``target`` itself and the
    packages on the way to it, but for the importer's own packages, which are loaded already."""
    parts = target.split(".")
    packages = (".".join(parts[:k]) for k in range(1, len(parts)))
    own = [p for p in packages if p in known and importer != p and not importer.startswith(p + ".")]
    return [*own, target] if target in known else own


def cycles(edges: list[Edge]) -> list[list[Edge]]:
    """The import cycles: for each strongly connected component of more than one module (or a
    module importing itself), the edges inside it."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    # Tarjan's algorithm, iterative: the graph is small, but recursion depth need not be.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    found = []
    for component in components:
        inside = [e for e in edges if e.source in component and e.target in component]
        if len(component) > 1 or inside:
            found.append(inside)
    return sorted(found, key=lambda c: c[0].source)


def package_imports(edges: list[Edge], package: str) -> list[Edge]:
    """Imports of the package ``package`` itself by its own submodules."""
    return [e for e in edges if e.target == package and e.source != package]


def _report(found: list[list[Edge]]) -> str:
    return "\n".join(
        "cycle: " + " <-> ".join(sorted({e.source for e in cycle})) + "".join(f"\n    {e}" for e in cycle)
        for cycle in found
    )


# -- the checker, on small packages made for the purpose ------------------------------------------


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_a_function_level_import_that_closes_a_cycle_is_a_cycle(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg import b\n",
            "b.py": "def f():\n    from pkg.a import x\n    return x\n",
            "c.py": "import pkg.a\n",
        },
    )
    found = cycles(import_edges(pkg))
    assert [[str(e) for e in cycle] for cycle in found] == [
        ["pkg.a imports pkg.b (line 1)", "pkg.b imports pkg.a (line 2)"]
    ]
    assert "cycle: pkg.a <-> pkg.b" in _report(found)


def test_imports_under_type_checking_do_not_count_but_its_else_branch_does(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "import pkg.b\n",
            "b.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg import a\n",
            "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    pass\nelse:\n    from pkg import d\n",
            "d.py": "from . import c\n",
        },
    )
    assert [sorted({e.source for e in cycle}) for cycle in cycles(import_edges(pkg))] == [["pkg.c", "pkg.d"]]


def test_from_package_import_resolves_to_the_submodule_when_there_is_one(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "from pkg.sub import thing\nfrom pkg import sub\n",
            "sub/__init__.py": "from .inner import thing\n",
            "sub/inner.py": "from .. import other\nfrom ..other import helper\nthing = helper\n",
            "other.py": "helper = 1\n",
            "native.pyi": "def fast() -> None: ...\n",
            "user.py": "from pkg import native\nfrom pkg import thing\n",
            "lazy.py": "import importlib\ndef load():\n    return importlib.import_module('pkg')\n",
        },
    )
    edges = import_edges(pkg)
    assert {(e.source, e.target) for e in edges} == {
        ("pkg", "pkg.sub"),
        ("pkg.sub", "pkg.sub.inner"),
        ("pkg.sub.inner", "pkg.other"),
        ("pkg.user", "pkg.native"),
        ("pkg.user", "pkg"),
        ("pkg.lazy", "pkg"),
    }
    assert cycles(edges) == []
    assert [str(e) for e in package_imports(edges, "pkg")] == [
        "pkg.lazy imports pkg (line 3)",
        "pkg.user imports pkg (line 2)",
    ]


def test_importing_a_submodule_loads_the_packages_on_the_way_but_not_the_importers_own(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg.sub.inner import x\n",
            "sub/__init__.py": "from pkg.sub.inner import x\nfrom pkg import a\n",
            "sub/inner.py": "from pkg.sub.other import y\nx = y\n",
            "sub/other.py": "y = 1\n",
        },
    )
    edges = import_edges(pkg)
    assert {(e.source, e.target) for e in edges} == {
        ("pkg.a", "pkg.sub"),
        ("pkg.a", "pkg.sub.inner"),
        ("pkg.sub", "pkg.sub.inner"),
        ("pkg.sub", "pkg.a"),
        ("pkg.sub.inner", "pkg.sub.other"),
    }
    assert [sorted({e.source for e in cycle}) for cycle in cycles(edges)] == [["pkg.a", "pkg.sub"]]


def test_a_module_importing_itself_is_a_cycle(tmp_path: Path) -> None:
    pkg = _package(tmp_path, {"__init__.py": "", "a.py": "def f():\n    from pkg.a import f\n"})
    assert [[str(e) for e in cycle] for cycle in cycles(import_edges(pkg))] == [["pkg.a imports pkg.a (line 2)"]]


# -- logmagic itself ------------------------------------------------------------------------------


def test_the_checker_sees_the_whole_logmagic_package() -> None:
    names = modules(PACKAGE)
    assert {"logmagic", "logmagic.config", "logmagic.web.wsgi", "logmagic.integrations.stdlib"} <= set(names)
    assert any(e.source == "logmagic.web.wsgi" and e.target == "logmagic.api" for e in import_edges(PACKAGE))


def test_no_import_cycles_in_logmagic() -> None:
    found = cycles(import_edges(PACKAGE))
    assert not found, "import cycles in logmagic/:\n" + _report(found)


def test_no_submodule_imports_the_logmagic_package() -> None:
    found = package_imports(import_edges(PACKAGE), "logmagic")
    assert not found, "submodules import the logmagic package (import the module they use instead):\n" + "\n".join(
        f"    {e}" for e in found
    )
