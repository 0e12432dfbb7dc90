"""The package's shape, checked statically (ast, nothing imported): argparse only under bench/cli/,
modules under 400 lines, project imports at the top of each module, no import cycle among them."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(BENCH.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(BENCH.rglob("*.py"))}


MODULES = modules()
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()}


def imported(node: ast.AST, name: str, path: Path) -> list[str]:
    """Absolute names an import statement brings in (`from a import b` -> a.b and a)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: resolve against this module's package
            package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
        return [f"{base}.{a.name}" for a in node.names] + [base]
    return []


def project_targets(names: list[str]) -> set[str]:
    """The bench modules among imported names: `from bench.x import y` is bench.x.y if that is a module, else bench.x."""
    found = set()
    for n in names:
        while n and n not in MODULES:
            n = n.rpartition(".")[0]
        if n:
            found.add(n)
    return found


def top_level_imports(tree: ast.Module) -> list[ast.stmt]:
    """Import statements run when the module is imported: the module body, into if/try blocks, not into functions."""
    out, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        elif isinstance(node, (ast.If, ast.Try)):
            todo.extend(node.body + node.orelse + getattr(node, "finalbody", []))
            for h in getattr(node, "handlers", []):
                todo.extend(h.body)
    return out


def graph() -> dict[str, set[str]]:
    return {
        name: set().union(*(project_targets(imported(n, name, MODULES[name])) for n in top_level_imports(tree)))
        - {name}
        for name, tree in TREES.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_checks_see_what_they_check():
    assert len(MODULES) > 30 and "bench.cli" in MODULES and "bench.cli.run" in MODULES
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    edges = graph()
    assert "bench.cli" in edges["bench.cli.run"] and "bench.errors" in edges["bench.cli"]  # a submodule -> its package


def test_argparse_only_under_bench_cli():
    offenders = [
        f"{MODULES[name].relative_to(BENCH.parent)}:{node.lineno}"
        for name, tree in TREES.items()
        if not (name == "bench.cli" or name.startswith("bench.cli."))
        for node in ast.walk(tree)
        if any(n == "argparse" or n.startswith("argparse.") for n in imported(node, name, MODULES[name]))
    ]
    assert not offenders, f"argparse imported outside bench/cli/: {offenders}"


def test_modules_are_small():
    sizes = {
        p.relative_to(BENCH.parent).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in MODULES.values()
    }
    assert len(sizes) == len(MODULES) and max(sizes.values()) > MAX_LINES // 2  # the count sees real modules
    over = {rel: n for rel, n in sizes.items() if n > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_project_imports_are_at_the_top():
    offenders = []
    for name, tree in TREES.items():
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            for node in ast.walk(fn):
                if project_targets(imported(node, name, MODULES[name])) or getattr(node, "level", 0):
                    offenders.append(f"{MODULES[name].relative_to(BENCH.parent)}:{node.lineno}")
    assert not offenders, f"function-local imports of project modules: {sorted(set(offenders))}"
