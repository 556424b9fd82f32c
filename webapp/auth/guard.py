"""Checks before every request on the session itself: revocation, idle and absolute timeouts (AUTH-05), the
forced password change (AUTH-01/03) and the second factor some roles must enrol (AUTH-06).

Times come from the runtime's clock, so tests move a frozen clock instead of sleeping. A request carrying
`X-Background-Refresh: 1` (a page polling for updates) is served but does not count as activity.
"""

from __future__ import annotations

from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from processes.accounts import passwords
from processes.accounts import sessions
from webapp import messages
from webapp.auth.users import LOGIN_AT
from webapp.auth.users import SEEN_AT
from webapp.auth.users import TOUCHED_AT
from webapp.auth.users import current_token
from webapp.auth.users import end_cookie_session
from webapp.context import now
from webapp.context import policy
from webapp.context import runtime
from webapp.context import wall_now
from webapp.permissions import RULES
from webapp.permissions import api_scope
from webapp.permissions import wants_json

BACKGROUND_HEADER = "X-Background-Refresh"
# What a user who must change the password, or enrol the second factor first, may still reach.
PASSWORD_EXEMPT = frozenset({"static", "auth.change_password", "auth.logout", "i18n.set_language"})
ENROL_EXEMPT = PASSWORD_EXEMPT | {"auth.totp_setup", "auth.totp_confirm"}
TOUCH_SECONDS = 60  # how often a session row's last use is written (one write a minute per active session)


def idle_limit_seconds(roles: frozenset[str]) -> float:
    """Return the idle timeout of a user with these roles, in seconds (shorter for privileged roles)."""
    config = current_app.config
    privileged = roles & frozenset(config["SESSION_PRIVILEGED_ROLES"])
    minutes = config["SESSION_IDLE_MINUTES_PRIVILEGED"] if privileged else config["SESSION_IDLE_MINUTES"]
    return float(minutes) * 60


def check_session() -> None:
    """End a session that was revoked or timed out; otherwise note the activity (unless a background refresh)."""
    if request.endpoint == "static" or "_user_id" not in session:
        return
    if not current_user.is_authenticated:  # logged out elsewhere, epoch moved, disabled
        end_cookie_session()
        flash(messages.SESSION_ENDED, "info")
        return
    at = wall_now().timestamp()  # real time: moving the demo clock must not end everybody's session
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    absolute = float(current_app.config["SESSION_ABSOLUTE_HOURS"]) * 3600
    if (not isinstance(login_at, float | int) or not isinstance(seen_at, float | int)
            or at - login_at > absolute or at - seen_at > idle_limit_seconds(current_user.roles)):
        _close_row("timeout")  # the server-side row too, so it stops counting as a live session at once
        end_cookie_session()
        flash(messages.SESSION_EXPIRED, "info")
        return
    if request.headers.get(BACKGROUND_HEADER) != "1":
        session[SEEN_AT] = at
        _touch_row(at)


def _touch_row(at: float) -> None:
    """Note the session's last use on its row, at most once a minute: the concurrency count skips idle ones."""
    touched = session.get(TOUCHED_AT)
    token = current_token()
    if token is None or (isinstance(touched, float | int) and at - touched < TOUCH_SECONDS):
        return
    with runtime().write() as db, db.begin():
        sessions.touch(db, token, now=now())
    session[TOUCHED_AT] = at


def _close_row(reason: str) -> None:
    """End the server-side row of this browser's session."""
    token = current_token()
    if token is not None:
        with runtime().write() as db, db.begin():
            sessions.end_session(db, token, now=now(), reason=reason)


def _send_to(endpoint: str, message: str) -> ResponseReturnValue:
    """Send a page request to the page that must come first; refuse anything else with 403."""
    if request.method in ("GET", "HEAD") and not wants_json():
        flash(message, "warning")
        return redirect(url_for(endpoint))
    abort(403, description=message)


def _open_interface() -> bool:
    """Return whether the request is for an open interface (/api, /open311): keys, never the session, apply there."""
    return request.endpoint is not None and api_scope(RULES.get(request.endpoint)) is not None


def require_password_change() -> ResponseReturnValue | None:
    """Keep a user whose password must change (first login, expired) on the change-password page."""
    if not current_user.is_authenticated or request.endpoint in PASSWORD_EXEMPT or _open_interface():
        return None
    if current_user.must_change_password or passwords.expired(policy(), current_user.password_changed_at, now()):
        return _send_to("auth.change_password", messages.MUST_CHANGE_PASSWORD)
    return None


def require_second_factor() -> ResponseReturnValue | None:
    """Keep a user whose roles need a second factor on the enrolment page until it is done."""
    if (not current_user.is_authenticated or request.endpoint in ENROL_EXEMPT or current_user.totp_enrolled
            or _open_interface()):
        return None
    if current_user.roles & frozenset(current_app.config["TOTP_REQUIRED_ROLES"]):
        return _send_to("auth.totp_setup", messages.TOTP_REQUIRED)
    return None


def init_app(app: Flask) -> None:
    """Register the session checks; the permission table runs between the first and the others."""
    from webapp import permissions

    app.before_request(check_session)
    permissions.init_app(app)
    app.before_request(require_password_change)
    app.before_request(require_second_factor)
