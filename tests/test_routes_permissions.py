"""The permission table covers every route (AC-01, S4.1): deny by default, anonymous → login, wrong role → 403."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask

from processes.clock import FrozenClock
from processes.reference.models import Department
from tests.web_support import add_user
from tests.web_support import location
from tests.web_support import login
from tests.web_support import token
from tests.web_support import web_app
from webapp import create_app
from webapp import permissions
from webapp import runtime_of
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
        if RULES[rule.endpoint] == PUBLIC or rule.arguments or permissions.api_scope(RULES[rule.endpoint]):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(rule.rule, method=method, data={"csrf_token": csrf})
            if method == "GET":
                assert response.status_code == 302 and location(response) == "/auth/login", rule
                query = parse_qs(urlsplit(response.headers["Location"]).query)
                assert query["next"] == [rule.rule], rule  # back to the page after signing in
            else:
                assert response.status_code == 401, (rule, method)


def test_open_interfaces_are_guarded_by_a_key_with_the_scope_their_rule_names(sqlite_url: str) -> None:
    """Every /api and /open311 route: an API rule (or PUBLIC, for documents), and a view guarded for that scope."""
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "x" * 40})
    for rule in app.url_map.iter_rules():
        scope = permissions.api_scope(RULES[rule.endpoint])
        guard = getattr(app.view_functions[rule.endpoint], "api_scope", None)
        if rule.rule.startswith(("/api/", "/open311/")):
            assert scope is not None or RULES[rule.endpoint] == PUBLIC, rule.rule
        else:
            assert scope is None, f"{rule.rule}: an API rule outside /api and /open311"
        assert guard == scope or (scope is None and guard is None and RULES[rule.endpoint] == PUBLIC), rule.rule
    with pytest.raises(ValueError, match="unknown API scope"):
        permissions.check_rules({"x.y": permissions.api_rule("cases:delete")})
    assert not permissions.allowed(permissions.api_rule("cases:read"), signed_in=True, roles=frozenset({"leader"}))


def test_an_api_rule_on_an_unguarded_view_is_refused(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deny by default: a view under an API rule that forgot its key check answers 403, never its content."""
    app.add_url_rule("/api/v1/probe", "api.probe", lambda: "must never show")
    monkeypatch.setitem(RULES, "api.probe", permissions.api_rule("cases:read"))
    answer = app.test_client().get("/api/v1/probe")
    assert answer.status_code == 403 and "must never show" not in answer.get_data(as_text=True)


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


def test_administration_and_audit_routes_follow_the_three_way_split() -> None:
    accounts_by_sysadmin = {"admin.new_user", "admin.disable", "admin.enable"}
    security_by_secadmin = {"admin.roles", "admin.unlock", "admin.reset_totp", "admin.end_sessions"}
    for endpoint in accounts_by_sysadmin:
        assert RULES[endpoint] == frozenset({"sysadmin"}), endpoint
    for endpoint in security_by_secadmin:
        assert RULES[endpoint] == frozenset({"secadmin"}), endpoint
    for endpoint in ("admin.users", "admin.user"):
        assert RULES[endpoint] == frozenset({"sysadmin", "secadmin"}), endpoint
    audit_endpoints = {e for e in RULES if e.startswith("auditlog.")}
    assert audit_endpoints == {"auditlog.index", "auditlog.detail", "auditlog.verify", "auditlog.export"}
    assert all(RULES[e] == frozenset({"auditor"}) for e in audit_endpoints)  # read by auditors, nobody else
    assert not any(isinstance(RULES[e], frozenset) and "auditor" in RULES[e] for e in RULES if e.startswith("admin."))


def test_intake_and_search_go_to_the_roles_that_do_the_work() -> None:
    """登记 per channel for the role that registers it; 工单查询 for case workers; export for leads (PII-03)."""
    expected = {
        "intake.phone": {"operator"}, "intake.visit": {"operator"}, "intake.platform": {"transcriber"},
        "intake.township": {"township_reporter"}, "intake.police110": {"operator", "dispatcher"},
        "intake.lookup": {"operator", "transcriber", "dispatcher"},
        "search.export": {"supervisor", "duty_leader", "leader"},
    }
    for endpoint, roles in expected.items():
        assert RULES[endpoint] == frozenset(roles), endpoint
    search = RULES["search.index"]
    assert isinstance(search, frozenset) and not search & {"analyst", "sysadmin", "secadmin", "auditor"}


WORKSPACE = {"worklist.index", "worklist.rows", "worklist.claim", "worklist.unclaim", "worklist.handover",
             "tasks.form", "tasks.submit", "cases.show", "cases.requester", "cases.reveal", "cases.attachment"}


def test_workspace_routes_go_to_task_roles_and_case_roles(app: Flask) -> None:
    """待办 and 办理 for the roles BPMN tasks name; 工单详情 also for towns; never administrators or analysts."""
    task_roles = {"operator", "transcriber", "dispatcher", "handler", "inspector", "callback", "supervisor",
                  "duty_leader", "leader"}
    for endpoint in WORKSPACE:
        expected = task_roles | ({"township_reporter"} if endpoint.startswith("cases.") else set())
        assert RULES[endpoint] == frozenset(expected), endpoint
    add_user(app, "an1", "analyst")
    with runtime_of(app).write() as db, db.begin():
        db.add(Department(code="luxi", name="鹿西乡", kind="township", active=True))
    add_user(app, "rep1", "township_reporter", department="luxi")
    analyst, reporter = app.test_client(), app.test_client()
    login(analyst, "an1")
    login(reporter, "rep1")
    csrf = token(analyst)
    uuid = "00000000-0000-4000-8000-000000000000"
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in WORKSPACE:
            continue
        path = rule.rule.replace("<task_id>", uuid).replace("<case_id>", uuid).replace("<attachment_id>", uuid)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            refused = analyst.open(path, method=method, data={"csrf_token": csrf})
            assert refused.status_code == 403, (rule.endpoint, method)
            answer = reporter.open(path, method=method, data={"csrf_token": token(reporter)})
            # a town's reporter opens cases (an unknown id is simply absent) but has no worklist
            assert answer.status_code == (404 if rule.endpoint.startswith("cases.") else 403), (rule.endpoint, method)
