"""The import graph runs one way: the contracts in pyproject.toml ([tool.importlinter]) hold,
and they do catch a backward import when one is added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())", "--config", str(ROOT / "pyproject.toml"),
        "--no-cache"]


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(LINT, cwd=src, env=env, capture_output=True, text=True, timeout=120)


def test_the_package_keeps_its_import_contracts() -> None:
    run = _lint(ROOT / "src")
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_backward_import_breaks_the_contract(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "ecglens", src / "ecglens",
                    ignore=shutil.ignore_patterns("weights", "examples", "static", "__pycache__"))
    filters = src / "ecglens" / "signal" / "filters.py"
    filters.write_text(filters.read_text() + "\nimport ecglens.interpret.result  # noqa\n")
    run = _lint(src)
    assert run.returncode != 0
    assert "ecglens.signal.filters -> ecglens.interpret.result" in run.stdout


def test_no_module_imports_itself_through_others() -> None:
    # the layers contract looks at packages; inside one (models.registry <-> models.bundle)
    # a cycle is as much a defect: strongly connected components of the module graph
    import grimp

    graph = grimp.build_graph("ecglens")
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                cycles.append(sorted([v, *component]))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"
