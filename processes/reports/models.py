"""Tables of reports and exports: export jobs with their files, stored reports, evaluation schemes (考评方案)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.db.base import Base
from processes.db.base import new_id


class ExportJob(Base):
    """A case-list export run in the background (后台导出): claimed by a scheduler with a lease, kept for a while."""

    __tablename__ = "export_job"
    __table_args__ = (sa.Index("ix_export_job_status_lease_until", "status", "lease_until"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    requested_by: Mapped[str] = mapped_column(sa.String(64), index=True)  # the only one who may download it
    file_format: Mapped[str] = mapped_column(sa.String(8))  # csv / xlsx
    criteria: Mapped[dict[str, Any]]  # the search as typed; a phone only sealed (encrypted), never in clear
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending/running/done/failed/expired
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # in the database: every app node can serve it
    file_name: Mapped[str] = mapped_column(sa.String(100), default="")
    error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class ReportFile(Base):
    """One generated report (周报 / 月度分析报告) in one format for one scope (the office or one unit)."""

    __tablename__ = "report_file"
    __table_args__ = (sa.UniqueConstraint("kind", "period", "scope", "file_format",
                                          name="uq_report_file_kind_period_scope_format"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(sa.String(16))  # weekly / monthly
    period: Mapped[str] = mapped_column(sa.String(16))  # 2026-W48 / 2026-11
    scope: Mapped[str] = mapped_column(sa.String(64))  # "office" or a unit's code
    file_format: Mapped[str] = mapped_column(sa.String(8))  # pdf / xlsx
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    generated_by: Mapped[str] = mapped_column(sa.String(64))  # a user, or system:reports for the scheduler
    generated_at: Mapped[datetime]


class EvaluationScheme(Base):
    """One version of the department scorecard (部门考评方案): weights and targets per metric; the newest applies."""

    __tablename__ = "evaluation_scheme"

    id: Mapped[int] = mapped_column(primary_key=True)
    weights: Mapped[dict[str, Any]]  # {metric: {"weight": 25, "target": 0.95}}
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
