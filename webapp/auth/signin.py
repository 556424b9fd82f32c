"""Steps of a login shared by the password and second-factor views: rate limit, audit, pending state, finish."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask import session
from flask import url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from processes.accounts import sessions
from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.audit import record as audit
from webapp.auth.guard import TOUCH_SECONDS
from webapp.auth.guard import idle_limit_seconds
from webapp.context import audit_context
from webapp.context import now
from webapp.context import request_id
from webapp.context import source_ip
from webapp.context import wall_now

PENDING = "pending_login"  # session key of a login waiting for its second factor


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site, else the home page (no open redirects)."""
    home = url_for("home.index")
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return home
    if any(ord(c) < 32 or c == "\\" for c in target):
        return home
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else home


def rate_limited(db: Session) -> bool:
    """Return whether this source IP failed too many logins in the window (counted in the database, so the
    limit holds across every app node behind the load balancer)."""
    ip = source_ip()
    if ip is None:
        return False
    window = timedelta(minutes=float(current_app.config["LOGIN_RATE_WINDOW_MINUTES"]))
    return sessions.recent_failures(db, ip, since=now() - window) >= int(current_app.config["LOGIN_RATE_LIMIT"])


def name_digest(username: str) -> str:
    """Return the digest an unknown username is recorded under (it may be a password typed in the wrong box)."""
    return hashlib.sha256(accounts.username_key(username).encode()).hexdigest()[:40]


def record_login(db: Session, *, action: str, result: str, reason: str, user: AppUser | None, username: str,
                 session_hash: str | None = None, **detail: Any) -> None:
    """Write the audit row of a login step in the caller's transaction; never the password or the code."""
    if user is not None:
        actor, object_id = user.username, user.id
        role = ",".join(sorted(accounts.roles_of(db, user))) or None
    else:
        actor, object_id, role = "anonymous", name_digest(username), None
    audit.record(db, action=action, actor=actor, role=role, result=result, at=now(), object_type="app_user",
                 object_id=object_id, detail={"reason": reason, **detail}, **audit_context(session_hash))


def outcome(reason: str) -> str:
    """Return the audit result of a login reason: refusals by policy are 'denied', wrong secrets 'failure'."""
    if reason in ("ok", "must_change", "password_expired"):
        return "success"
    return "denied" if reason in ("locked", "locked_out", "disabled", "rate_limited", "stale") else "failure"


def open_login(db: Session, user: AppUser) -> str:
    """Open the server-side session of a completed login in the caller's transaction; return its token.

    A login past MAX_CONCURRENT_SESSIONS open sessions raises an alert (audit row and a notice to the security
    administrators, S3.5); the user is told nothing more than for any login.
    """
    token = sessions.new_token()
    key = sessions.open_session(db, user, token, now=now(), source_ip=source_ip())
    limit = int(current_app.config["MAX_CONCURRENT_SESSIONS"])
    if limit <= 0:
        return token
    roles = accounts.roles_of(db, user)
    since = now() - timedelta(hours=float(current_app.config["SESSION_ABSOLUTE_HOURS"]))
    # Only live sessions count: a browser closed without logout is idle, not a second person (rows note their
    # last use at most every TOUCH_SECONDS, hence the allowance).
    active_since = now() - timedelta(seconds=idle_limit_seconds(roles) + TOUCH_SECONDS)
    count = sessions.open_count(db, user, since=since, active_since=active_since)
    if count > limit:
        sessions.alert_concurrent(db, user, count=count, limit=limit, now=now(), session_hash=key,
                                  role=",".join(sorted(roles)) or None, source_ip=source_ip(),
                                  request_id=request_id())
    return token


def hold_pending(user: AppUser, target: str) -> None:
    """Remember, in a fresh cookie session, a login whose password was right and whose code is still due."""
    session.clear()
    session[PENDING] = {"uid": user.id, "epoch": user.session_epoch, "at": wall_now().timestamp(), "next": target}


def pending() -> dict[str, Any] | None:
    """Return the login waiting for its second factor, None when there is none or it ran out."""
    held = session.get(PENDING)
    if not isinstance(held, dict):
        return None
    limit = float(current_app.config["TOTP_PENDING_MINUTES"]) * 60
    if wall_now().timestamp() - float(held.get("at", 0)) > limit:
        session.pop(PENDING, None)
        return None
    return held


def record_user(db: Session, *, action: str, result: str = "success", **detail: Any) -> None:
    """Write the audit row of something the signed-in user did, in the caller's transaction."""
    audit.record(db, action=action, actor=current_user.username, role=current_user.role_label or None,
                 result=result, at=now(), object_type="app_user", object_id=current_user.id,
                 detail=detail or None, **audit_context(current_user.session_hash))
