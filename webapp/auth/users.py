"""The signed-in user of a request (Flask-Login) and the session's life: start, revoke check, end.

The signed cookie holds the user id with the account's session epoch (`get_id` = "id:epoch", the Flask-Login
docs' alternative token), a random session token and the login and last-activity times. On every request the
loader accepts the session only if its server-side row is open and the epoch is still the account's, so logout,
"end all sessions", disabling and a password change revoke it on the server (AUTH-05).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import session
from flask_login import login_user
from flask_login import logout_user

from processes.accounts import sessions
from processes.accounts import totp
from processes.accounts.models import AppUser
from webapp.context import runtime
from webapp.extensions import login_manager
from webapp.params import whole_number

SID = "sid"  # keys of our values in the signed session cookie: the session token, login and activity times
LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
TOUCHED_AT = "touched_at"  # when the session row last had its last use written (guard.TOUCH_SECONDS)


@dataclass(frozen=True)
class SessionUser:
    """The account behind the current session, loaded once per request."""

    id: str
    epoch: int
    username: str
    real_name: str
    department: str | None
    roles: frozenset[str]
    must_change_password: bool
    password_changed_at: datetime
    totp_enrolled: bool
    session_hash: str

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session: user id and session epoch."""
        return f"{self.id}:{self.epoch}"

    @property
    def display_name(self) -> str:
        """Return the real name, or the username when none is recorded."""
        return self.real_name or self.username

    @property
    def role_label(self) -> str:
        """Return the role codes joined, as audit rows record them."""
        return ",".join(sorted(self.roles))


def _from_account(user: AppUser, roles: frozenset[str], session_hash: str) -> SessionUser:
    return SessionUser(id=user.id, epoch=user.session_epoch, username=user.username, real_name=user.real_name,
                       department=user.department, roles=roles, must_change_password=user.must_change_password,
                       password_changed_at=user.password_changed_at, totp_enrolled=totp.enrolled(user),
                       session_hash=session_hash)


def load_user(user_key: str) -> SessionUser | None:
    """Return the user of a live session; None (anonymous) when revoked, ended, disabled or malformed."""
    user_id, _, epoch = user_key.partition(":")
    token = session.get(SID)
    number = whole_number(epoch)
    if not isinstance(token, str) or number is None:
        return None
    with runtime().read() as db:
        found = sessions.live(db, token, user_id, number)
        return None if found is None else _from_account(found.user, found.roles, sessions.token_hash(token))


login_manager.user_loader(load_user)


def establish(token: str, user: AppUser, roles: frozenset[str], at: datetime) -> None:
    """Start a fresh cookie session for a committed login: nothing of the session before it survives.

    `at` is real time (`context.wall_now`): idle and absolute timeouts measure a person's time, so moving the
    demo clock signs nobody out.
    """
    session.clear()  # a new session: no fixation, no pending login state, a new CSRF token
    session[SID] = token
    session[LOGIN_AT] = session[SEEN_AT] = session[TOUCHED_AT] = at.timestamp()
    login_user(_from_account(user, roles, sessions.token_hash(token)))


def end_cookie_session() -> None:
    """Forget the signed-in user and everything else this browser's session held."""
    logout_user()
    session.clear()


def current_token() -> str | None:
    """Return this browser's session token, if it has one."""
    token = session.get(SID)
    return token if isinstance(token, str) else None
