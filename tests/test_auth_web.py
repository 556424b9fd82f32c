"""Sign-in pages with the Flask test client on SQLite and PostgreSQL (AUTH-01/03/04/05, AC-05, CFG-01/03, S3, S7)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from processes.accounts import totp
from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.models import UserSession
from processes.accounts.passwords import AccountPolicy
from processes.accounts.passwords import check
from processes.clock import FrozenClock
from tests.web_support import COOKIE
from tests.web_support import NEW_PASSWORD
from tests.web_support import PASSWORD
from tests.web_support import add_user
from tests.web_support import audit_rows
from tests.web_support import change_user
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from tests.web_support import token
from tests.web_support import user_row
from tests.web_support import web_app
from webapp import create_app
from webapp import messages
from webapp import permissions
from webapp import runtime_of
from webapp.auth.guard import ENROL_EXEMPT
from webapp.cli import cli
from webapp.security import CSP

FAILED = str(messages.LOGIN_FAILED)  # messages are lazy (translated per request)


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def page(client: FlaskClient, path: str = "/", **headers: str) -> str:
    """GET a page that must answer 200 and return its text."""
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.headers.get("Location"))
    return response.get_data(as_text=True)


def test_login_starts_a_new_session_and_shows_the_home_page(app: Flask, client: FlaskClient) -> None:
    add_user(app, "zhangwei", "operator", "callback", department="zjj", real_name="张伟")
    assert location(client.get("/")) == "/auth/login"
    before = token(client, "/auth/login") and client.get_cookie(COOKIE)
    response = login(client, "zhangwei")
    assert response.status_code == 302 and location(response) == "/"
    after = client.get_cookie(COOKIE)
    assert before is not None and after is not None and before.value != after.value
    html = page(client)
    assert "张伟" in html and "受理员/话务员" in html and "回访员" in html and "区住建局" in html
    row = audit_rows(app, "login")[-1]
    assert row["result"] == "success" and row["actor"] == "zhangwei" and row["detail"] == {"reason": "ok"}
    assert row["source_ip"] == "127.0.0.1" and len(row["session_hash"]) == 64 and row["request_id"]


def test_failures_lockout_and_one_message_without_the_password_in_the_audit(app: Flask, client: FlaskClient) -> None:
    add_user(app, "lina")
    unknown = login(client, "nobody", PASSWORD).get_data(as_text=True)
    wrong = [login(client, "lina", "Wrong-Passw0rd-x").get_data(as_text=True) for _ in range(5)]
    locked = login(client, "lina", PASSWORD)  # the 6th attempt, with the right password
    assert locked.status_code == 200 and FAILED in locked.get_data(as_text=True)
    assert FAILED in unknown and all(FAILED in text for text in wrong)
    assert location(client.get("/")) == "/auth/login"
    rows = audit_rows(app, "login")
    assert [(r["result"], r["detail"]["reason"]) for r in rows] == [
        ("failure", "unknown_user"), *[("failure", "bad_password")] * 4, ("denied", "locked_out"),
        ("denied", "locked")]
    assert rows[0]["actor"] == "anonymous" and "nobody" not in str(rows[0])
    everything = str(audit_rows(app))
    assert PASSWORD not in everything and "Wrong-Passw0rd-x" not in everything


def test_next_redirects_only_to_local_paths(app: Flask) -> None:
    add_user(app, "wangfang")
    for target, expected in [("/auth/history", "/auth/history"), ("https://evil.example/x", "/"),
                             ("//evil.example", "/"), ("/\\evil.example", "/"), ("javascript:alert(1)", "/")]:
        assert location(login(app.test_client(), "wangfang", next_url=target)) == expected, target


def test_posts_without_a_csrf_token_are_refused(app: Flask, client: FlaskClient) -> None:
    add_user(app, "zhaolei")
    refused = client.post("/auth/login", data={"username": "zhaolei", "password": PASSWORD})
    assert refused.status_code == 400 and str(messages.CSRF_FAILED) in refused.get_data(as_text=True)
    assert login(client, "zhaolei").status_code == 302
    for path in ("/auth/logout", "/auth/sessions/end-all", "/auth/change-password", "/auth/totp/setup"):
        assert client.post(path, data={}).status_code == 400, path
        assert client.post(path, data={"csrf_token": "forged"}).status_code == 400, path
    assert client.get("/auth/logout").status_code == 405  # no state change on GET
    assert page(client)


def test_logout_revokes_the_old_cookie_on_the_server(app: Flask, client: FlaskClient) -> None:
    add_user(app, "liuyang")
    login(client, "liuyang")
    old = client.get_cookie(COOKIE)
    assert old is not None
    assert location(post(client, "/auth/logout")) == "/auth/login"
    replay = app.test_client()
    replay.set_cookie(COOKIE, old.value)
    assert location(replay.get("/")) == "/auth/login"
    assert replay.post("/auth/sessions/end-all", data={"csrf_token": "x"}).status_code in (400, 401)
    actions = [r["action"] for r in audit_rows(app)]
    assert actions[actions.index("logout"):] == ["logout", "access.denied", "access.denied"]  # replays refused


def test_disabling_and_ending_all_sessions_kill_every_session(app: Flask) -> None:
    add_user(app, "chenjing")
    first, second, third = app.test_client(), app.test_client(), app.test_client()
    for one in (first, second):
        login(one, "chenjing")
    assert location(post(first, "/auth/sessions/end-all")) == "/auth/login"
    assert location(second.get("/")) == "/auth/login"  # the epoch moved: every device is signed out
    login(third, "chenjing")
    assert page(third)
    change_user(app, "chenjing", lambda db, user: accounts.disable_user(db, user))
    assert location(third.get("/")) == "/auth/login"
    assert FAILED in login(third, "chenjing").get_data(as_text=True)


def test_idle_and_absolute_timeouts_with_a_frozen_clock(app: Flask, clock: FrozenClock) -> None:
    add_user(app, "operator1", "operator")
    add_user(app, "super1", "supervisor")
    op, sup = app.test_client(), app.test_client()
    login(op, "operator1")
    login(sup, "super1")
    clock.advance(minutes=14)
    assert page(op) and page(sup)
    clock.advance(minutes=16)  # 16 min since the supervisor's last request: over the 15-minute limit
    assert location(sup.get("/")) == "/auth/login"
    with runtime_of(app).read() as db:  # the server-side row ends too: it no longer counts as a live session
        rows = db.execute(sa.select(UserSession.end_reason).join(AppUser, AppUser.id == UserSession.user_id)
                          .where(AppUser.username == "super1")).scalars().all()
    assert rows == ["timeout"]
    assert page(op)  # 16 minutes is within an operator's 30
    clock.advance(minutes=31)
    assert location(op.get("/")) == "/auth/login"
    login(op, "operator1")
    for _ in range(28):  # busy all shift: a request every 25 minutes, 11 h 40 min in all
        clock.advance(minutes=25)
        assert page(op)
    clock.advance(minutes=25)  # 12 h 5 min after login
    response = op.get("/", follow_redirects=True)
    assert response.request.path == "/auth/login" and str(messages.SESSION_EXPIRED) in response.get_data(as_text=True)


def test_background_refreshes_do_not_count_as_activity(app: Flask, client: FlaskClient, clock: FrozenClock) -> None:
    add_user(app, "poller")
    login(client, "poller")
    for _ in range(5):
        clock.advance(minutes=5)
        assert page(client, **{"X-Background-Refresh": "1"})
    clock.advance(minutes=6)  # 31 minutes since the last real request
    assert location(client.get("/", headers={"X-Background-Refresh": "1"})) == "/auth/login"


def _gated_everywhere(app: Flask, client: FlaskClient, target: str, exempt: frozenset[str],
                      roles: frozenset[str] = frozenset({"operator"})) -> None:
    """Every route but the exempt ones sends pages to `target` and refuses other methods with 403; routes the
    user's roles may not call at all are refused with 403 first (the permission table runs before these checks)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in exempt or rule.arguments:
            continue
        if permissions.api_scope(permissions.RULES.get(rule.endpoint)) is not None:
            # open interfaces ignore the session: without a key they answer 401, whatever the user's state
            if "GET" in (rule.methods or set()):
                assert client.get(rule.rule).status_code == 401, rule
            continue
        denied = not permissions.allowed(permissions.RULES.get(rule.endpoint), signed_in=True, roles=roles)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if denied:
                assert client.open(rule.rule, method=method, data={"csrf_token": token(client)}).status_code == 403
            elif method == "GET":
                response = client.get(rule.rule)
                assert response.status_code == 302 and location(response) == target, rule
                assert client.get(rule.rule, headers={"Accept": "application/json"}).status_code == 403, rule
            else:
                assert client.open(rule.rule, method=method, data={"csrf_token": token(client)}).status_code == 403


def test_forced_password_change_at_first_login_and_after_90_days(app: Flask, clock: FrozenClock) -> None:
    add_user(app, "newbie", must_change=True)
    add_user(app, "veteran")
    first = app.test_client()
    assert location(login(first, "newbie")) == "/"
    _gated_everywhere(app, first, "/auth/change-password", frozenset({"static", "auth.change_password",
                                                                     "auth.logout", "auth.login", "auth.totp_verify",
                                                                     "i18n.set_language"}))
    assert "请先修改密码" in first.get("/", follow_redirects=True).get_data(as_text=True)
    mismatch = post(first, "/auth/change-password", {"old": PASSWORD, "new": NEW_PASSWORD, "confirm": "other"})
    assert mismatch.status_code == 400 and str(messages.PASSWORD_MISMATCH) in mismatch.get_data(as_text=True)
    weak = post(first, "/auth/change-password", {"old": PASSWORD, "new": "newbie2026!A", "confirm": "newbie2026!A"})
    assert weak.status_code == 400 and "不得包含用户名" in weak.get_data(as_text=True)
    done = post(first, "/auth/change-password", {"old": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert location(done) == "/" and page(first)
    assert [r["result"] for r in audit_rows(app, "password.change")] == ["failure", "failure", "success"]
    clock.advance(days=91)
    old = app.test_client()
    assert location(login(old, "veteran")) == "/"
    _gated_everywhere(app, old, "/auth/change-password", frozenset({"static", "auth.change_password",
                                                                   "auth.logout", "auth.login", "auth.totp_verify",
                                                                   "i18n.set_language"}))


def test_password_change_ends_other_sessions_and_keeps_this_one(app: Flask) -> None:
    add_user(app, "sunli")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "sunli")
    login(elsewhere, "sunli")
    wrong = post(here, "/auth/change-password", {"old": "Not-the-0ld-one", "new": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert str(messages.PASSWORD_OLD_WRONG) in wrong.get_data(as_text=True)
    post(here, "/auth/change-password", {"old": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert page(here) and location(elsewhere.get("/")) == "/auth/login"
    assert location(login(elsewhere, "sunli", NEW_PASSWORD)) == "/"


def test_administrators_must_enrol_a_second_factor_first(app: Flask, client: FlaskClient) -> None:
    add_user(app, "sysadmin1", "sysadmin")
    login(client, "sysadmin1")
    _gated_everywhere(app, client, "/auth/totp/setup", ENROL_EXEMPT | {"auth.login", "auth.totp_verify"},
                      frozenset({"sysadmin"}))
    assert str(messages.TOTP_REQUIRED) in client.get("/", follow_redirects=True).get_data(as_text=True)


def enrol(client: FlaskClient, clock: FrozenClock) -> str:
    """Enrol the signed-in user's second factor through the pages; return the secret shown."""
    assert location(post(client, "/auth/totp/setup")) == "/auth/totp/setup"
    html = page(client, "/auth/totp/setup")
    found = re.search(r'<code class="secret">([A-Z2-7]+)</code>', html)
    assert found and "otpauth://totp/" in html  # the URI as text: no external QR service
    secret = found.group(1)
    assert location(post(client, "/auth/totp/confirm", {"code": other_code(secret, clock)})) == "/auth/totp/setup"
    assert location(post(client, "/auth/totp/confirm", {"code": totp.code_at(secret, clock())})) == "/"
    return secret


def other_code(secret: str, clock: FrozenClock) -> str:
    """Return a code that is wrong now."""
    return f"{(int(totp.code_at(secret, clock())) + 500_000) % 1_000_000:06d}"


def test_totp_enrolment_verification_and_no_reuse(app: Flask, client: FlaskClient, clock: FrozenClock) -> None:
    add_user(app, "mfauser")
    login(client, "mfauser")
    secret = enrol(client, clock)
    stored = user_row(app, "mfauser").totp_secret
    assert stored is not None and stored.startswith("v1:") and secret not in stored  # encrypted at rest
    post(client, "/auth/logout")
    clock.advance(seconds=30)
    assert location(login(client, "mfauser")) == "/auth/totp"
    assert location(client.get("/")) == "/auth/login"  # not signed in before the code
    wrong = post(client, "/auth/totp", {"code": other_code(secret, clock)})
    assert wrong.status_code == 200 and str(messages.TOTP_FAILED) in wrong.get_data(as_text=True)
    code = totp.code_at(secret, clock())
    assert location(post(client, "/auth/totp", {"code": code})) == "/" and page(client)
    post(client, "/auth/logout")
    login(client, "mfauser")
    reused = post(client, "/auth/totp", {"code": code})
    assert str(messages.TOTP_FAILED) in reused.get_data(as_text=True) and location(client.get("/")) == "/auth/login"
    assert [(r["result"], r["detail"]["reason"]) for r in audit_rows(app, "login.totp")] == [
        ("failure", "bad_code"), ("success", "ok"), ("failure", "reused")]
    assert [r["result"] for r in audit_rows(app, "totp.enrol")] == ["failure", "success"]
    clock.advance(seconds=30)
    assert location(post(client, "/auth/totp", {"code": totp.code_at(secret, clock())})) == "/"
    assert page(client, "/auth/history").count("<td>动态口令</td>") == 4  # failed, ok, reused, ok


def test_five_wrong_codes_lock_the_account(app: Flask, client: FlaskClient, clock: FrozenClock) -> None:
    add_user(app, "guessed")
    login(client, "guessed")
    secret = enrol(client, clock)
    post(client, "/auth/logout")
    login(client, "guessed")
    for _ in range(4):
        assert post(client, "/auth/totp", {"code": other_code(secret, clock)}).status_code == 200
    assert location(post(client, "/auth/totp", {"code": other_code(secret, clock)})) == "/auth/login"
    assert FAILED in login(client, "guessed").get_data(as_text=True)  # the right password is refused too
    clock.advance(minutes=31)
    assert location(login(client, "guessed")) == "/auth/totp"
    clock.advance(minutes=6)  # the code must follow the password within TOTP_PENDING_MINUTES
    late = post(client, "/auth/totp", {"code": totp.code_at(secret, clock())}, follow_redirects=True)
    assert late.request.path == "/auth/login" and str(messages.TOTP_PENDING_EXPIRED) in late.get_data(as_text=True)
    assert location(login(client, "guessed")) == "/auth/totp"
    assert location(post(client, "/auth/totp", {"code": totp.code_at(secret, clock())})) == "/"
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": app.config["DATABASE_URL"]})
    result = runner.invoke(cli, ["users", "reset-totp", "guessed", "--actor", "sec1"], catch_exceptions=False)
    assert result.exit_code == 0 and "removed" in result.output
    assert location(client.get("/")) == "/auth/login"  # the reset ended the session
    assert location(login(client, "guessed")) == "/" and audit_rows(app, "user.reset_totp")[0]["actor"] == "sec1"


def test_an_administrator_enrols_then_signs_in_with_a_code(app: Flask, client: FlaskClient,
                                                           clock: FrozenClock) -> None:
    add_user(app, "secadmin1", "secadmin")
    login(client, "secadmin1")
    assert location(client.get("/")) == "/auth/totp/setup"
    secret = enrol(client, clock)
    assert page(client) and page(client, "/auth/history")
    post(client, "/auth/logout")
    clock.advance(minutes=1)
    login(client, "secadmin1")
    assert location(post(client, "/auth/totp", {"code": totp.code_at(secret, clock())})) == "/"


def test_security_headers_and_cookie_flags(app: Flask, client: FlaskClient) -> None:
    add_user(app, "headers")
    for response in (client.get("/auth/login"), client.get("/"), login(client, "headers"), client.get("/")):
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in response.headers
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    with client.get("/static/css/app.css") as css:
        assert css.status_code == 200 and "no-store" not in css.headers.get("Cache-Control", "")
    html = client.get("/").get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>([^<]*)</script>", html)  # only our own files, nothing inline
    assert scripts and html.count("<script") == len(scripts)
    assert all(attrs.startswith(' src="/static/') and not body.strip() for attrs, body in scripts)
    assert "style=" not in html and "://" not in html  # no inline style, nothing external
    secure = client.get("/auth/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_production_cookies_are_secure_and_bodies_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENV", "production")
    app = create_app({"SECRET_KEY": "a3" * 32, "PII_ENCRYPTION_KEY": "b4" * 32})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_NAME"] == "__Host-" + COOKIE
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["WTF_CSRF_TIME_LIMIT"] >= 12 * 3600
    assert app.config["MAX_CONTENT_LENGTH"] and app.config["MAX_FORM_MEMORY_SIZE"] and app.config["MAX_FORM_PARTS"]


def test_too_many_failures_from_one_address_answer_429(app: Flask, client: FlaskClient) -> None:
    add_user(app, "ratelimited")
    for i in range(20):
        assert login(client, f"guess{i}", "Wrong-Passw0rd-x").status_code == 200
    limited = login(client, "ratelimited")  # even the right password waits out the window
    assert limited.status_code == 429 and "登录尝试过于频繁" in limited.get_data(as_text=True)
    assert limited.headers["Retry-After"] == "600"
    assert location(login(app.test_client(), "ratelimited", ip="127.0.0.2")) == "/"  # another address
    assert audit_rows(app, "login")[20]["detail"] == {"reason": "rate_limited"}


def test_login_history_shows_the_users_attempts(app: Flask, client: FlaskClient) -> None:
    add_user(app, "history")
    login(client, "history", "Wrong-Passw0rd-x", ip="127.0.0.5")
    login(client, "history")
    html = page(client, "/auth/history")
    assert html.count("127.0.0.5") == 1 and html.count("127.0.0.1") == 1
    assert "失败" in html and "成功" in html and "bad_password" not in html


def test_every_policy_message_has_a_chinese_text() -> None:
    policy = AccountPolicy(time_cost=1, memory_cost=8, parallelism=1)
    problems = {p for pw in ("", "x" * 200, "aaaaaaaaaaaa", "lina-Zq8#mW2!", "Password1234") for p in
                check(policy, pw, username="lina")}
    problems |= {"must differ from the last 5 passwords", accounts.LOGIN_FAILED, "the current password is wrong"}
    assert len(problems) >= 8
    for problem in problems:
        text = messages.translate(problem)
        assert text != messages.PASSWORD_POLICY_OTHER and "\u4e00" <= text[0] <= "\u9fff", problem
    assert messages.translate("something new") == messages.PASSWORD_POLICY_OTHER
