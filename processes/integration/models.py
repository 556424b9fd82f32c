"""Tables of integration accounts (接口账户): one row per API key, its scopes and its rate-limit window."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.db.base import Base
from processes.db.base import new_id


class ApiKey(Base):
    """One integration key (接口密钥): found by its public prefix, checked by the SHA-256 of its secret.

    The secret itself is never stored; it is shown once when the key is made. `window_start` and `window_calls`
    count this minute's calls in the database, so the limit holds across every app node (like the login limit).
    """

    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)  # public part of the key, for lookup
    name: Mapped[str] = mapped_column(sa.String(48), unique=True)  # the integrator; audit actor is api:<name>
    secret_hash: Mapped[str] = mapped_column(sa.String(64))  # sha256 hex of the secret part
    scopes: Mapped[list[Any]]
    department: Mapped[str | None] = mapped_column(sa.String(64))  # a unit's key sees what its handlers see
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(64))
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    window_start: Mapped[datetime | None]
    window_calls: Mapped[int] = mapped_column(default=0)


class ApiIdempotency(Base):
    """One create answered under a caller's `Idempotency-Key` (幂等键): a repeat gets the same case, not another.

    Written in the registration's own transaction, so a case and its key commit together; the unique key makes
    the second of two simultaneous requests lose (409) instead of registering twice.
    """

    __tablename__ = "api_idempotency"
    __table_args__ = (sa.UniqueConstraint("api_key_id", "idempotency_key",
                                          name="uq_api_idempotency_api_key_id_idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    api_key_id: Mapped[str] = mapped_column(sa.ForeignKey("api_key.id"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(200))
    request_hash: Mapped[str] = mapped_column(sa.String(64))  # sha256 of the body: the same key, another body → 422
    case_id: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[datetime]
