"""User administration pages: the list with filters and paging, one user's details, and account creation."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from dataclasses import field

from flask import abort
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from processes.accounts import passwords
from processes.accounts import users as accounts
from processes.accounts.admin import AdminRefused
from processes.accounts.admin import check_action
from processes.accounts.admin import check_web_roles
from processes.accounts.passwords import AccountPolicy
from processes.accounts.roles import BUSINESS_ROLES
from processes.accounts.roles import ROLES
from processes.accounts.roles import RoleConflict
from processes.cases.numbers import has_number
from webapp import workspace
from webapp.admin import bp
from webapp.admin import handover
from webapp.admin import queries
from webapp.admin import texts
from webapp.auth.forms import ActionForm
from webapp.casework import record
from webapp.context import now
from webapp.context import policy
from webapp.context import runtime

# Business roles in the role table's order: the only roles the web grants.
WEB_ROLES = [code for code in ROLES if code in BUSINESS_ROLES]
# Readable characters only (no 0/O, 1/l/I): the password is read off a screen and typed in.
_LOWER, _UPPER, _DIGITS = "abcdefghijkmnpqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789"
ACTIONS = ("disable", "enable", "roles", "unlock", "reset_totp", "end_sessions")


def generate_password(pol: AccountPolicy, username: str) -> str:
    """Return a random initial password that passes the policy: four groups of four, e.g. `Kp7x-Qm3r-…`."""
    alphabet = _LOWER + _UPPER + _DIGITS
    for _ in range(50):
        groups = ["".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4)]
        candidate = "-".join(groups)
        if (any(c in _LOWER for c in candidate) and any(c in _UPPER for c in candidate)
                and any(c in _DIGITS for c in candidate) and not passwords.check(pol, candidate, username=username)):
            return candidate
    raise RuntimeError("could not generate a password that passes the policy")  # pragma: no cover


@bp.get("/users")
def users() -> ResponseReturnValue:
    """List accounts with their unit, roles, state and last login; filter by role, unit and state; 50 a page."""
    at = now()
    with runtime().read() as db:
        unit_names = workspace.unit_names(db)
        flt = queries.parse_filter(request.args, unit_names)
        rows, total = ([], 0) if flt.errors else queries.user_page(db, flt, at, unit_names)
    pages = max(1, -(-total // queries.PAGE_SIZE))
    page = render_template("admin/users.html", rows=rows, total=total, flt=flt, pages=pages, units=unit_names,
                           roles=ROLES, states=queries.STATES, can_create="sysadmin" in current_user.roles)
    return page, 400 if flt.errors else 200


def allowed_actions(target_id: str, target_roles: frozenset[str]) -> dict[str, bool]:
    """Return which account actions the signed-in user may take on the target (for showing the buttons)."""
    allowed = {}
    for action in ACTIONS:
        try:
            check_action(action, actor_id=current_user.id, actor_roles=current_user.roles, target_id=target_id,
                         target_roles=target_roles)
            allowed[action] = True
        except AdminRefused:
            allowed[action] = False
    return allowed


def detail_page(db: Session, user_id: str, *, error: str | None = None, status: int = 200,
                chosen: list[str] | None = None) -> ResponseReturnValue:
    """Render one account's page (also after a refused action, with its message and status)."""
    user = queries.find_user(db, user_id)
    if user is None:
        abort(404)
    unit_names = workspace.unit_names(db)
    row = queries.rows_of(db, [user], now(), unit_names)[0]
    held = frozenset(row.roles)
    tasks, receivers = handover.held(db, user)
    return render_template(
        "admin/user.html", user=row, roles=ROLES, web_roles=WEB_ROLES, chosen=chosen or row.roles,
        states=queries.STATES, logins=queries.recent_logins(db, user), allowed=allowed_actions(user.id, held),
        active=user.active, error=error, form=ActionForm(), tasks=tasks, receivers=receivers,
        units=unit_names), status


@bp.get("/users/<user_id>")
def user(user_id: str) -> ResponseReturnValue:
    """Show one account: unit, roles, state, recent logins, and the actions the viewer's role may take."""
    with runtime().read() as db:
        return detail_page(db, user_id)


@dataclass
class NewUser:
    """What the creation form holds."""

    username: str = ""
    real_name: str = ""
    department: str | None = None
    roles: list[str] = field(default_factory=list)


def _new_page(values: NewUser, errors: dict[str, str], status: int) -> ResponseReturnValue:
    with runtime().read() as db:
        unit_names = workspace.unit_names(db)
    return render_template("admin/user_new.html", values=values, errors=errors, units=unit_names, roles=ROLES,
                           web_roles=WEB_ROLES, form=ActionForm()), status


def _check_new(values: NewUser, unit_names: dict[str, str]) -> tuple[dict[str, str], str]:
    """Return field errors of the creation form and the audit result they deserve (failure, or denied)."""
    errors: dict[str, str] = {}
    result = "failure"
    try:  # the permission table lets only system administrators here; the split is checked once more
        check_action("create", actor_id=current_user.id, actor_roles=current_user.roles, target_id=None)
    except AdminRefused as exc:
        return {"roles": str(texts.REFUSED[exc.reason])}, "denied"
    if not values.username:
        errors["username"] = str(texts.USERNAME_REQUIRED)
    elif len(values.username) > 64:
        errors["username"] = texts.account_error("username: 2-64")
    name = values.real_name
    if not name:
        errors["real_name"] = str(texts.REAL_NAME_REQUIRED)
    elif len(name) > 100 or has_number(name) \
            or any(unicodedata.category(c)[0] == "C" for c in name):
        errors["real_name"] = str(texts.REAL_NAME_INVALID)
    if values.department and values.department not in unit_names:
        errors["department"] = str(texts.DEPARTMENT_UNKNOWN)
    try:
        check_web_roles(values.roles)
    except AdminRefused as exc:
        errors["roles"], result = str(texts.REFUSED[exc.reason]), "denied"
    except RoleConflict as exc:
        errors["roles"] = texts.account_error(str(exc))
    return errors, result


def _field_of(message: str) -> str:
    """Return which form field an account error from `processes.accounts.users` is about."""
    if message.startswith("username"):
        return "username"
    return "department" if "department" in message or "township" in message else "roles"


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> ResponseReturnValue:
    """Create an account (system administrator): real name, unit, business roles; the generated initial password
    is shown once on the answer to this POST and kept nowhere else (not in the session, a flash or a log)."""
    form = request.form
    values = NewUser(form.get("username", "").strip(), form.get("real_name", "").strip(),
                     form.get("department", "").strip() or None, form.getlist("roles"))
    if request.method == "GET":
        return _new_page(values, {}, 200)
    with runtime().read() as db:
        errors, result = _check_new(values, workspace.unit_names(db))
    created: tuple[str, str] | None = None  # id and username of the new account
    if not errors:
        password = generate_password(policy(), values.username)
        try:
            with runtime().write() as db, db.begin():
                account = accounts.create_user(
                    db, username=values.username, password=password, roles=values.roles,
                    real_name=values.real_name, department=values.department, policy=policy(), now=now(),
                    actor=current_user.username, must_change_password=True)
                record(db, "user.create", object_type="app_user", object_id=account.id,
                       after={"username": account.username, "roles": sorted(values.roles),
                              "department": values.department, "must_change": True},
                       password="generated")  # noqa: S106  (how it was set, never the password)
                created = (account.id, account.username)
        except (accounts.AccountError, RoleConflict) as exc:
            errors[_field_of(str(exc))] = texts.account_error(str(exc))
    if created is None:
        with runtime().write() as db, db.begin():
            record(db, "user.create", object_type="app_user", object_id=None, result=result,
                   fields=sorted(errors))
        return _new_page(values, errors, 403 if result == "denied" else 400)
    return render_template("admin/user_created.html", user_id=created[0], username=created[1], password=password)
