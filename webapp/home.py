"""The home page (首页): who is signed in, with which roles and unit, and links to account security.

Issue 6 replaces it with the worklist (待办).
"""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from processes.accounts.roles import ROLES
from processes.reference.models import Department
from webapp.auth.forms import ActionForm
from webapp.context import runtime

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Show the signed-in user's name, roles (Chinese names) and department."""
    department = None
    if current_user.department:
        with runtime().read() as db:
            unit = db.get(Department, current_user.department)
            department = unit.name if unit is not None else current_user.department
    roles = [ROLES[code].name_zh for code in sorted(current_user.roles) if code in ROLES]
    return render_template("home/index.html", roles=roles, department=department, form=ActionForm())
