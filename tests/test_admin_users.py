"""User administration pages (三员分立, AUTH-01, AC-02, AC-04, AUD-01): creation, list, actions, refusals."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from processes.accounts import users as accounts
from processes.accounts.passwords import policy_from_config
from processes.audit import record as audit
from processes.clock import FrozenClock
from processes.reference.models import Department
from tests.admin_support import enrol_totp
from tests.admin_support import sign_in
from tests.admin_support import user_id
from tests.web_support import COOKIE
from tests.web_support import add_user
from tests.web_support import audit_rows
from tests.web_support import change_user
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from tests.web_support import user_row
from tests.web_support import web_app
from webapp import runtime_of
from webapp.admin import texts

USER_ACTIONS = ("user.create", "user.disable", "user.enable", "user.roles", "user.unlock", "user.reset_totp",
                "user.end_sessions")


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def add_units(app: Flask) -> None:
    """Add a department and a township to choose from."""
    with runtime_of(app).write() as db, db.begin():
        db.add(Department(code="zjj", name="区住建局", kind="department", active=True))
        db.add(Department(code="luxi", name="鹿西乡", kind="township", active=True))


def user_audit(app: Flask) -> list[dict[str, object]]:
    """Return the audit rows of account actions, oldest first."""
    return [r for r in audit_rows(app) if r["action"] in USER_ACTIONS]


def test_sysadmin_creates_an_account_and_sees_its_password_once(app: Flask, clock: FrozenClock) -> None:
    add_units(app)
    admin = sign_in(app, clock, "admin1", "sysadmin")
    form = admin.get("/admin/users/new").get_data(as_text=True)
    assert "区住建局" in form and "承办人" in form and 'value="auditor"' not in form  # no administrator roles
    created = post(admin, "/admin/users/new", {"username": "h.zjj", "real_name": "王建", "department": "zjj",
                                                "roles": "handler"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200, html[:500]
    assert created.headers["Cache-Control"] == "no-store"  # the one page with the password is never cached
    password = re.search(r'<code class="secret">([^<]+)</code>', html)
    assert password, html
    secret = password.group(1)
    rows = user_audit(app)
    assert [(r["action"], r["result"], r["actor"]) for r in rows] == [("user.create", "success", "admin1")]
    assert rows[0]["object_id"] == user_id(app, "h.zjj") and rows[0]["request_id"]
    assert rows[0]["after"] == {"username": "h.zjj", "roles": ["handler"], "department": "zjj", "must_change": True}
    assert secret not in str(audit_rows(app))  # the password is stored nowhere but as its hash
    cookie = admin.get_cookie(COOKIE)
    assert cookie is not None and secret not in cookie.value and "flash" not in cookie.value
    assert secret not in admin.get("/admin/users").get_data(as_text=True)  # shown once, on that answer only
    stored = user_row(app, "h.zjj")
    assert stored.must_change_password and stored.real_name == "王建" and stored.department == "zjj"
    newcomer = app.test_client()
    assert location(login(newcomer, "h.zjj", secret)) == "/"
    assert location(newcomer.get("/")) == "/auth/change-password"  # forced change at first login


def test_creation_input_errors_are_400_with_field_messages(app: Flask, clock: FrozenClock) -> None:
    add_units(app)
    admin = sign_in(app, clock, "admin1", "sysadmin")
    add_user(app, "taken")
    cases = [
        ({"username": "", "real_name": "张三", "roles": "operator"}, 400, texts.USERNAME_REQUIRED),
        ({"username": "zhangsan", "real_name": "", "roles": "operator"}, 400, texts.REAL_NAME_REQUIRED),
        ({"username": "a b c", "real_name": "张三", "roles": "operator"}, 400, "用户名须为 2-64"),
        ({"username": "13812345678", "real_name": "张三", "roles": "operator"}, 400, "用户名不能是手机号"),
        ({"username": "TAKEN", "real_name": "张三", "roles": "operator"}, 400, "用户名已被占用"),
        ({"username": "zhangsan", "real_name": "张三"}, 400, "请至少选择一个角色"),
        ({"username": "zhangsan", "real_name": "张三", "roles": "handler"}, 400, "承办人"),
        ({"username": "zhangsan", "real_name": "张三", "roles": "township_reporter", "department": "zjj"}, 400,
         "街道上报员"),
        ({"username": "zhangsan", "real_name": "张三", "roles": "operator", "department": "nowhere"}, 400,
         texts.DEPARTMENT_UNKNOWN),
        ({"username": "zhangsan", "real_name": "张三", "roles": "nosuchrole"}, 400, texts.ROLE_UNKNOWN),
        ({"username": "zhangsan", "real_name": "张三", "roles": ["operator", "auditor"]}, 403, "三员分立"),
        ({"username": "zhangsan", "real_name": "张三", "roles": "secadmin"}, 403, "三员分立"),
        ({"username": "x" * 65, "real_name": "张三", "roles": "operator"}, 400, "用户名须为 2-64"),
        ({"username": "zhangsan", "real_name": "张三\r\n李四", "roles": "operator"}, 400, texts.REAL_NAME_INVALID),
        ({"username": "zhangsan", "real_name": "电话13812345678", "roles": "operator"}, 400, texts.REAL_NAME_INVALID),
    ]
    for data, status, message in cases:
        answer = post(admin, "/admin/users/new", data)  # type: ignore[arg-type]
        assert answer.status_code == status, (data, answer.status_code)
        assert str(message) in answer.get_data(as_text=True), data
    with runtime_of(app).read() as db:
        assert accounts.find_user(db, "zhangsan") is None  # nothing was created
    rows = user_audit(app)
    assert len(rows) == len(cases) and {r["action"] for r in rows} == {"user.create"}
    assert [r["result"] for r in rows].count("denied") == 2 and rows[0]["detail"] == {"fields": ["username"]}
    assert "13812345678" not in str(audit_rows(app))


def test_an_action_and_its_audit_row_commit_together(app: Flask, clock: FrozenClock,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    admin = sign_in(app, clock, "admin1", "sysadmin")
    add_user(app, "op1", "operator")
    target = user_id(app, "op1")

    def failing(*_args: object, **_kwargs: object) -> None:
        raise audit.AuditRefused("the audit row cannot be written")

    monkeypatch.setattr("webapp.admin.actions.record", failing)
    refused = post(admin, f"/admin/users/{target}/disable")
    assert refused.status_code == 400 and "不能记入审计日志" in refused.get_data(as_text=True)
    assert user_row(app, "op1").active and not user_audit(app)  # no audit row, no change (AUD-04: fail closed)
    monkeypatch.undo()
    post(admin, f"/admin/users/{target}/disable")
    assert not user_row(app, "op1").active and len(user_audit(app)) == 1


def test_the_list_filters_by_role_unit_and_state_and_pages(app: Flask, clock: FrozenClock) -> None:
    add_units(app)
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        for n in range(55):
            accounts.create_user(db, username=f"op{n:02d}", password="Gongdan-2026-ok", roles=["operator"],
                                 policy=policy_from_config(app.config), now=rt.clock(), actor="test",
                                 real_name=f"话务员{n}", must_change_password=False)
    add_user(app, "h.zjj", "handler", department="zjj", real_name="王建")
    add_user(app, "gone", "callback", real_name="离职")
    change_user(app, "gone", lambda db, user: accounts.disable_user(db, user))
    admin = sign_in(app, clock, "sec1", "secadmin")
    first = admin.get("/admin/users").get_data(as_text=True)
    assert "共 58 个账号" in first and "第 1 / 2 页" in first and first.count('href="/admin/users/') >= 50
    second = admin.get("/admin/users?page=2").get_data(as_text=True)
    assert "op54" in second and "op00" not in second
    handlers = admin.get("/admin/users?role=handler").get_data(as_text=True)
    assert "h.zjj" in handlers and "区住建局" in handlers and "承办人" in handlers and "op01" not in handlers
    assert "h.zjj" in admin.get("/admin/users?unit=zjj").get_data(as_text=True)
    disabled = admin.get("/admin/users?state=disabled").get_data(as_text=True)
    assert "gone" in disabled and "已停用" in disabled and "op01" not in disabled
    mfa = admin.get("/admin/users?state=totp").get_data(as_text=True)
    assert "sec1" in mfa and "op01" not in mfa
    for bad in ("role=king", "unit=atlantis", "state=asleep", "page=0", "page=x", "page=99999999999"):
        assert admin.get(f"/admin/users?{bad}").status_code == 400, bad


def test_sysadmin_disables_and_enables_each_with_one_audit_row(app: Flask, clock: FrozenClock) -> None:
    admin = sign_in(app, clock, "admin1", "sysadmin")
    worker = sign_in(app, clock, "op1", "operator")
    target = user_id(app, "op1")
    page = admin.get(f"/admin/users/{target}").get_data(as_text=True)
    assert "停用账号" in page and "保存角色" not in page  # roles are the security administrator's
    assert location(post(admin, f"/admin/users/{target}/disable")) == f"/admin/users/{target}"
    assert location(worker.get("/")) == "/auth/login"  # its session ended at once
    assert not user_row(app, "op1").active
    assert location(post(admin, f"/admin/users/{target}/enable")) == f"/admin/users/{target}"
    assert user_row(app, "op1").active
    rows = user_audit(app)
    assert [(r["action"], r["result"], r["before"], r["after"]) for r in rows] == [
        ("user.disable", "success", {"active": True}, {"active": False}),
        ("user.enable", "success", {"active": False}, {"active": True})]
    assert all(r["actor"] == "admin1" and r["role"] == "sysadmin" and r["object_id"] == target for r in rows)


def test_secadmin_changes_roles_unlocks_resets_totp_and_ends_sessions(app: Flask, clock: FrozenClock) -> None:
    sec = sign_in(app, clock, "sec1", "secadmin")
    worker = sign_in(app, clock, "op1", "operator")
    target = user_id(app, "op1")
    page = sec.get(f"/admin/users/{target}").get_data(as_text=True)
    assert "保存角色" in page and "停用账号" not in page
    post(sec, f"/admin/users/{target}/roles", {"roles": ["operator", "callback"]})
    assert accounts_roles(app, "op1") == {"operator", "callback"}
    post(sec, f"/admin/users/{target}/roles", {"roles": ["callback"]})  # removing a role ends sessions
    assert location(worker.get("/")) == "/auth/login"
    change_user(app, "op1", lambda db, user: setattr(user, "locked_until", clock() + timedelta(minutes=30)))
    post(sec, f"/admin/users/{target}/unlock")
    assert user_row(app, "op1").locked_until is None
    enrol_totp(app, "op1")
    post(sec, f"/admin/users/{target}/reset-totp")
    assert user_row(app, "op1").totp_confirmed_at is None
    again = app.test_client()
    login(again, "op1")
    post(sec, f"/admin/users/{target}/end-sessions")
    assert location(again.get("/")) == "/auth/login"
    rows = user_audit(app)
    assert [(r["action"], r["result"]) for r in rows] == [
        ("user.roles", "success"), ("user.roles", "success"), ("user.unlock", "success"),
        ("user.reset_totp", "success"), ("user.end_sessions", "success")]
    assert rows[0]["before"] == {"roles": ["operator"]} and rows[0]["after"] == {"roles": ["callback", "operator"]}
    assert rows[2]["before"]["locked"] is True and rows[3]["before"] == {"totp_enrolled": True}


def accounts_roles(app: Flask, username: str) -> set[str]:
    """Return a user's roles as stored."""
    with runtime_of(app).read() as db:
        return set(accounts.roles_of(db, accounts.get_user(db, username)))


def test_nobody_acts_on_their_own_account_or_breaks_the_three_way_split(app: Flask, clock: FrozenClock) -> None:
    admin = sign_in(app, clock, "admin1", "sysadmin")
    sec = sign_in(app, clock, "sec1", "secadmin")
    add_user(app, "audit1", "auditor")
    add_user(app, "op1", "operator")
    me, sec_id, auditor, worker = (user_id(app, n) for n in ("admin1", "sec1", "audit1", "op1"))
    refusals = [
        (admin, f"/admin/users/{me}/disable", {}, "不能对自己的账号"),
        (sec, f"/admin/users/{sec_id}/roles", {"roles": "operator"}, "不能对自己的账号"),
        (sec, f"/admin/users/{sec_id}/reset-totp", {}, "不能对自己的账号"),
        (admin, f"/admin/users/{auditor}/disable", {}, "只能在服务器上"),  # the sysadmin cannot silence the auditor
        (sec, f"/admin/users/{me}/roles", {"roles": "operator"}, "只能在服务器上"),
        (sec, f"/admin/users/{worker}/roles", {"roles": "auditor"}, "三员分立"),
        (sec, f"/admin/users/{worker}/roles", {"roles": ["operator", "sysadmin"]}, "三员分立"),
    ]
    for client, path, data, message in refusals:
        answer = post(client, path, data)
        assert answer.status_code == 403 and message in answer.get_data(as_text=True), path
    assert user_row(app, "admin1").active and user_row(app, "audit1").active
    assert accounts_roles(app, "op1") == {"operator"} and accounts_roles(app, "admin1") == {"sysadmin"}
    rows = user_audit(app)
    assert len(rows) == len(refusals) and {r["result"] for r in rows} == {"denied"}
    assert [r["detail"]["reason"] for r in rows] == ["self", "self", "self", "admin_account", "admin_account",
                                                     "admin_role", "admin_role"]
    no_unit = post(sec, f"/admin/users/{worker}/roles", {"roles": "handler"})
    assert no_unit.status_code == 400 and "承办人" in no_unit.get_data(as_text=True)
    assert user_audit(app)[-1]["result"] == "failure"
    # the security administrator may still unlock an administrator and reset their second factor
    assert location(post(sec, f"/admin/users/{me}/unlock")) == f"/admin/users/{me}"


def test_unknown_ids_are_404_and_change_nothing(app: Flask, clock: FrozenClock) -> None:
    admin = sign_in(app, clock, "admin1", "sysadmin")
    sec = sign_in(app, clock, "sec1", "secadmin")
    before = len(audit_rows(app))
    for missing in (str(uuid.uuid4()), "1", "../etc", "x" * 40):
        assert admin.get(f"/admin/users/{missing}").status_code == 404
        assert post(admin, f"/admin/users/{missing}/disable").status_code == 404
        assert post(sec, f"/admin/users/{missing}/roles", {"roles": "operator"}).status_code == 404
        assert post(sec, f"/admin/users/{missing}/unlock").status_code == 404
    new = audit_rows(app)[before:]  # only the refusals themselves (issue 16); "../etc" matches no route
    assert len(new) == 12 and {(r["action"], r["result"], r["detail"]["reason"]) for r in new} == {
        ("access.denied", "denied", "object")}


def test_role_route_matrix_and_csrf(app: Flask, clock: FrozenClock) -> None:
    clients = {role: sign_in(app, clock, f"{role}1", role) for role in ("operator", "sysadmin", "secadmin", "auditor")}
    add_user(app, "target", "callback")
    target = user_id(app, "target")
    routes = {("GET", "/admin/users"): {"sysadmin", "secadmin"},
              ("GET", f"/admin/users/{target}"): {"sysadmin", "secadmin"},
              ("GET", "/admin/users/new"): {"sysadmin"},
              ("POST", "/admin/users/new"): {"sysadmin"},
              ("POST", f"/admin/users/{target}/disable"): {"sysadmin"},
              ("POST", f"/admin/users/{target}/enable"): {"sysadmin"},
              ("POST", f"/admin/users/{target}/roles"): {"secadmin"},
              ("POST", f"/admin/users/{target}/unlock"): {"secadmin"},
              ("POST", f"/admin/users/{target}/reset-totp"): {"secadmin"},
              ("POST", f"/admin/users/{target}/end-sessions"): {"secadmin"}}
    before = len(audit_rows(app))
    for (method, path), roles in routes.items():
        for role, client in clients.items():
            if role in roles:
                continue
            answer = client.get(path) if method == "GET" else post(client, path, {"roles": "operator"})
            assert answer.status_code == 403, (role, method, path)
    denied = audit_rows(app)[before:]  # a denial by the permission table is audited, and changes nothing
    assert {(r["action"], r["result"], r["detail"]["reason"]) for r in denied} == {("access.denied", "denied", "role")}
    for (method, path), roles in routes.items():
        if method == "POST":
            assert clients[next(iter(roles))].post(path, data={"roles": "operator"}).status_code == 400, path
    csrf = audit_rows(app)[before + len(denied):]
    assert {(r["action"], r["detail"]["reason"]) for r in csrf} == {("access.denied", "csrf")}
    assert user_row(app, "target").active


def test_every_role_name_is_marked_for_translation() -> None:
    from processes.accounts.roles import ROLES

    assert set(texts.ROLE_NAMES) == {role.name_zh for role in ROLES.values()}
