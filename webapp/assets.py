"""Browser libraries (前端资源) from npm, served from this site: `hotline assets` copies them into static/vendor/.

`package.json` pins htmx, Chart.js and bpmn-js exactly and `package-lock.json` locks the rest; `npm ci` fills
node_modules/, and this module copies only the files the pages load (with each licence) into
`webapp/static/vendor/<folder>/`, which is git-ignored. No page loads anything from a CDN: the CSP allows scripts
and styles from this site only, and the office network may have no internet. `vendor/manifest.json` records each
package's version and the sha256 of every copied file, so `hotline assets --check` (and tests) can tell a stale or
edited copy from a good one. Page authors write `url_for('static', filename='vendor/htmx/htmx.min.js')`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import FlaskGroup

ROOT = Path(__file__).resolve().parent.parent
VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Package:
    """An npm package, the folder under vendor/ it goes to and its files (globs relative to the package)."""

    name: str
    folder: str
    files: tuple[str, ...]


PACKAGES = (
    Package("htmx.org", "htmx", ("dist/htmx.min.js", "LICENSE")),
    Package("chart.js", "chart.js", ("dist/chart.umd.min.js", "LICENSE.md")),
    # Modeler for the diagram editor, navigated viewer for case pages; keep the bpmn.io watermark (licence).
    Package("bpmn-js", "bpmn-js", (
        "dist/bpmn-modeler.production.min.js", "dist/bpmn-navigated-viewer.production.min.js",
        "dist/bpmn-viewer.production.min.js", "dist/assets/*.css", "dist/assets/bpmn-font/css/*.css",
        "dist/assets/bpmn-font/font/*", "LICENSE")),
)


class AssetsError(click.ClickException):
    """node_modules/ is missing or does not hold the pinned versions (run `npm ci`)."""


def pinned(root: Path = ROOT) -> dict[str, str]:
    """Return the exact versions package.json pins, by package name."""
    data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    deps: dict[str, str] = data["dependencies"]
    return deps


def installed_version(root: Path, name: str) -> str | None:
    """Return the version of a package in node_modules/, or None when it is not installed."""
    path = root / "node_modules" / name / "package.json"
    if not path.is_file():
        return None
    version: str = json.loads(path.read_text(encoding="utf-8"))["version"]
    return version


def sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_files(root: Path, package: Package) -> dict[str, Path]:
    """Return the files to copy of one package: target path under vendor/ → source file."""
    base = root / "node_modules" / package.name
    found: dict[str, Path] = {}
    for pattern in package.files:
        matches = sorted(p for p in base.glob(pattern) if p.is_file())
        if not matches:
            raise AssetsError(f"{package.name}: no file matches {pattern}; run `npm ci`")
        for source in matches:
            inside = source.relative_to(base).as_posix().removeprefix("dist/")
            found[f"{package.folder}/{inside}"] = source
    return found


def copy_assets(root: Path = ROOT, vendor: Path = VENDOR) -> dict[str, dict[str, object]]:
    """Copy the pinned packages' files into vendor/ (replacing what was there) and write the manifest."""
    manifest: dict[str, dict[str, object]] = {}
    for package in PACKAGES:
        want, have = pinned(root).get(package.name), installed_version(root, package.name)
        if want is None or have != want:
            raise AssetsError(f"{package.name}: package.json pins {want}, node_modules has {have}; run `npm ci`")
        files = package_files(root, package)
        shutil.rmtree(vendor / package.folder, ignore_errors=True)
        for target, source in files.items():
            (vendor / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, vendor / target)
        manifest[package.name] = {"version": have, "files": {t: sha256(vendor / t) for t in sorted(files)}}
    (vendor / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def check_assets(root: Path = ROOT, vendor: Path = VENDOR) -> list[str]:
    """Return what is wrong with vendor/: missing, stale (another pinned version) or changed files."""
    path = vendor / MANIFEST
    if not path.is_file():
        return [f"{path} is missing; run `hotline assets`"]
    manifest = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for package in PACKAGES:
        entry = manifest.get(package.name) or {"version": None, "files": {}}
        if entry["version"] != pinned(root).get(package.name):
            problems.append(f"{package.name}: vendor has {entry['version']}, package.json pins another version")
        for target, digest in entry["files"].items():
            file = vendor / target
            if not file.is_file() or sha256(file) != digest:
                problems.append(f"{target}: missing or changed")
    return problems


def register(cli: FlaskGroup) -> None:
    """Add the assets command (it needs no app, database or secret)."""

    @cli.command("assets", with_appcontext=False)
    @click.option("--check", is_flag=True, help="Only verify vendor/ against its manifest and package.json.")
    def assets_command(check: bool) -> None:
        """Copy the pinned browser libraries from node_modules/ into webapp/static/vendor/ (前端资源)."""
        if check:
            problems = check_assets()
            for problem in problems:
                click.echo(problem, err=True)
            if problems:
                raise click.ClickException("vendor assets are not current; run `npm ci && hotline assets`")
            click.echo("vendor assets are current")
            return
        for name, entry in copy_assets().items():
            files = entry["files"]
            click.echo(f"{name} {entry['version']}: {len(files) if isinstance(files, dict) else 0} file(s)")
        click.echo(f"copied into {VENDOR}")
