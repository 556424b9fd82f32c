"""Import rules: webapp → processes/handlers; processes never imports Flask, webapp or handlers;
only processes/engine imports SpiffWorkflow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    """Return the top-level module names a file imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def files(package: str) -> list[Path]:
    """Python files of a package."""
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", files("processes"), ids=lambda p: str(p.relative_to(ROOT)))
def test_processes_never_imports_flask_webapp_or_handlers(path: Path) -> None:
    bad = {m for m in imports_of(path) if m.split(".")[0] in {"flask", "flask_login", "webapp", "handlers", "werkzeug"}}
    assert not bad, f"{path}: {bad}"


@pytest.mark.parametrize("path", files("handlers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_handlers_never_import_webapp_or_flask(path: Path) -> None:
    bad = {m for m in imports_of(path) if m.split(".")[0] in {"flask", "webapp", "werkzeug"}}
    assert not bad, f"{path}: {bad}"


def test_only_the_engine_package_imports_spiffworkflow() -> None:
    users = {str(p.relative_to(ROOT)) for pkg in ("processes", "handlers", "webapp") for p in files(pkg)
             if any(m.split(".")[0] == "SpiffWorkflow" for m in imports_of(p))}
    assert users, "the engine package must import SpiffWorkflow"
    assert all(u.startswith("processes/engine/") for u in users), users


def test_modules_stay_small() -> None:
    long = {str(p.relative_to(ROOT)): n for pkg in ("processes", "handlers", "webapp") for p in files(pkg)
            if "migrations/versions" not in str(p) and (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"split these modules: {long}"


def module_name(path: Path) -> str:
    """Return the dotted module name of a file under ROOT (a package's `__init__` is the package)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def internal_imports(path: Path, known: set[str]) -> set[str]:
    """Return the modules of `known` a file imports, from every import statement (in functions too, relative too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                # `from a.b import c` imports the module a.b.c when there is one, else a name of a.b
                target = f"{base}.{alias.name}"
                found.add(target if target in known else base)
    return (found & known) - {name}


def import_graph(package: str) -> dict[str, set[str]]:
    """Return module -> modules it imports, within one top-level package (migration scripts left out)."""
    paths = [p for p in files(package) if "migrations/versions" not in str(p)]
    known = {module_name(p) for p in paths}
    return {module_name(p): internal_imports(p, known) for p in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan), i.e. the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_sees_a_cycle() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}) == []


def test_internal_imports_count_imports_inside_functions_and_relative_ones() -> None:
    path = ROOT / "processes" / "runtime" / "control.py"  # imports jobs inside fire_due_timers
    assert "processes.runtime.jobs" in internal_imports(path, set(import_graph("processes")))
    engine_init = ROOT / "processes" / "engine" / "__init__.py"
    assert internal_imports(engine_init, set(import_graph("processes")))  # the facade's own imports are seen


# webapp keeps Flask's blueprint idiom (bp made in the package, views imported at its end), a cycle by design.
@pytest.mark.parametrize("package", ["processes", "handlers"])
def test_no_import_cycle_between_modules(package: str) -> None:
    assert cycles(import_graph(package)) == []


def test_processes_is_split_into_rooms() -> None:
    """A newcomer finds any behaviour from the folder names: few modules directly in processes/."""
    direct = sorted(p.name for p in (ROOT / "processes").glob("*.py"))
    assert len(direct) <= 8, direct
    for room in ("engine", "runtime", "cases", "accounts", "audit", "handover", "db", "reference", "layout"):
        assert (ROOT / "processes" / room / "__init__.py").is_file(), room


def test_the_command_line_is_one_package() -> None:
    assert not sorted((ROOT / "webapp").glob("cli_*.py"))
    assert (ROOT / "webapp" / "cli" / "__init__.py").is_file()


def test_every_table_lives_in_its_package_models_module() -> None:
    """Each package owns its tables in its own models.py, on the one shared Base."""
    from processes.db.base import Base
    from processes.db.schema import METADATA

    assert METADATA is Base.metadata
    homes = {mapper.class_.__module__ for mapper in Base.registry.mappers}
    assert homes == {f"processes.{room}.models" for room in ("runtime", "cases", "accounts", "audit", "reference",
                                                                 "metrics", "reports", "integration", "exchange",
                                                                 "open311")}
    mapped = {mapper.local_table.name for mapper in Base.registry.mappers}
    assert mapped == set(METADATA.tables), "a table outside the models modules"
