"""Web sessions (会话) kept on the server: a row per login that logout ends, checked on every request (AUTH-05).

The browser holds a random token in its signed session cookie; the database holds only the token's SHA-256, which
is also the `session_hash` of audit rows. A session is alive while its row is open, the account is active and the
epoch it was opened under is still the account's `session_epoch` (disabling, a password change and "end all
sessions" move it). Idle and absolute timeouts are enforced by the web layer from times in the signed cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.models import LoginAttempt
from processes.accounts.models import UserSession
from processes.audit import record as audit
from processes.runtime import outbox
from processes.runtime.outbox_payloads import security_alert


@dataclass(frozen=True)
class LiveSession:
    """The account behind a live session, as the web layer needs it on each request."""

    user: AppUser
    roles: frozenset[str]


def new_token() -> str:
    """Return a fresh random session token (kept only in the browser's signed cookie)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Return the SHA-256 (hex) of a session token: the row id and the audit `session_hash`."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: AppUser, token: str, *, now: datetime, source_ip: str | None) -> str:
    """Record a new session of the user and return its hash; the caller commits with the login's audit row."""
    key = token_hash(token)
    session.add(UserSession(id=key, user_id=user.id, created_at=now, source_ip=source_ip))
    return key


def end_session(session: Session, token: str, *, now: datetime, reason: str) -> bool:
    """End one session (logout); return whether it was still open."""
    done = session.execute(sa.update(UserSession).where(UserSession.id == token_hash(token),
                                                        UserSession.ended_at.is_(None))
                           .values(ended_at=now, end_reason=reason))
    return bool(getattr(done, "rowcount", 0))


def end_all(session: Session, user: AppUser, *, now: datetime, reason: str) -> None:
    """End every session of the user: move the epoch (voids them all) and close their rows."""
    accounts.end_sessions(session, user)
    session.execute(sa.update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                    .values(ended_at=now, end_reason=reason))


def live(session: Session, token: str, user_id: str, epoch: int) -> LiveSession | None:
    """Return the account of a session that is still alive, else None (ended, other epoch, disabled, unknown)."""
    row = session.execute(sa.select(AppUser).join(UserSession, UserSession.user_id == AppUser.id)
                          .where(UserSession.id == token_hash(token), UserSession.user_id == user_id,
                                 UserSession.ended_at.is_(None))).scalar_one_or_none()
    if row is None or not row.active or row.session_epoch != epoch:
        return None
    return LiveSession(row, accounts.roles_of(session, row))


def recent_failures(session: Session, source_ip: str, *, since: datetime) -> int:
    """Count failed login attempts from one address since a time (the per-IP limit, AUTH-04; indexed)."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(
        LoginAttempt.source_ip == source_ip, LoginAttempt.at >= since, LoginAttempt.success.is_(False))) or 0)


def record_attempt(session: Session, user: AppUser, *, now: datetime, source_ip: str | None, ok: bool,
                   reason: str) -> None:
    """Record a login step after the password (the second factor) in the user's login history."""
    session.add(LoginAttempt(at=now, username_key=user.username_key, user_id=user.id, source_ip=source_ip,
                             success=ok, reason=reason[:32]))


def open_count(session: Session, user: AppUser, *, since: datetime, active_since: datetime) -> int:
    """Count the user's live sessions: open, opened since `since` (absolute timeout) and used since `active_since`.

    A browser closed without logout leaves its row open; it stops counting once it has been idle for the timeout.
    """
    return int(session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None), UserSession.created_at >= since,
        sa.func.coalesce(UserSession.last_seen_at, UserSession.created_at) >= active_since)) or 0)


def touch(session: Session, token: str, *, now: datetime) -> None:
    """Record that a session was used (the web layer calls it at most once a minute per session)."""
    session.execute(sa.update(UserSession).where(UserSession.id == token_hash(token), UserSession.ended_at.is_(None))
                    .values(last_seen_at=now))


def alert_concurrent(session: Session, user: AppUser, *, count: int, limit: int, now: datetime, role: str | None,
                     session_hash: str, source_ip: str | None, request_id: str | None) -> None:
    """Record a login that opened more than `limit` concurrent sessions (S3.5): an audit alert and a notice to the
    security administrators in the outbox, both in the login's transaction. The login itself goes ahead."""
    detail = {"open_sessions": count, "limit": limit}
    audit.record(session, action="session.concurrent_alert", actor=user.username, role=role, result="alert",
                 at=now, object_type="app_user", object_id=user.id, source_ip=source_ip,
                 session_hash=session_hash, request_id=request_id, detail=detail)
    kind = "security.concurrent_sessions"
    outbox.enqueue(session, channel="internal", kind=kind, now=now, key=f"concurrent-sessions:{session_hash}",
                   payload=security_alert(kind, to_role="secadmin", user_id=user.id, detail=detail, now=now))


def purge_ended(session: Session, *, now: datetime, retention: timedelta, absolute: timedelta) -> int:
    """Delete session rows ended, or past the absolute timeout, longer than `retention` ago (PII-05); return how
    many. Their hashes stay in audit rows, which are kept and purged on their own schedule."""
    cutoff = now - retention
    done = session.execute(sa.delete(UserSession).where(sa.or_(
        UserSession.ended_at < cutoff,
        sa.and_(UserSession.ended_at.is_(None), UserSession.created_at < cutoff - absolute))))
    return int(getattr(done, "rowcount", 0) or 0)
