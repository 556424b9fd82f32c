"""Every API route by every scope (SQLite): a key without the route's scope is 403, with it the view answers (never
401/403), no key is 401; a route's scope is the one the permission table names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from processes.clock import FrozenClock
from processes.integration.keys import SCOPES
from tests.api_support import bearer
from tests.api_support import make_key
from tests.lifecycle_support import at
from tests.lifecycle_support import copy_office
from tests.web_support import web_app
from webapp.permissions import RULES
from webapp.permissions import api_scope


@pytest.fixture
def app(office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from web_app(copy_office(office_template, tmp_path), FrozenClock(at("2026-11-25T09:00:00")),
                       API_RATE_LIMIT=10**6)


def _header_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(path with dummy ids, method, scope) of every route guarded by a key in the request's headers."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not getattr(view, "api_key_in_header", False):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", "x").replace(f"<path:{name}>", "x")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method, view.api_scope))
    return found


def test_every_route_answers_only_a_key_with_its_scope(app: Flask) -> None:
    routes = _header_routes(app)
    assert len(routes) >= 15 and {scope for _, _, scope in routes} >= {"cases:read", "cases:write", "tasks",
                                                                        "metrics:read", "reference:read",
                                                                        "definitions:read"}
    keys = {scope: make_key(app, "only-" + scope.replace(":", "-"), scope) for scope in SCOPES}
    client = app.test_client()
    for path, method, needed in routes:
        assert client.open(path, method=method, json={}).status_code == 401, (path, method)
        for scope, key in keys.items():
            status = client.open(path, method=method, json={}, headers=bearer(key)).status_code
            if scope == needed:
                assert status not in (401, 403), (path, method, scope, status)
            else:
                assert status == 403, (path, method, scope, status)


def test_the_guard_and_the_permission_table_name_the_same_scope(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if hasattr(view, "api_scope"):
            assert api_scope(RULES[rule.endpoint]) == view.api_scope, rule.endpoint
