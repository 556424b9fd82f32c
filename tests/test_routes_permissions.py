"""The permission table covers every route (AC-01, S4.1): deny by default, anonymous → login, wrong role → 403."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask

from processes.clock import FrozenClock
from tests.web_support import add_user
from tests.web_support import location
from tests.web_support import login
from tests.web_support import token
from tests.web_support import web_app
from webapp import create_app
from webapp import permissions
from webapp.permissions import AUTHENTICATED
from webapp.permissions import PUBLIC
from webapp.permissions import RULES


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def test_every_route_has_a_rule_and_every_rule_a_route(sqlite_url: str) -> None:
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "x" * 40})
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(RULES))
    assert not missing, f"add these endpoints to webapp/permissions.py RULES: {missing}"
    stale = sorted(set(RULES) - endpoints)
    assert not stale, f"RULES names endpoints that no longer exist: {stale}"


def test_the_table_refuses_unknown_roles_and_rule_kinds() -> None:
    with pytest.raises(ValueError, match="unknown roles"):
        permissions.check_rules({"x.y": frozenset({"operater"})})
    with pytest.raises(ValueError, match="rule must be"):
        permissions.check_rules({"x.y": "everyone"})
    permissions.check_rules(RULES)


def test_anonymous_callers_are_sent_to_login_or_refused(app: Flask) -> None:
    client = app.test_client()
    csrf = token(client, "/auth/login")
    for rule in app.url_map.iter_rules():
        if RULES[rule.endpoint] == PUBLIC or rule.arguments:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(rule.rule, method=method, data={"csrf_token": csrf})
            if method == "GET":
                assert response.status_code == 302 and location(response) == "/auth/login", rule
                query = parse_qs(urlsplit(response.headers["Location"]).query)
                assert query["next"] == [rule.rule], rule  # back to the page after signing in
            else:
                assert response.status_code == 401, (rule, method)


def test_public_pages_answer_anonymous_callers(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/auth/login").status_code == 200
    assert location(client.get("/auth/totp")) == "/auth/login"  # no login in progress: back to the form


def test_wrong_role_is_403_and_a_route_without_a_rule_is_denied(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    app.add_url_rule("/probe/dispatch", "probe.dispatch", lambda: "dispatch page")
    app.add_url_rule("/probe/unlisted", "probe.unlisted", lambda: "must never show")
    monkeypatch.setitem(RULES, "probe.dispatch", frozenset({"dispatcher", "duty_leader"}))
    add_user(app, "op", "operator")
    add_user(app, "disp", "dispatcher")
    operator, dispatcher, anonymous = app.test_client(), app.test_client(), app.test_client()
    login(operator, "op")
    login(dispatcher, "disp")
    assert operator.get("/probe/dispatch").status_code == 403
    assert dispatcher.get("/probe/dispatch").get_data(as_text=True) == "dispatch page"
    for client in (operator, dispatcher, anonymous):  # deny by default, whoever asks
        denied = client.get("/probe/unlisted")
        assert denied.status_code == 403 and "must never show" not in denied.get_data(as_text=True)
    assert "您没有权限" in operator.get("/probe/dispatch").get_data(as_text=True)
    assert operator.get("/probe/dispatch", headers={"Accept": "application/json"}).get_json()["status"] == 403


def test_allowed_follows_the_rule_kinds() -> None:
    roles = frozenset({"operator"})
    assert permissions.allowed(PUBLIC, signed_in=False, roles=frozenset())
    assert not permissions.allowed(AUTHENTICATED, signed_in=False, roles=frozenset())
    assert permissions.allowed(AUTHENTICATED, signed_in=True, roles=roles)
    assert permissions.allowed(frozenset({"operator", "callback"}), signed_in=True, roles=roles)
    assert not permissions.allowed(frozenset({"auditor"}), signed_in=True, roles=roles)
    assert not permissions.allowed(None, signed_in=True, roles=roles)
