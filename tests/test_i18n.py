"""Page languages: Chinese by default whatever the browser asks, English after POST /lang, a complete catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from processes.clock import FrozenClock
from tests.lifecycle_support import ROOT
from tests.web_support import add_user
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from tests.web_support import web_app
from webapp import messages
from webapp.i18n import COOKIE
from webapp.i18n import SOURCE
from webapp.i18n import compile_catalogues

PO = SOURCE / "en" / "LC_MESSAGES" / "messages.po"


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    yield from web_app(sqlite_url, FrozenClock())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def catalogue() -> dict[str, str]:
    """Return the English catalogue as msgid → msgstr (header left out)."""
    with PO.open("rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def test_every_message_has_an_english_translation() -> None:
    with PO.open("rb") as handle:
        entries = [m for m in read_po(handle) if m.id]
    assert entries
    untranslated = [m.id for m in entries if not str(m.string).strip()]
    assert not untranslated, f"translate these in {PO}: {untranslated}"
    assert not [m.id for m in entries if m.fuzzy], "fuzzy entries are not used: check and unmark them"


def test_the_catalogue_has_every_text_the_code_marks() -> None:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    marked = {str(found[2]) for found in extract_from_dir(str(ROOT), method_map, options_map) if found[2]}
    missing = sorted(marked - set(catalogue()))
    assert not missing, ("new texts: run `pybabel extract -F babel.cfg -o messages.pot . && pybabel update -i "
                         f"messages.pot -d webapp/translations` and translate them: {missing}")


def test_pages_are_chinese_by_default_whatever_the_browser_asks(client: FlaskClient) -> None:
    html = client.get("/auth/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "<h1>登录</h1>" in html and "洞头 12345 热线工单系统" in html
    assert "Sign in" not in html
    assert '<button type="submit" name="lang" value="en" lang="en">English</button>' in html


def test_switching_to_english_and_back(client: FlaskClient) -> None:
    switched = post(client, "/lang", {"lang": "en"}, headers={"Referer": "http://localhost/auth/login?next=/"})
    assert switched.status_code == 302 and switched.headers["Location"] == "/auth/login?next=/"
    html = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "<h1>Sign in</h1>" in html and "Dongtou 12345 Hotline Case System" in html
    assert "After 5 wrong passwords in a row the account is locked for 30 minutes." in html
    assert "登录" not in html.split("<main>")[1]
    post(client, "/lang", {"lang": "zh"})
    assert "<h1>登录</h1>" in client.get("/auth/login").get_data(as_text=True)


def test_the_choice_outlives_the_session_and_messages_follow_it(app: Flask, client: FlaskClient) -> None:
    add_user(app, "lang.user", real_name="王小燕")
    post(client, "/lang", {"lang": "en"})
    assert client.get_cookie(COOKIE) is not None
    login(client, "lang.user")  # a login starts a fresh session; the cookie keeps the language
    home = client.get("/").get_data(as_text=True)
    assert "Hello, 王小燕" in home and "Sign out" in home
    signed_out = post(client, "/auth/logout", follow_redirects=True).get_data(as_text=True)
    assert "You have signed out." in signed_out and str(messages.LOGGED_OUT) not in signed_out
    refused = client.get("/missing", headers={"Accept": "application/json"})
    assert refused.status_code == 404 and refused.get_json()["error"] == "Page not found."


def test_the_switch_returns_only_to_local_pages(client: FlaskClient) -> None:
    for referrer in ("https://evil.example/phish", "//evil.example/", "javascript:alert(1)", ""):
        response = post(client, "/lang", {"lang": "en"}, headers={"Referer": referrer} if referrer else {})
        assert response.status_code == 302 and location(response) == "/", referrer
    assert post(client, "/lang", {"lang": "fr"}).status_code == 400
    assert client.post("/lang", data={"lang": "en"}).status_code == 400  # no CSRF token


def test_catalogues_compile_once_into_the_target(tmp_path: Path) -> None:
    written = compile_catalogues(SOURCE, tmp_path)
    assert written == [tmp_path / "en" / "LC_MESSAGES" / "messages.mo"]
    assert compile_catalogues(SOURCE, tmp_path) == []  # unchanged: left alone
    written[0].write_bytes(b"stale")
    assert compile_catalogues(SOURCE, tmp_path) == written


def test_messages_are_chinese_outside_a_request() -> None:
    assert str(messages.LOGIN_REQUIRED) == "请先登录。"
    assert messages.LOGIN_RATE_LIMITED.format(minutes=10) == "登录尝试过于频繁，请 10 分钟后再试。"
    assert messages.translate("too short: at least 12 characters") == "密码太短：至少 12 个字符。"


def test_a_user_who_must_change_the_password_can_still_switch(app: Flask, client: FlaskClient) -> None:
    add_user(app, "lang.newbie", must_change=True)
    login(client, "lang.newbie")
    switched = post(client, "/lang", {"lang": "en"}, headers={"Referer": "http://localhost/auth/change-password"})
    assert location(switched) == "/auth/change-password"
    assert "<h1>Change password</h1>" in client.get("/auth/change-password").get_data(as_text=True)


def test_a_refusal_with_its_own_message_is_in_the_page_language(app: Flask, client: FlaskClient) -> None:
    add_user(app, "lang.late", must_change=True)
    login(client, "lang.late")
    post(client, "/lang", {"lang": "en"})
    refused = post(client, "/auth/sessions/end-all", headers={"Accept": "application/json"})
    assert refused.status_code == 403
    assert refused.get_json()["error"].startswith("Change your password first: this is your first sign-in")
