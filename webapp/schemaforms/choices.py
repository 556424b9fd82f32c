"""Choices of `x-options` form fields from the reference tables (参考数据).

`departments`: active handling units and townships (承办单位); `townships`: the townships (乡镇街道);
`categories`: the categories of the dispatch catalogue (派单目录); `users`: active accounts holding the role that
will work on the chosen task (for 内部办件分派, the operators).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts.models import AppUser
from processes.accounts.models import UserRole
from processes.cases.models import Case
from processes.reference.models import Department
from processes.reference.models import DispatchRule
from webapp.schemaforms.fields import Lookup
from webapp.schemaforms.fields import Option

# Which role the people offered by an `x-options: users` field must hold, by field name (default: operator).
USER_ROLES = {"internal_assignee": "operator"}
UNIT_KINDS = ("department", "township")


def departments(db: Session) -> list[Option]:
    """Return the active units a case can be dispatched to, departments first."""
    rows = db.execute(sa.select(Department.code, Department.name).where(
        Department.active.is_(True), Department.kind.in_(UNIT_KINDS)).order_by(Department.kind, Department.code))
    return [Option(code, name) for code, name in rows]


def townships(db: Session) -> list[Option]:
    """Return the active townships (乡镇街道)."""
    rows = db.execute(sa.select(Department.code, Department.name).where(
        Department.active.is_(True), Department.kind == "township").order_by(Department.code))
    return [Option(code, name) for code, name in rows]


def categories(db: Session, current: str | None = None) -> list[Option]:
    """Return the categories of the dispatch catalogue (and the case's own, if it is not listed)."""
    names = list(db.scalars(sa.select(DispatchRule.category).distinct().order_by(DispatchRule.category)))
    if current and current not in names:
        names.insert(0, current)
    return [Option(name, name) for name in names]


def users(db: Session, role: str) -> list[Option]:
    """Return the active accounts holding a role, by real name."""
    rows = db.execute(sa.select(AppUser.username, AppUser.real_name).join(UserRole, UserRole.user_id == AppUser.id)
                      .where(UserRole.role == role, AppUser.active.is_(True)).order_by(AppUser.username))
    return [Option(username, f"{real_name} ({username})" if real_name else username) for username, real_name in rows]


def lookup(db: Session, case: Case | None) -> Lookup:
    """Return the function that gives the choices of an `x-options` source for a field (memoised per source)."""
    cache: dict[str, list[Option]] = {}

    def choices(source: str, field_name: str) -> list[Option]:
        key = f"users:{USER_ROLES.get(field_name, 'operator')}" if source == "users" else source
        if key not in cache:
            if key == "departments":
                cache[key] = departments(db)
            elif key == "townships":
                cache[key] = townships(db)
            elif key == "categories":
                cache[key] = categories(db, case.category if case else None)
            elif key.startswith("users:"):
                cache[key] = users(db, key.partition(":")[2])
            else:
                cache[key] = []
        return cache[key]

    return choices


def pairs(db: Session, source: str) -> list[tuple[str, str]]:
    """Return (code, name) pairs of a reference list by its `x-options` name (for lists outside a form)."""
    return [(o.value, o.label) for o in lookup(db, None)(source, "")]
