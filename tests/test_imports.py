"""Imports point down only: each package imports alone, lower layers load nothing above them,
and the DICOM modules have no module-level import cycle (database <-> ingest <-> workers).

Each import runs in a fresh interpreter, so what another test imported cannot hide a missing
or an upward import.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import voxweb

PACKAGES = ("scene", "io", "render", "dicom", "services", "http", "scripting")
ABOVE_CORE = {"http", "services", "scripting", "server", "context", "cli", "execution"}
FORBIDDEN = {
    "scene": {"io", "render", "dicom"} | ABOVE_CORE,
    "io": {"render", "dicom"} | ABOVE_CORE,
    "render": {"io", "dicom"} | ABOVE_CORE,
    "dicom": {"scene", "io", "render"} | ABOVE_CORE,
}
DICOM_DIR = Path(voxweb.__file__).parent / "dicom"

_LOADED = """
import importlib, json, pkgutil, sys
import voxweb.{name} as package
if {walk}:
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted({{m.split(".")[1] for m in sys.modules if m.startswith("voxweb.")}})))
"""


def _loaded(name: str, *, walk: bool) -> set[str]:
    """The voxweb subpackages/modules loaded after importing ``voxweb.<name>`` (and, with
    ``walk``, every module under it) in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _LOADED.format(name=name, walk=walk)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_imports_alone(name):
    assert name in _loaded(name, walk=False)


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_core_packages_do_not_import_upward(name):
    # every module of the package, not only its __init__: a lazy submodule counts too
    upward = _loaded(name, walk=True) & FORBIDDEN[name]
    assert not upward, f"voxweb.{name} loads {sorted(upward)}"


def module_level_imports(package_dir: Path, package: str) -> dict[str, set[str]]:
    """``{module: modules of the package it imports at module level}`` (function-level
    imports excluded; ``if TYPE_CHECKING:`` blocks included: a cycle there is still one)."""
    modules = {p.stem for p in package_dir.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for module in modules:
        tree = ast.parse((package_dir / f"{module}.py").read_text())
        targets: set[str] = set()
        stack: list[ast.stmt] = list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.If, ast.Try)):
                stack.extend(node.body + node.orelse + getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    stack.extend(handler.body)
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
                targets |= {n.split(".")[2] for n in names if n.startswith(package + ".")}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith(package + "."):
                    targets.add(node.module.split(".")[2])
                elif node.module == package:
                    for alias in node.names:
                        targets.add(alias.name if alias.name in modules else "__init__")
        graph[module] = targets & modules - {module}
    return graph


def cycles(graph: dict[str, set[str]], skip: frozenset[str] = frozenset()) -> list[list[str]]:
    """Every elementary cycle's canonical form (starting at its smallest module), by DFS."""
    found: set[tuple[str, ...]] = set()

    def visit(path: list[str]) -> None:
        for nxt in sorted(graph.get(path[-1], set()) - skip):
            if nxt == path[0]:
                found.add(tuple(path))
            elif nxt not in path and nxt > path[0]:
                visit([*path, nxt])

    for start in sorted(set(graph) - skip):
        visit([start])
    return [list(c) for c in sorted(found)]


def test_no_module_level_import_cycles_in_dicom():
    graph = module_level_imports(DICOM_DIR, "voxweb.dicom")
    for module in ("database", "ingest", "workers", "check"):
        assert module in graph
    assert "database" not in graph["ingest"] | graph["workers"] | graph["check"]
    # the package __init__ re-exports from its modules; Python resolves that one by design
    assert cycles(graph, skip=frozenset({"__init__"})) == []


def test_the_cycle_check_finds_a_cycle():
    graph = {"database": {"ingest"}, "ingest": {"workers"}, "workers": {"database"}}
    assert cycles(graph) == [["database", "ingest", "workers"]]


def test_the_two_3d_renderers_do_not_import_each_other_at_module_level():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "voxweb" / "render"
    for module, other in (("raycast", "threed"), ("threed", "raycast")):
        tree = ast.parse((root / f"{module}.py").read_text())
        top = [n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module]
        assert f"voxweb.render.{other}" not in top, (module, other)


def _all_imports() -> dict[str, set[str]]:
    """``{module: voxweb modules it imports}`` over the whole package, at any level (a
    function-level import that closes a cycle is still a cycle). Not counted: ``if
    TYPE_CHECKING:`` blocks (no import at run time) and ``voxweb.__getattr__``, which loads
    ``Server``/``Settings`` on first use for embedding scripts."""
    root = Path(__file__).resolve().parents[1]
    modules: dict[str, Path] = {}
    for path in (root / "voxweb").rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        if module == "voxweb":
            tree.body = [
                n
                for n in tree.body
                if not (isinstance(n, ast.FunctionDef) and n.name == "__getattr__")
            ]
        targets: set[str | None] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets |= {resolve(a.name) for a in node.names if a.name.startswith("voxweb")}
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("voxweb")
            ):
                targets |= {resolve(f"{node.module}.{a.name}") for a in node.names}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or round a loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_no_import_cycles_anywhere_even_through_deferred_imports():
    graph = _all_imports()
    assert "voxweb.http.slicer_api" in graph and "voxweb.scripting.mrml_scene" in graph
    assert _strongly_connected(graph) == []


def test_the_whole_tree_check_sees_a_cycle_closed_by_a_deferred_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _strongly_connected(graph) == [["a", "b", "c"]]
