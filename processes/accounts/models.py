"""Tables of accounts (账号): users, their roles, password history and login attempts (登录记录).

Loaded with every other table by `processes.db.schema`; `processes.accounts.users` reads and writes them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.db.base import Base
from processes.db.base import new_id
from processes.reference import models as _reference_tables  # noqa: F401  (users refer to department)

# 64-bit ids on PostgreSQL (one row per login attempt adds up); SQLite autoincrements only a plain INTEGER key.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class AppUser(Base):
    """One person's account (用户): real name, unit, password state, lockout and session epoch."""

    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(sa.String(64))  # as shown (NFKC)
    # NFKC + casefold of the username, unique: 'ZhangWei' and its full-width form are one account.
    username_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    real_name: Mapped[str] = mapped_column(sa.String(100), default="")
    department: Mapped[str | None] = mapped_column(sa.ForeignKey("department.code"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))  # argon2id PHC string, never the password
    password_changed_at: Mapped[datetime]
    must_change_password: Mapped[bool] = mapped_column(default=True)
    failed_count: Mapped[int] = mapped_column(default=0)  # failures in the window that began at first_failed_at
    first_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    # Bumped by logout-all, disabling, password and role removal; a session holding an older value is void.
    session_epoch: Mapped[int] = mapped_column(default=0)
    # Second factor (TOTP, 动态口令): the secret encrypted with the personal-data key (field name "totp"); it is in
    # use once confirmed. The last accepted time step stops a code being used twice; failures lock like passwords.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(255))
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    totp_failed_count: Mapped[int] = mapped_column(default=0, server_default="0")
    totp_first_failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(64))


class UserRole(Base):
    """A role (角色) one user holds; codes come from `processes.accounts.roles`."""

    __tablename__ = "user_role"

    user_id: Mapped[str] = mapped_column(sa.ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class PasswordHistory(Base):
    """A password hash a user had (密码历史), kept so the last few cannot be reused."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("app_user.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime]


class LoginAttempt(Base):
    """One login attempt (登录尝试), successful or not, with the internal reason the user is never told."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_user_id_at", "user_id", "at"),
        sa.Index("ix_login_attempt_username_key_at", "username_key", "at"),
        sa.Index("ix_login_attempt_source_ip_at", "source_ip", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    # The account's key; for an unknown name a digest of it, because people type passwords into the name field.
    username_key: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("app_user.id"))
    source_ip: Mapped[str | None] = mapped_column(sa.String(45))
    success: Mapped[bool]
    reason: Mapped[str] = mapped_column(sa.String(32))


class UserSession(Base):
    """One web session (会话) opened by a login: the server-side record that logout ends, so an old cookie is void.

    The id is the SHA-256 of the random token kept in the signed session cookie (the token itself is never stored);
    the same hash is the `session_hash` of audit rows. Disabling, a password change and "end all sessions" also
    move the user's `session_epoch`, which voids every session at once.
    """

    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("app_user.id"))
    created_at: Mapped[datetime]
    source_ip: Mapped[str | None] = mapped_column(sa.String(45))
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.String(32))  # logout / end_all / password_change
    # Last request that counted as activity (written at most once a minute): idle sessions stop counting as live.
    last_seen_at: Mapped[datetime | None]
