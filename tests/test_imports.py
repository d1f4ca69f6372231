"""The package's module graph has no circles, counting imports inside functions too.

A circle (words -> diff -> build -> render -> words) means a low layer depends on a high
one; deferring the import into a function hides it from Python but not from the design,
so every `import` and `from ... import` anywhere in a module counts here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bulletin

PACKAGE = Path(bulletin.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The package module an import names (a `from pkg import mod` names the module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for t in targets:
                dep = _resolve(t, modules)
                if dep and dep != mod and not mod.startswith(dep + ".") and dep != "bulletin":
                    graph[mod].add(dep)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary circle found by depth-first search (one per back edge)."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_the_finder_sees_a_circle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    assert "bulletin.build" in graph["bulletin.cli"]  # imported inside _dispatch
    assert "bulletin.analysis.logit" in graph["bulletin.analysis.stepwise"]


def test_no_import_circles_in_the_package() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_words_and_render_do_not_reach_the_commands() -> None:
    """The wording layer must not depend on the modules that load or rebuild editions."""
    graph = import_graph()

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    for low in ("bulletin.words", "bulletin.change", "bulletin.diff"):
        assert not reach(low) & {"bulletin.build", "bulletin.sides", "bulletin.cli"}, low


def test_rendering_and_publishing_import_no_numerical_libraries() -> None:
    """An editor's re-render needs jinja2 and markdown; pandas, scipy and matplotlib cost
    over a second and 150 MiB to import, so the render side must not pull them in."""
    import subprocess
    import sys

    code = ("import sys, bulletin.render, bulletin.words, bulletin.tables, bulletin.publish\n"
            "print([m for m in ('pandas', 'scipy', 'numpy', 'matplotlib', 'statsmodels') "
            "if m in sys.modules])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    assert run.stdout.strip() == "[]"
