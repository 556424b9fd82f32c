"""Actions on one account (POST, CSRF): disable, enable, roles, unlock, reset the second factor, end sessions.

Each locks the account row, checks the 三员 split (`processes.accounts.admin`), changes the account and writes its
audit row in one transaction. A refusal writes one `denied` row and answers the account page with the reason
(403); an impossible role set writes one `failure` row (400). An unknown id is 404 and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from processes.accounts import sessions
from processes.accounts import totp
from processes.accounts import users as accounts
from processes.accounts.admin import AdminRefused
from processes.accounts.admin import check_action
from processes.accounts.admin import check_web_roles
from processes.accounts.models import AppUser
from processes.accounts.roles import RoleConflict
from webapp.admin import bp
from webapp.admin import handover
from webapp.admin import queries
from webapp.admin import texts
from webapp.admin.views import detail_page
from webapp.casework import record
from webapp.context import now
from webapp.context import runtime

Summary = tuple[dict[str, Any], dict[str, Any]]  # before and after, as the audit row records them
Change = Callable[[Session, AppUser], Summary]


def _disable(db: Session, user: AppUser) -> Summary:
    before = {"active": user.active}
    accounts.disable_user(db, user)
    sessions.end_all(db, user, now=now(), reason="disabled")  # closes the rows; the epoch voids the cookies
    to = request.form.get("to") if request.form.get("tasks") == "person" else None  # checked by disable_choice
    tasks = handover.hand_over(db, user, to, actor=current_user.username, at=now())  # none stays claimed
    return before, {"active": False, **tasks}


def _enable(db: Session, user: AppUser) -> Summary:
    before = {"active": user.active}
    accounts.enable_user(db, user)
    return before, {"active": True}


def _unlock(db: Session, user: AppUser) -> Summary:
    before = {"locked": user.locked_until is not None and user.locked_until > now(),
              "failed": user.failed_count, "totp_failed": user.totp_failed_count}
    accounts.unlock_user(db, user)
    return before, {"locked": False, "failed": 0, "totp_failed": 0}


def _reset_totp(db: Session, user: AppUser) -> Summary:
    before = {"totp_enrolled": totp.enrolled(user)}
    totp.reset(user)
    sessions.end_all(db, user, now=now(), reason="totp_reset")
    return before, {"totp_enrolled": False}


def _end_sessions(db: Session, user: AppUser) -> Summary:
    sessions.end_all(db, user, now=now(), reason="admin")
    return {}, {"sessions_ended": True}


ACTIONS: dict[str, tuple[str, Change, str]] = {  # route name -> (audit action, change, message)
    "disable": ("user.disable", _disable, texts.DISABLED),
    "enable": ("user.enable", _enable, texts.ENABLED),
    "unlock": ("user.unlock", _unlock, texts.UNLOCKED),
    "reset_totp": ("user.reset_totp", _reset_totp, texts.TOTP_RESET),
    "end_sessions": ("user.end_sessions", _end_sessions, texts.SESSIONS_ENDED),
}


def _refused(user_id: str, exc: AdminRefused) -> ResponseReturnValue:
    with runtime().read() as db:
        return detail_page(db, user_id, error=str(texts.REFUSED[exc.reason]), status=403)


def disable_choice(user_id: str) -> ResponseReturnValue | None:
    """Answer 400 on the account page when the disable form names a receiver who cannot take the tasks."""
    with runtime().read() as db:
        user = queries.find_user(db, user_id)
        if user is None:
            abort(404)
        _, error = handover.read_choice(db, user)
        if error is None:
            return None
    with runtime().write() as db, db.begin():
        record(db, "user.disable", object_type="app_user", object_id=user_id, result="failure", reason="receiver")
    with runtime().read() as db:
        return detail_page(db, user_id, error=error, status=400)


def act(name: str, user_id: str) -> ResponseReturnValue:
    """Run one account action on the user, audited in its transaction; refusals are audited too."""
    audit_action, change, done = ACTIONS[name]
    if name == "disable" and (problem := disable_choice(user_id)) is not None:
        return problem
    refused: AdminRefused | None = None
    with runtime().write() as db, db.begin():
        user = queries.find_user(db, user_id, lock=True)
        if user is None:
            abort(404)
        try:
            check_action(name, actor_id=current_user.id, actor_roles=current_user.roles, target_id=user.id,
                         target_roles=accounts.roles_of(db, user))
        except AdminRefused as exc:
            refused = exc
            record(db, audit_action, object_type="app_user", object_id=user.id, result="denied", reason=exc.reason)
        else:
            before, after = change(db, user)
            record(db, audit_action, object_type="app_user", object_id=user.id, before=before, after=after,
                   username=user.username)
    if refused is not None:
        return _refused(user_id, refused)
    flash(done, "success")
    return redirect(url_for("admin.user", user_id=user_id))


def _register(name: str) -> None:
    """Add the POST route of one account action (endpoint `admin.<name>`)."""

    def view(user_id: str) -> ResponseReturnValue:
        return act(name, user_id)

    view.__doc__ = f"POST: {ACTIONS[name][0]} on one account."
    bp.add_url_rule(f"/users/<user_id>/{name.replace('_', '-')}", name, view, methods=["POST"])


for _name in ACTIONS:
    _register(_name)


@bp.post("/users/<user_id>/roles")
def roles(user_id: str) -> ResponseReturnValue:
    """Replace a user's business roles (security administrator); the result must be a valid combination."""
    chosen = request.form.getlist("roles")
    refused: AdminRefused | None = None
    problem: str | None = None
    with runtime().write() as db, db.begin():
        user = queries.find_user(db, user_id, lock=True)
        if user is None:
            abort(404)
        held = accounts.roles_of(db, user)
        try:
            check_action("roles", actor_id=current_user.id, actor_roles=current_user.roles, target_id=user.id,
                         target_roles=held)
            wanted = check_web_roles(chosen)
            result = accounts.change_roles(db, user, add=wanted - held, remove=held - wanted)
        except AdminRefused as exc:  # raised before anything changed, like RoleConflict below
            refused = exc
            record(db, "user.roles", object_type="app_user", object_id=user.id, result="denied", reason=exc.reason)
        except RoleConflict as exc:
            problem = texts.account_error(str(exc))
            record(db, "user.roles", object_type="app_user", object_id=user.id, result="failure",
                   reason="role_conflict")
        else:
            record(db, "user.roles", object_type="app_user", object_id=user.id, before={"roles": sorted(held)},
                   after={"roles": sorted(result)}, username=user.username)
    if refused is not None or problem is not None:
        message = str(texts.REFUSED[refused.reason]) if refused is not None else str(problem)
        with runtime().read() as db:
            return detail_page(db, user_id, error=message, status=403 if refused is not None else 400,
                               chosen=chosen)
    flash(texts.ROLES_CHANGED, "success")
    return redirect(url_for("admin.user", user_id=user_id))
