"""Second factor pages (动态口令, AUTH-06): the code after the password, and enrolment of one's own app."""

from __future__ import annotations

from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from processes.accounts import sessions
from processes.accounts import totp
from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from webapp import messages
from webapp.auth import bp
from webapp.auth.forms import ActionForm
from webapp.auth.forms import CodeForm
from webapp.auth.signin import PENDING
from webapp.auth.signin import open_login
from webapp.auth.signin import outcome
from webapp.auth.signin import pending
from webapp.auth.signin import record_login
from webapp.auth.signin import record_user
from webapp.auth.users import establish
from webapp.context import now
from webapp.context import policy
from webapp.context import runtime
from webapp.context import source_ip
from webapp.context import wall_now


@bp.route("/totp", methods=["GET", "POST"])
def totp_verify() -> ResponseReturnValue:
    """Ask for the code of a user whose password was right; a right, unused code completes the login."""
    started = PENDING in session
    held = pending()
    if held is None:
        if started:
            flash(messages.TOTP_PENDING_EXPIRED, "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if request.method == "GET" or not form.validate():
        return render_template("auth/totp_verify.html", form=form)
    token: str | None = None
    roles: frozenset[str] = frozenset()
    with runtime().write() as db, db.begin():
        user = db.get(AppUser, held["uid"])
        if user is None or not user.active or user.session_epoch != held["epoch"]:
            result = totp.TotpResult(False, "stale")  # disabled or password changed since the first step
        else:
            result = totp.verify(user, form.code.data, now=now(), policy=policy(), code_at=wall_now())
        if user is not None:
            sessions.record_attempt(db, user, now=now(), source_ip=source_ip(), ok=result.ok,
                                    reason=f"totp_{result.reason}")
        if result.ok and user is not None:
            token = open_login(db, user)
            roles = accounts.roles_of(db, user)
        record_login(db, action="login.totp", result=outcome(result.reason), reason=result.reason, user=user,
                     username="", session_hash=sessions.token_hash(token) if token else None)
    if token is not None and user is not None:
        establish(token, user, roles, wall_now())
        return redirect(str(held.get("next") or url_for("home.index")))
    if result.reason in ("locked", "locked_out", "stale"):
        session.pop(PENDING, None)
        flash(messages.TOTP_FAILED, "error")
        return redirect(url_for("auth.login"))
    return render_template("auth/totp_verify.html", form=CodeForm(formdata=None), error=messages.TOTP_FAILED)


@bp.route("/totp/setup", methods=["GET", "POST"])
def totp_setup() -> ResponseReturnValue:
    """Show the state of one's second factor; POST makes a new secret to add to an authenticator app."""
    if request.method == "POST":
        if ActionForm().validate():
            with runtime().write() as db, db.begin():
                user = db.get(AppUser, current_user.id)
                if user is None or totp.enrolled(user):
                    flash(messages.TOTP_ALREADY, "info")
                    record_user(db, action="totp.enrol_start", result="denied", reason="already_enrolled")
                else:
                    totp.begin_enrolment(user)
                    record_user(db, action="totp.enrol_start")
        return redirect(url_for("auth.totp_setup"))
    with runtime().read() as db:
        user = db.get(AppUser, current_user.id)
        enrolled = user is not None and totp.enrolled(user)
        secret = None if user is None or enrolled else totp.secret_of(user)
    uri = totp.provisioning_uri(secret, current_user.username, current_app.config["TOTP_ISSUER"]) if secret else None
    return render_template("auth/totp_setup.html", enrolled=enrolled, secret=secret, uri=uri,
                           start_form=ActionForm(), code_form=CodeForm())


@bp.post("/totp/confirm")
def totp_confirm() -> ResponseReturnValue:
    """Confirm the new secret with a code from the app; from then on every login asks for a code."""
    form = CodeForm()
    code = form.code.data if form.validate() else ""
    with runtime().write() as db, db.begin():
        user = db.get(AppUser, current_user.id)
        result = (totp.confirm_enrolment(user, code, now=now(), code_at=wall_now()) if user
                  else totp.TotpResult(False, "not_pending"))
        record_user(db, action="totp.enrol", result=outcome(result.reason), reason=result.reason)
    if result.ok:
        flash(messages.TOTP_ENROLLED, "success")
        return redirect(url_for("home.index"))
    flash(messages.TOTP_CONFIRM_FAILED, "error")
    return redirect(url_for("auth.totp_setup"))
