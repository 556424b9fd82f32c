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
