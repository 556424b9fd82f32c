"""Tables of the exchange with other systems: import jobs, received upstream orders, webhook subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.db.base import Base
from processes.db.base import new_id


class PlatformImport(Base):
    """One uploaded order file (上级工单导入), imported row by row in the background with a per-row report.

    Claimed by a scheduler with a lease like the case-list exports (`processes.reports.exports`). The upload is
    kept sealed (encrypted: it holds requesters' names and phones) only until the import ends.
    """

    __tablename__ = "platform_import"
    __table_args__ = (sa.Index("ix_platform_import_status_lease_until", "status", "lease_until"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    requested_by: Mapped[str] = mapped_column(sa.String(64), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(200))
    file_format: Mapped[str] = mapped_column(sa.String(8))  # json / xlsx / csv
    encoding: Mapped[str] = mapped_column(sa.String(32), default="")  # what a CSV was read as
    sealed: Mapped[str | None] = mapped_column(sa.Text)  # the upload, encrypted; dropped when the import ends
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending/running/done/failed
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[Any]] = mapped_column(default=list)  # [row, order number, outcome, reason, case number]
    notes: Mapped[list[Any]] = mapped_column(default=list)  # file-level remarks (encoding, unused columns)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class UpstreamReceipt(Base):
    """An upstream order received once (上级工单回执): its unique number makes imports and pushes idempotent."""

    __tablename__ = "upstream_receipt"
    __table_args__ = (sa.UniqueConstraint("source", "order_no", name="uq_upstream_receipt_source_order_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(16))  # platform (民呼我为 / 12345)
    order_no: Mapped[str] = mapped_column(sa.String(64))
    case_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    case_number: Mapped[str] = mapped_column(sa.String(32))
    via: Mapped[str] = mapped_column(sa.String(16))  # file / push / cli
    import_id: Mapped[str | None] = mapped_column(sa.String(36))
    received_by: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime]


class WebhookSubscription(Base):
    """A subscription of secondary development to case events (事件订阅): signed deliveries, no personal data."""

    __tablename__ = "webhook_subscription"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(sa.Text)  # HMAC key, encrypted like personal fields
    events: Mapped[list[Any]] = mapped_column(default=list)  # history event kinds
    active: Mapped[bool] = mapped_column(default=True)
    cursor: Mapped[int] = mapped_column(default=0)  # the last history_event id looked at
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
