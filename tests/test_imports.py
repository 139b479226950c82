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
