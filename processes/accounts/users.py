"""Accounts (账号): create users, set passwords, log in with lockout, disable, roles under 三员分立.

Pure logic on a caller's `Session`: the caller owns the transaction and commits it, failed logins included (their
counters and `login_attempt` rows must persist). The web layer keeps `session_epoch` in the session and drops any
session whose epoch is older than the user's.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts import lookalike
from processes.accounts import passwords
from processes.accounts.models import AppUser
from processes.accounts.models import LoginAttempt
from processes.accounts.models import PasswordHistory
from processes.accounts.models import UserRole
from processes.accounts.passwords import AccountPolicy
from processes.accounts.roles import RoleConflict
from processes.accounts.roles import check_combination
from processes.accounts.roles import role
from processes.cases.numbers import has_number
from processes.errors import RuntimeErrorBase
from processes.reference.models import Department

# The one message a failed login shows, whatever the reason, so it never tells whether the account exists.
LOGIN_FAILED = "Wrong username or password, or the account is locked. Try again later or ask the security admin."
_USERNAME = re.compile(r"[\w.@-]{2,64}")


class AccountError(RuntimeErrorBase):
    """An account operation was refused: duplicate or invalid username, unknown user or department."""


class UsernameRefused(AccountError):
    """A new username mixes scripts or looks like an existing one (形近, `0p1` beside `op1`)."""


class PasswordRejected(AccountError):
    """A new password breaks the policy; `problems` lists every reason, for the user."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a login: `reason` is for the audit trail, `message` the only thing the user is told."""

    ok: bool
    reason: str  # ok / password_expired / must_change / unknown_user / bad_password / locked_out / locked / disabled
    user_id: str | None = None
    username: str | None = None
    roles: frozenset[str] = frozenset()
    session_epoch: int | None = None
    must_change_password: bool = False

    @property
    def message(self) -> str:
        """Return what the user sees: nothing on success, one generic sentence on any failure."""
        return "" if self.ok else LOGIN_FAILED


def username_key(username: str) -> str:
    """Return the comparison key of a username: NFKC + casefold, so case and full-width forms collide."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold()).strip()


def _check_username(username: str) -> str:
    """Return the username in NFKC, or refuse one that is malformed or looks like personal data."""
    name = unicodedata.normalize("NFKC", username).strip()
    if not _USERNAME.fullmatch(name):
        raise AccountError("username: 2-64 letters, digits or . _ @ -")
    # Usernames appear in audit rows and login records, which must not hold phone or ID numbers.
    if has_number(name):
        raise AccountError("username must not be a phone or ID number")
    if lookalike.mixed_script(name):  # `op1` spelt with a Cyrillic o (U+043E) reads as `op1`
        raise UsernameRefused(f"username mixes scripts ({', '.join(sorted(lookalike.scripts(name)))}): use one")
    return name


def find_user(session: Session, username: str) -> AppUser | None:
    """Return the user with this username (case- and width-insensitive), or None."""
    return session.scalar(sa.select(AppUser).where(AppUser.username_key == username_key(username)))


def get_user(session: Session, username: str) -> AppUser:
    """Return the user with this username, or raise AccountError."""
    user = find_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def roles_of(session: Session, user: AppUser) -> frozenset[str]:
    """Return the role codes a user holds."""
    return frozenset(session.scalars(sa.select(UserRole.role).where(UserRole.user_id == user.id)))


def _check_units(session: Session, codes: Iterable[str], department: str | None) -> None:
    """Refuse roles whose holder needs a unit (承办人: any unit; 街道上报员: a township) the user lacks."""
    unit = session.get(Department, department) if department else None
    if department and unit is None:
        raise AccountError(f"unknown department {department!r}")
    for code in codes:
        need = role(code).unit
        if need and unit is None:
            raise RoleConflict(f"{code} needs a department or township (--department)")
        if need == "township" and unit is not None and unit.kind != "township":
            raise RoleConflict(f"{code} needs a township (乡镇街道), not {department!r} ({unit.kind})")


def create_user(session: Session, *, username: str, password: str, roles: Iterable[str], policy: AccountPolicy,
                now: datetime, actor: str, real_name: str = "", department: str | None = None,
                must_change_password: bool = True) -> AppUser:
    """Create an account with its roles; new accounts change their password at first login unless told otherwise."""
    name = _check_username(username)
    codes = check_combination(roles)
    if find_user(session, name) is not None:
        raise AccountError(f"username {name!r} is taken (names differing only in case or width are the same)")
    if (other := lookalike.taken_by(session, username_key(name))) is not None:
        raise UsernameRefused(f"username {name!r} looks like the existing {other!r}; choose another")
    _check_units(session, codes, department)
    problems = passwords.check(policy, password, username=name)
    if problems:
        raise PasswordRejected(problems)
    user = AppUser(username=name, username_key=username_key(name), real_name=real_name.strip(),
                   department=department, active=True, password_hash=passwords.hash_password(policy, password),
                   password_changed_at=now, must_change_password=must_change_password, failed_count=0,
                   session_epoch=0, created_at=now, created_by=actor)
    session.add(user)
    session.flush()
    session.add_all(UserRole(user_id=user.id, role=code) for code in sorted(codes))
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, created_at=now))
    return user


def _history(session: Session, user: AppUser, limit: int) -> list[PasswordHistory]:
    """Return a user's newest password history rows, newest first."""
    return list(session.scalars(sa.select(PasswordHistory).where(PasswordHistory.user_id == user.id)
                                .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
                                .limit(limit)))


def set_password(session: Session, user: AppUser, password: str, *, policy: AccountPolicy, now: datetime,
                 must_change_password: bool = False) -> None:
    """Set a new password (policy and last-N history checked) and end every session of the user."""
    recent = _history(session, user, policy.history)
    problems = passwords.check(policy, password, username=user.username)
    if not problems and passwords.reused(policy, password, [h.password_hash for h in recent]):
        problems.append(f"must differ from the last {policy.history} passwords")
    if problems:
        raise PasswordRejected(problems)
    user.password_hash = passwords.hash_password(policy, password)
    user.password_changed_at, user.must_change_password = now, must_change_password
    user.session_epoch += 1
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, created_at=now))
    session.flush()
    keep = [h.id for h in _history(session, user, policy.history)]
    session.execute(sa.delete(PasswordHistory).where(PasswordHistory.user_id == user.id,
                                                     PasswordHistory.id.not_in(keep)))


def change_password(session: Session, user: AppUser, old: str, new: str, *, policy: AccountPolicy,
                    now: datetime) -> None:
    """Change one's own password: the current one must be given (also for the forced change at first login)."""
    if not passwords.verify(policy, user.password_hash, old):
        raise AccountError("the current password is wrong")
    set_password(session, user, new, policy=policy, now=now)


def _attempt(session: Session, now: datetime, key: str, user: AppUser | None, ip: str | None, ok: bool,
             reason: str) -> None:
    """Record one login attempt; an unknown name is kept as a digest, as it may be a mistyped password."""
    stored = key[:64] if user is not None else "#" + hashlib.sha256(key.encode()).hexdigest()[:40]
    session.add(LoginAttempt(at=now, username_key=stored, user_id=user.id if user else None,
                             source_ip=ip, success=ok, reason=reason))


def authenticate(session: Session, username: str, password: str, *, now: datetime, source_ip: str | None,
                 policy: AccountPolicy) -> AuthResult:
    """Check a login (AUTH-04): lock after N failures in the window, refuse even the right password while locked.

    Every path costs one argon2 verification (a dummy one for unknown users), so timing does not reveal whether
    an account exists; every attempt is written to `login_attempt`. The caller commits, whatever the result.
    """
    passwords.prepare(policy)
    key = username_key(username)
    user = session.scalar(sa.select(AppUser).where(AppUser.username_key == key).with_for_update())
    if user is None or len(password) > passwords.MAX_LENGTH:
        if len(password) <= passwords.MAX_LENGTH:
            passwords.verify_dummy(policy, password)
        reason = "unknown_user" if user is None else "bad_password"
        _attempt(session, now, key, user, source_ip, False, reason)
        return AuthResult(False, reason)
    matches = passwords.verify(policy, user.password_hash, password)
    if user.locked_until is not None and now >= user.locked_until:
        user.locked_until, user.failed_count, user.first_failed_at = None, 0, None  # the lock ran out
    if not user.active or user.locked_until is not None:
        reason = "disabled" if not user.active else "locked"  # no counting: a lock is not extended by guessing
        _attempt(session, now, key, user, source_ip, False, reason)
        return AuthResult(False, reason, user_id=user.id)
    if not matches:
        if user.first_failed_at is None or now - user.first_failed_at > policy.failure_window:
            user.first_failed_at, user.failed_count = now, 0
        user.failed_count += 1
        reason = "bad_password"
        if user.failed_count >= policy.max_failures:
            user.locked_until, user.failed_count, user.first_failed_at = now + policy.lockout, 0, None
            reason = "locked_out"
        _attempt(session, now, key, user, source_ip, False, reason)
        return AuthResult(False, reason, user_id=user.id)
    user.failed_count, user.first_failed_at = 0, None
    if passwords.needs_rehash(policy, user.password_hash):  # the configured cost changed: upgrade the hash
        user.password_hash = passwords.hash_password(policy, password)
    if passwords.expired(policy, user.password_changed_at, now):
        user.must_change_password = True
    reason = ("password_expired" if passwords.expired(policy, user.password_changed_at, now)
              else "must_change" if user.must_change_password else "ok")
    _attempt(session, now, key, user, source_ip, True, reason)
    return AuthResult(True, reason, user_id=user.id, username=user.username, roles=roles_of(session, user),
                      session_epoch=user.session_epoch, must_change_password=user.must_change_password)


def disable_user(session: Session, user: AppUser) -> None:
    """Disable an account and end its sessions at once (the epoch moves on)."""
    user.active = False
    user.session_epoch += 1


def enable_user(session: Session, user: AppUser) -> None:
    """Enable a disabled account again."""
    user.active = True


def unlock_user(session: Session, user: AppUser) -> None:
    """Lift a lockout and forget the failures counted so far (passwords and second-factor codes)."""
    user.locked_until, user.failed_count, user.first_failed_at = None, 0, None
    user.totp_failed_count, user.totp_first_failed_at = 0, None


def end_sessions(session: Session, user: AppUser) -> None:
    """End every session of the user (logout everywhere)."""
    user.session_epoch += 1


def change_roles(session: Session, user: AppUser, *, add: Iterable[str] = (), remove: Iterable[str] = ()) -> \
        frozenset[str]:
    """Add and remove roles at once, checking the resulting set (三员分立, units); return the new set."""
    held = roles_of(session, user)
    adding, removing = frozenset(add), frozenset(remove)
    for code in adding | removing:
        role(code)
    result = check_combination((held | adding) - removing)
    _check_units(session, result - held, user.department)
    session.add_all(UserRole(user_id=user.id, role=code) for code in sorted(result - held))
    gone = held - result
    if gone:
        session.execute(sa.delete(UserRole).where(UserRole.user_id == user.id, UserRole.role.in_(gone)))
        user.session_epoch += 1  # a removed right must not live on in an open session
    session.flush()
    return result


def add_role(session: Session, user: AppUser, code: str) -> frozenset[str]:
    """Give a user one more role (三员分立 enforced)."""
    return change_roles(session, user, add=[code])


def remove_role(session: Session, user: AppUser, code: str) -> frozenset[str]:
    """Take a role from a user; the last role cannot be removed."""
    return change_roles(session, user, remove=[code])


def list_users(session: Session) -> list[tuple[AppUser, frozenset[str]]]:
    """Return every user with their roles, by username."""
    users = list(session.scalars(sa.select(AppUser).order_by(AppUser.username_key)))
    held: dict[str, set[str]] = {}
    for user_id, code in session.execute(sa.select(UserRole.user_id, UserRole.role)):
        held.setdefault(user_id, set()).add(code)
    return [(u, frozenset(held.get(u.id, ()))) for u in users]


def login_history(session: Session, user: AppUser, limit: int = 20) -> list[LoginAttempt]:
    """Return the user's latest login attempts, newest first (shown to the user, 登录记录)."""
    return list(session.scalars(sa.select(LoginAttempt).where(LoginAttempt.user_id == user.id)
                                .order_by(LoginAttempt.at.desc(), LoginAttempt.id.desc()).limit(limit)))
