"""Read models of the user administration pages: the filtered, paged user list and one user's details."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts import totp
from processes.accounts.models import AppUser
from processes.accounts.models import LoginAttempt
from processes.accounts.models import UserRole
from processes.accounts.roles import ROLES
from webapp import timefmt
from webapp.messages import N_
from webapp.params import positive_int

PAGE_SIZE = 50
STATES = {  # filter value -> Chinese label (translated in the template)
    "active": N_("正常使用"),
    "disabled": N_("已停用"),
    "locked": N_("已锁定"),
    "must_change": N_("须改密码"),
    "totp": N_("已绑定动态口令"),
    "no_totp": N_("未绑定动态口令"),
}


@dataclass
class UserFilter:
    """The list's filters as given in the query string; `errors` names each bad field."""

    role: str = ""
    unit: str = ""
    state: str = ""
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    def args(self, **change: Any) -> dict[str, Any]:
        """Return the filters as query arguments (for links), with some changed."""
        values = {"role": self.role, "unit": self.unit, "state": self.state, "page": self.page, **change}
        return {k: v for k, v in values.items() if v not in ("", None, 1)}


@dataclass(frozen=True)
class UserRow:
    """One user as the list and the detail page show it."""

    id: str
    username: str
    real_name: str
    unit: str
    roles: list[str]  # role codes, sorted
    states: list[str]  # STATES keys that apply
    last_login: str


def parse_filter(args: Mapping[str, str], units: Mapping[str, str]) -> UserFilter:
    """Read the list's filters; unknown values become field errors (answered with 400)."""
    found = UserFilter(role=args.get("role", "").strip(), unit=args.get("unit", "").strip(),
                       state=args.get("state", "").strip())
    if found.role and found.role not in ROLES:
        found.errors["role"] = N_("未知角色。")
    if found.unit and found.unit not in units:
        found.errors["unit"] = N_("未知单位。")
    if found.state and found.state not in STATES:
        found.errors["state"] = N_("未知状态。")
    page = positive_int(args.get("page", "1").strip(), 100_000)
    if page is None:
        found.errors["page"] = N_("页码无效。")
    else:
        found.page = page
    return found


def _state_clause(state: str, now: datetime) -> sa.ColumnElement[bool]:
    locked = sa.and_(AppUser.locked_until.is_not(None), AppUser.locked_until > now)
    return {
        "active": sa.and_(AppUser.active.is_(True), sa.not_(locked)),
        "disabled": AppUser.active.is_(False),
        "locked": locked,
        "must_change": AppUser.must_change_password.is_(True),
        "totp": AppUser.totp_confirmed_at.is_not(None),
        "no_totp": AppUser.totp_confirmed_at.is_(None),
    }[state]


def user_page(db: Session, flt: UserFilter, now: datetime, unit_names: Mapping[str, str]) -> tuple[list[UserRow], int]:
    """Return the users of the filter's page, by username, and how many match in all."""
    query = sa.select(AppUser)
    if flt.role:
        query = query.where(AppUser.id.in_(sa.select(UserRole.user_id).where(UserRole.role == flt.role)))
    if flt.unit:
        query = query.where(AppUser.department == flt.unit)
    if flt.state:
        query = query.where(_state_clause(flt.state, now))
    total = int(db.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)
    users = list(db.scalars(query.order_by(AppUser.username_key).limit(PAGE_SIZE)
                            .offset((flt.page - 1) * PAGE_SIZE)))
    return rows_of(db, users, now, unit_names), total


def rows_of(db: Session, users: list[AppUser], now: datetime, unit_names: Mapping[str, str]) -> list[UserRow]:
    """Return list rows of users: roles and last successful login fetched in one query each."""
    ids = [u.id for u in users]
    held: dict[str, list[str]] = {}
    for user_id, code in db.execute(sa.select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(ids))
                                    .order_by(UserRole.role)):
        held.setdefault(user_id, []).append(code)
    last: dict[str | None, datetime | None] = {
        uid: at for uid, at in db.execute(sa.select(LoginAttempt.user_id, sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.user_id.in_(ids), LoginAttempt.success.is_(True)).group_by(LoginAttempt.user_id))}
    return [UserRow(u.id, u.username, u.real_name, unit_names.get(u.department or "", u.department or ""),
                    held.get(u.id, []), states_of(u, now), local_time(last.get(u.id))) for u in users]


def states_of(user: AppUser, now: datetime) -> list[str]:
    """Return the state keys of an account (active or disabled first)."""
    locked = user.locked_until is not None and user.locked_until > now
    states = ["active"] if user.active and not locked else []
    if not user.active:
        states.append("disabled")
    if locked:
        states.append("locked")
    if user.must_change_password:
        states.append("must_change")
    states.append("totp" if totp.enrolled(user) else "no_totp")
    return states


def local_time(value: datetime | None) -> str:
    """Return a UTC time as Beijing time to the second, or a dash."""
    return timefmt.local_time(value, "%Y-%m-%d %H:%M:%S") or "—"


def find_user(db: Session, user_id: str, *, lock: bool = False) -> AppUser | None:
    """Return the account with this id (a UUID; anything else is unknown), locked for update when asked."""
    try:
        uuid.UUID(user_id)
    except ValueError:
        return None
    query = sa.select(AppUser).where(AppUser.id == user_id)
    return db.scalar(query.with_for_update() if lock else query)


def recent_logins(db: Session, user: AppUser, limit: int = 10) -> list[dict[str, str]]:
    """Return the user's latest login attempts (time, address, success) for the detail page."""
    rows = db.scalars(sa.select(LoginAttempt).where(LoginAttempt.user_id == user.id)
                      .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc()).limit(limit))
    return [{"at": local_time(a.at), "ip": a.source_ip or "-", "ok": "1" if a.success else ""} for a in rows]
