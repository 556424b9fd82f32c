"""Tables of the workflow runtime: definitions, instances, projections, jobs, history and cases (工单)."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    """Return a random UUID string; ids are unguessable so probing ids finds nothing."""
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), list[Any]: sa.JSON()}


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
    spec_json: Mapped[str] = mapped_column(sa.Text)  # serialized spec + subprocess specs, parsed once
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    published_by: Mapped[str | None] = mapped_column(sa.String(64))
    published_at: Mapped[datetime | None]


class Requester(Base):
    """A citizen or enterprise who contacts the hotline (诉求人); personal data, never in workflow state."""

    __tablename__ = "requester"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    # name, phone, id_number and address hold AES-GCM ciphertext (processes/pii.py), never plain text
    name: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.Text)
    id_number: Mapped[str | None] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.Text)
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # keyed blind index, exact search
    phone_last4: Mapped[str | None] = mapped_column(sa.String(4), index=True)  # 尾号 search
    caller_type: Mapped[str] = mapped_column(sa.String(16), default="person")  # person / enterprise
    created_at: Mapped[datetime]


class Case(Base):
    """A hotline case (工单): typed routing columns people filter by, plus personal text kept out of workflows."""

    __tablename__ = "hotline_case"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(32), index=True)
    upstream_order_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    upstream_deadline: Mapped[datetime | None]
    request_type: Mapped[str | None] = mapped_column(sa.String(32))
    urgency: Mapped[str] = mapped_column(sa.String(16), default="normal")
    township: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    category: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # 诉求分类, keys the 派单目录
    lead_department: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(32), default="registered", index=True)
    deadline: Mapped[datetime | None]
    warning_level: Mapped[str] = mapped_column(sa.String(8), default="none")
    return_count: Mapped[int] = mapped_column(default=0)
    extension_count: Mapped[int] = mapped_column(default=0)
    rehandle_count: Mapped[int] = mapped_column(default=0)
    assisting_departments: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # 协办单位
    duplicate_of: Mapped[str | None] = mapped_column(sa.String(36), index=True)  # 并单: the case this one joined
    # Flags, not states (domain.md §2): doubtful 存疑, leader_instructed 领导批办, notice_candidate 通报候选 …
    flags: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    requester_id: Mapped[str | None] = mapped_column(sa.ForeignKey("requester.id"))
    # Personal text (诉求内容, 发生地址): encrypted and masked by the security layer, never copied to workflows.
    title: Mapped[str | None] = mapped_column(sa.String(200))
    content: Mapped[str | None] = mapped_column(sa.Text)
    location: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProcessInstance(Base):
    """One running BPMN instance (流程实例): one snapshot, spec by reference, version-checked."""

    __tablename__ = "process_instance"
    __table_args__ = (sa.Index("ix_process_instance_status_next_due", "status", "next_due_at"),)

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


class CaseText(Base):
    """Free text recorded by a task (答复, 退单理由, 巡查情况 …); personal data, never in workflow state."""

    __tablename__ = "case_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("hotline_case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    field: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]


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



# Accounts, the audit trail, reference data and case deadlines live in their own modules; importing them registers
# their tables on Base.
from processes import account_models as _account_models  # noqa: E402, F401
from processes import audit_models as _audit_models  # noqa: E402, F401
from processes import draft_models as _draft_models  # noqa: E402, F401
from processes import reference_models as _reference_models  # noqa: E402, F401
