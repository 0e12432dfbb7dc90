"""The package's shape, checked statically (ast, nothing imported): argparse only under bench/cli/,
modules under 400 lines, project imports at the top of each module, no import cycle among them, every import
going down the layers (declared once, below; docs/layout.md shows them), no private name taken from another
module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
LAYOUT = BENCH.parent / "docs" / "layout.md"
MAX_LINES = 400

# The layers, lowest first: a module imports from its own layer and the layers before it, never from a later one.
# Names are packages or modules under bench/ ("" is bench/__init__.py); docs/layout.md shows this list.
LAYERS = (
    ("", "errors", "paths", "safe_yaml"),
    ("options", "overrides", "config"),
    ("catalog",),
    ("measure",),
    ("rows",),
    ("execute",),
    ("analysis",),
    ("switching",),
    ("serving",),
    ("render",),
    ("history",),
    ("cli", "__main__"),
)


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


def layer(module: str) -> int | None:
    """The index in LAYERS of a bench module (bench.x.y is in x's layer); None when no layer names it."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    return next((i for i, names in enumerate(LAYERS) if top in names), None)


def all_imports(tree: ast.Module) -> list[ast.stmt]:
    """Every import statement, wherever it runs (module body, functions, TYPE_CHECKING blocks)."""
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def upward_imports(name: str, tree: ast.Module, path: Path) -> list[str]:
    """Each import of `name` that reaches a later layer, as 'file:line imports target (layer x, above y)'."""
    here = layer(name)
    out = []
    for node in all_imports(tree):
        for target in sorted(project_targets(imported(node, name, path))):
            there = layer(target)
            if here is not None and there is not None and there > here:
                rel = path.relative_to(BENCH.parent).as_posix()
                out.append(f"{rel}:{node.lineno} imports {target} (layer {LAYERS[there][0]}, above {LAYERS[here][0]})")
    return out


def private(attr: str) -> bool:
    return attr.startswith("_") and not (attr.startswith("__") and attr.endswith("__"))


def private_imports(name: str, tree: ast.Module, path: Path) -> list[str]:
    """Each private name (a leading underscore) taken from another bench module: `from m import _x`, or `m._x`
    where m is a bench module bound by an import."""
    rel = path.relative_to(BENCH.parent).as_posix()
    out, bound = [], {}
    for node in all_imports(tree):
        if isinstance(node, ast.ImportFrom):
            (source,) = project_targets([imported(node, name, path)[-1]]) or {None}
            for a in node.names:
                if source and source != name and private(a.name) and f"{source}.{a.name}" not in MODULES:
                    out.append(f"{rel}:{node.lineno} imports {a.name} from {source}")
                if source and f"{source}.{a.name}" in MODULES:
                    bound[a.asname or a.name] = f"{source}.{a.name}"
        else:
            bound.update({a.asname: a.name for a in node.names if a.asname and a.name in MODULES})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and private(node.attr):
            module = bound.get(node.value.id)
            if module and module != name:
                out.append(f"{rel}:{node.lineno} uses {node.value.id}.{node.attr} of {module}")
    return out


def documented_layers() -> tuple[tuple[str, ...], ...]:
    """The layers as docs/layout.md lists them: the lines 'N  name name  what' of its layers block."""
    parts = LAYOUT.read_text(encoding="utf-8").split("<!-- layers -->")
    assert len(parts) == 3, "docs/layout.md: no layers block between two <!-- layers --> lines"
    block = parts[1]
    rows = [re.split(r"\s{2,}", line.strip()) for line in block.splitlines() if line.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1)), "docs/layout.md: layers not numbered 1..n"
    return tuple(tuple("" if n == "__init__" else n.removesuffix("/") for n in r[1].split()) for r in rows)


def test_the_layer_checks_see_what_they_check():
    fake = BENCH / "analysis" / "fake.py"
    up = ast.parse("from bench.serving import STRATEGIES\nimport bench.rows.schema\ndef f():\n    import bench.cli\n")
    assert upward_imports("bench.analysis.fake", up, fake) == [
        "bench/analysis/fake.py:1 imports bench.serving (layer serving, above analysis)",
        "bench/analysis/fake.py:4 imports bench.cli (layer cli, above analysis)",
    ]
    sneaky = ast.parse(
        "from bench.render.figures import _plt, to_svg\nfrom bench.analysis import compare\n"
        "from . import _local\nx = compare._fmt(1) + compare.counts\nfrom bench import __version__\n"
    )
    assert private_imports("bench.analysis.fake", sneaky, fake) == [
        "bench/analysis/fake.py:1 imports _plt from bench.render.figures",
        "bench/analysis/fake.py:3 imports _local from bench.analysis",
        "bench/analysis/fake.py:4 uses compare._fmt of bench.analysis.compare",
    ]
    assert layer("bench") == 0 and layer("bench.cli.run") == len(LAYERS) - 1 and layer("bench.nowhere") is None


def test_every_module_has_a_layer():
    assert [name for name in MODULES if layer(name) is None] == [], "add the new package to LAYERS (and docs/layout.md)"


def test_layout_shows_the_layers():
    assert documented_layers() == LAYERS, "docs/layout.md's layers block differs from LAYERS in this file"


def test_imports_go_down_the_layers():
    offenders = [o for name, tree in TREES.items() for o in upward_imports(name, tree, MODULES[name])]
    assert not offenders, "imports against the layer order (docs/layout.md):\n" + "\n".join(offenders)


def test_no_private_names_across_modules():
    offenders = [o for name, tree in TREES.items() for o in private_imports(name, tree, MODULES[name])]
    assert not offenders, "private names imported from another module (make them public in their home):\n" + (
        "\n".join(offenders)
    )
