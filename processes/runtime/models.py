"""Tables of the workflow runtime: definitions, instances, task and timer projections, jobs, history, outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.cases import models as _case_tables  # noqa: F401  (instances refer to hotline_case)
from processes.db.base import Base
from processes.db.base import new_id


class ProcessDefinition(Base):
    """One deployed version of a process bundle (流程定义版本)."""

    __tablename__ = "process_definition"
    __table_args__ = (
        sa.UniqueConstraint("key", "version", name="uq_process_definition_key_version"),
        sa.UniqueConstraint("key", "sha256", name="uq_process_definition_key_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), index=True)
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))  # draft / published / retired
    process_id: Mapped[str] = mapped_column(sa.String(128))  # BPMN id of the top process
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    files: Mapped[dict[str, Any]]  # {"x.bpmn": xml text, "forms/y.schema.json": text}
    # serialized spec + subprocess specs, parsed once; "" for a draft kept with errors (nothing runs on it)
    spec_json: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    published_by: Mapped[str | None] = mapped_column(sa.String(64))
    published_at: Mapped[datetime | None]

    @property
    def runnable(self) -> bool:
        """Whether the engine read this version (a draft kept with errors cannot run or be published)."""
        return self.spec_json != ""


class ProcessInstance(Base):
    """One running BPMN instance (流程实例): one snapshot, spec by reference, version-checked."""

    __tablename__ = "process_instance"
    __table_args__ = (
        sa.Index("ix_process_instance_status_next_due", "status", "next_due_at"),
        # the instance list (流程实例) pages newest first by keyset over (created_at, id)
        sa.Index("ix_process_instance_created_at_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(sa.String(64))
    case_id: Mapped[str | None] = mapped_column(sa.ForeignKey("hotline_case.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))  # running/waiting/completed/error/suspended/terminated
    version: Mapped[int] = mapped_column(default=1)
    snapshot: Mapped[str] = mapped_column(sa.Text)
    projection: Mapped[str] = mapped_column(sa.Text, default="{}")  # last projected tasks/timers, for diffs
    next_due_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InstanceCorrelation(Base):
    """A correlation key value of an instance, so messages find their case without loading workflows."""

    __tablename__ = "instance_correlation"
    __table_args__ = (sa.Index("ix_instance_correlation_name_value", "name", "value"),)

    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200))


class HumanTask(Base):
    """Projection of one open or finished user/manual task (待办), so worklists never load a workflow."""

    __tablename__ = "human_task"
    __table_args__ = (
        sa.Index("ix_human_task_assignee_status", "assignee", "status"),
        sa.Index("ix_human_task_role_dept_status", "role", "department", "status"),
        sa.Index("ix_human_task_status_due", "status", "due_at"),
        # The worklist's 待认领 counts by role and unit, index-only (case_id for its join to the case), and the
        # board's stage names (bpmn_id, name of the open tasks) (0028)
        sa.Index("ix_human_task_open_group", "role", "department", "assignee",
                 postgresql_include=["case_id", "bpmn_id", "name"],
                 postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'")),
        # Open tasks only: an open case's deadline and stage for the search and the board (migration 0018)
        sa.Index("ix_human_task_open_case", "case_id", "due_at", "bpmn_id", postgresql_where=sa.text("status = 'open'"),
                 sqlite_where=sa.text("status = 'open'")),
        # 签收 tasks by due time: 及时签收率's period, drill-down and day refresh (migration 0024)
        sa.Index("ix_human_task_sign_for_due", "due_at", postgresql_where=sa.text("bpmn_id = 'sign_for'"),
                 sqlite_where=sa.text("bpmn_id = 'sign_for'")),
        # A unit's 签收 tasks by due time: the drill-down lists of 及时签收率 with a unit filter (migration 0029)
        sa.Index("ix_human_task_sign_for_department_due", "department", "due_at",
                 postgresql_where=sa.text("bpmn_id = 'sign_for'"), sqlite_where=sa.text("bpmn_id = 'sign_for'")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)  # engine task id
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    bpmn_id: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str | None] = mapped_column(sa.String(64))
    department: Mapped[str | None] = mapped_column(sa.String(64))
    assignee: Mapped[str | None] = mapped_column(sa.String(64))
    priority: Mapped[int] = mapped_column(default=0)
    form: Mapped[str | None] = mapped_column(sa.String(200))
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(16))  # open / completed / cancelled
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(sa.String(64))


class TimerJob(Base):
    """One unit of time-driven work: a waiting BPMN timer or a retry of a failed service task."""

    __tablename__ = "timer_job"
    __table_args__ = (
        sa.Index("ix_timer_job_status_due", "status", "due_at"),
        sa.Index("ix_timer_job_instance_status", "instance_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.ForeignKey("process_instance.id"))
    task_id: Mapped[str] = mapped_column(sa.String(36))  # engine task id of the timer event ('' for retries)
    kind: Mapped[str] = mapped_column(sa.String(16))  # timer / retry
    bpmn_id: Mapped[str] = mapped_column(sa.String(128), default="")
    timer_kind: Mapped[str] = mapped_column(sa.String(16), default="")  # duration / date / cycle
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16))  # pending / claimed / done / failed / cancelled
    lease_owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HistoryEvent(Base):
    """Append-only history of a case (办理过程): what happened, who, when, which fields changed (no values)."""

    __tablename__ = "history_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    case_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(32))
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    bpmn_id: Mapped[str | None] = mapped_column(sa.String(128))
    fields: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Unique key of events that must happen once, e.g. a timer firing at one due instant: a double fire fails.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)


class SchedulerHeartbeat(Base):
    """One row per running scheduler process (调度进程): health for the admin dashboard."""

    __tablename__ = "scheduler_heartbeat"

    owner: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    started_at: Mapped[datetime]
    last_seen: Mapped[datetime]
    jobs_done: Mapped[int] = mapped_column(default=0)


class OutboxMessage(Base):
    """A message leaving the system (SMS notice, upstream write-back, 110 feedback), delivered after commit.

    The payload carries ids and routing fields only; an adapter looks personal data up when it delivers.
    """

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_status_next_try", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(32))  # sms / upstream / police110 / township …
    kind: Mapped[str] = mapped_column(sa.String(64))
    case_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    instance_id: Mapped[str | None] = mapped_column(sa.String(36))
    payload: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16))  # pending / claimed / delivered / failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(128))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_via: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
