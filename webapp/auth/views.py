"""Login, logout, ending every session, password change and login history (AUTH-01, 03, 04, 05)."""

from __future__ import annotations

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from processes.accounts import sessions
from processes.accounts import totp
from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.models import LoginAttempt
from webapp import messages
from webapp.auth import bp
from webapp.auth.forms import ActionForm
from webapp.auth.forms import ChangePasswordForm
from webapp.auth.forms import LoginForm
from webapp.auth.signin import hold_pending
from webapp.auth.signin import open_login
from webapp.auth.signin import outcome
from webapp.auth.signin import rate_limited
from webapp.auth.signin import record_login
from webapp.auth.signin import record_user
from webapp.auth.signin import safe_next
from webapp.auth.users import current_token
from webapp.auth.users import end_cookie_session
from webapp.auth.users import establish
from webapp.context import now
from webapp.context import policy
from webapp.context import runtime
from webapp.context import source_ip
from webapp.context import wall_now
from webapp.timefmt import local_time


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; check a username and password (lockout, per-IP limit, one generic message)."""
    target = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if request.method == "GET":
        return render_template("auth/login.html", form=form, next=target)
    if not form.validate():
        return render_template("auth/login.html", form=form, next=target, error=messages.LOGIN_MISSING), 400
    username, password = form.username.data, form.password.data
    token: str | None = None
    with runtime().write() as db, db.begin():
        if rate_limited(db):
            record_login(db, action="login", result="denied", reason="rate_limited", username=username,
                         user=accounts.find_user(db, username))
            minutes = current_app.config["LOGIN_RATE_WINDOW_MINUTES"]
            error = messages.LOGIN_RATE_LIMITED.format(minutes=minutes)
            page = render_template("auth/login.html", form=form, next=target, error=error)
            return page, 429, {"Retry-After": str(int(float(minutes) * 60))}
        result = accounts.authenticate(db, username, password, now=now(), source_ip=source_ip(), policy=policy())
        user = db.get(AppUser, result.user_id) if result.user_id else None
        second_factor = result.ok and user is not None and totp.enrolled(user)
        if result.ok and user is not None and not second_factor:
            token = open_login(db, user)
        record_login(db, action="login", result=outcome(result.reason), reason=result.reason, user=user,
                     username=username, session_hash=sessions.token_hash(token) if token else None,
                     **({"second_factor": "pending"} if second_factor else {}))
    if not result.ok or user is None:
        error = messages.EXACT.get(result.message, messages.LOGIN_FAILED)
        return render_template("auth/login.html", form=form, next=target, error=error)
    if token is None:
        hold_pending(user, target)
        return redirect(url_for("auth.totp_verify"))
    establish(token, user, result.roles, wall_now())
    return redirect(target)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End this session only (its server-side row), so its cookie is void from now on."""
    token = current_token()
    with runtime().write() as db, db.begin():
        if token is not None:
            sessions.end_session(db, token, now=now(), reason="logout")
        record_user(db, action="logout")
    end_cookie_session()
    flash(messages.LOGGED_OUT, "info")
    return redirect(url_for("auth.login"))


@bp.post("/sessions/end-all")
def end_all() -> ResponseReturnValue:
    """End every session of the user on every device (the session epoch moves on)."""
    with runtime().write() as db, db.begin():
        user = db.get(AppUser, current_user.id)
        if user is not None:
            sessions.end_all(db, user, now=now(), reason="end_all")
        record_user(db, action="session.end_all")
    end_cookie_session()
    flash(messages.ALL_SESSIONS_ENDED, "info")
    return redirect(url_for("auth.login"))


def _change(old: str, new: str) -> list[str]:
    """Change the signed-in user's password and renew this session; return the problems (empty on success)."""
    problems: list[str] = []
    token: str | None = None
    roles: frozenset[str] = frozenset()
    with runtime().write() as db, db.begin():
        user = db.get(AppUser, current_user.id)
        assert user is not None  # noqa: S101  (the session's user was just loaded)
        try:
            accounts.change_password(db, user, old, new, policy=policy(), now=now())
        except accounts.PasswordRejected as exc:
            problems = [messages.translate(p) for p in exc.problems]
            record_user(db, action="password.change", result="failure", reason="policy", problems=len(problems))
        except accounts.AccountError as exc:
            problems = [messages.translate(str(exc))]
            record_user(db, action="password.change", result="failure", reason="old_password_wrong")
        else:
            sessions.end_all(db, user, now=now(), reason="password_change")  # every other device signs in anew
            token = open_login(db, user)
            record_user(db, action="password.change", new_session=sessions.token_hash(token))
            roles = accounts.roles_of(db, user)
    if token is not None:
        establish(token, user, roles, wall_now())
    return problems


@bp.route("/change-password", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    """Change one's own password (also the forced change at first login and after PASSWORD_MAX_AGE_DAYS)."""
    form = ChangePasswordForm()
    if request.method == "GET":
        return render_template("auth/change_password.html", form=form)
    if not form.validate():
        problems = [messages.PASSWORD_FIELDS_MISSING]
    elif form.new.data != form.confirm.data:
        problems = [messages.PASSWORD_MISMATCH]
        with runtime().write() as db, db.begin():
            record_user(db, action="password.change", result="failure", reason="confirmation_mismatch")
    else:
        problems = _change(form.old.data, form.new.data)
    if problems:
        return render_template("auth/change_password.html", form=form, problems=problems), 400
    flash(messages.PASSWORD_CHANGED, "success")
    return redirect(url_for("home.index"))


def _history_row(attempt: LoginAttempt) -> dict[str, str]:
    """Return what the user sees of one attempt: local time, address, step and result (never the reason)."""
    return {"at": local_time(attempt.at, "%Y-%m-%d %H:%M:%S"),
            "ip": attempt.source_ip or "-",
            "step": "动态口令" if attempt.reason.startswith("totp_") else "密码",
            "result": "成功" if attempt.success else "失败"}


@bp.get("/history")
def history() -> ResponseReturnValue:
    """Show the user's own latest login attempts (登录记录)."""
    with runtime().read() as db:
        user = db.get(AppUser, current_user.id)
        rows = [_history_row(a) for a in accounts.login_history(db, user, limit=50)] if user else []
    return render_template("auth/history.html", rows=rows, form=ActionForm())
