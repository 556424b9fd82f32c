"""Configuration contract: defaults, instance config, HOTLINE_* environment, test config last; production secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp import create_app
from webapp.config import ConfigError


def test_environment_variables_set_config_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setenv("HOTLINE_WORKFLOW_CACHE_SIZE", "77")
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/x.sqlite"
    assert app.config["WORKFLOW_CACHE_SIZE"] == 77  # parsed as JSON
    assert app.extensions["hotline.runtime"].workflows.size == 77


def test_test_config_is_merged_last(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "sqlite:///from-env.sqlite")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/t.sqlite"})
    assert app.config["DATABASE_URL"].endswith("t.sqlite")


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{Path(app.instance_path) / 'hotline.sqlite'}"


@pytest.mark.parametrize("secret", [None, "", "dev", "short-secret"])
def test_production_server_refuses_to_start_without_a_real_secret(monkeypatch: pytest.MonkeyPatch,
                                                                  secret: str | None) -> None:
    monkeypatch.setenv("HOTLINE_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SECRET_KEY": secret})


def test_production_server_starts_with_a_generated_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENV", "production")
    app = create_app({"SECRET_KEY": "a3" * 32, "PII_ENCRYPTION_KEY": "b4" * 32})
    assert app.config["ENV"] == "production"


def test_production_server_refuses_to_start_without_the_personal_data_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENV", "production")
    with pytest.raises(ConfigError, match="PII_ENCRYPTION_KEY"):
        create_app({"SECRET_KEY": "a3" * 32, "PII_ENCRYPTION_KEY": None})


def test_cli_app_needs_no_secret_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENV", "production")
    monkeypatch.delenv("HOTLINE_SECRET_KEY", raising=False)
    app = create_app({"SECRET_KEY": None}, serving=False)
    assert app.config["SECRET_KEY"] is None
