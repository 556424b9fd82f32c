"""`hotline assets`: the pinned npm packages' files are copied into static/vendor/ with a checked manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webapp import assets
from webapp.assets import PACKAGES
from webapp.assets import AssetsError
from webapp.assets import check_assets
from webapp.assets import copy_assets
from webapp.assets import pinned


def fake_project(root: Path, versions: dict[str, str]) -> None:
    """Write a package.json pinning the real versions and a node_modules/ holding `versions`."""
    (root / "package.json").write_text(json.dumps({"dependencies": pinned()}), encoding="utf-8")
    for package in PACKAGES:
        base = root / "node_modules" / package.name
        base.mkdir(parents=True)
        (base / "package.json").write_text(json.dumps({"version": versions[package.name]}), encoding="utf-8")
        for pattern in package.files:
            file = base / pattern.replace("*.css", "x.css").replace("*", "bpmn.woff2")
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(f"/* {package.name} {pattern} */", encoding="utf-8")


def test_package_json_pins_exact_versions_of_the_three_libraries() -> None:
    versions = pinned()
    assert set(versions) == {p.name for p in PACKAGES}
    assert all(v[0].isdigit() for v in versions.values()), versions  # exact, no ^ or ~
    assert versions["htmx.org"].startswith("2.0.") and versions["bpmn-js"].startswith("18.")
    assert versions["chart.js"].startswith("4.")
    lock = json.loads((assets.ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["dependencies"] == versions


def test_copy_writes_the_files_and_a_manifest_that_catches_changes(tmp_path: Path) -> None:
    fake_project(tmp_path, pinned())
    vendor = tmp_path / "vendor"
    manifest = copy_assets(tmp_path, vendor)
    assert (vendor / "htmx" / "htmx.min.js").is_file() and (vendor / "bpmn-js" / "assets" / "x.css").is_file()
    assert (vendor / "bpmn-js" / "assets" / "bpmn-font" / "font" / "bpmn.woff2").is_file()
    assert manifest["chart.js"]["version"] == pinned()["chart.js"]
    assert check_assets(tmp_path, vendor) == []
    (vendor / "htmx" / "htmx.min.js").write_text("tampered", encoding="utf-8")
    assert check_assets(tmp_path, vendor) == ["htmx/htmx.min.js: missing or changed"]


def test_copy_refuses_node_modules_of_another_version(tmp_path: Path) -> None:
    fake_project(tmp_path, {**pinned(), "htmx.org": "4.0.1"})
    with pytest.raises(AssetsError, match=r"htmx.org: package.json pins 2\.0\.\d+, node_modules has 4.0.1"):
        copy_assets(tmp_path, tmp_path / "vendor")
    assert check_assets(tmp_path, tmp_path / "vendor")[0].endswith("run `hotline assets`")
