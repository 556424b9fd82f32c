"""Tables of casework (工单): cases, requesters, free text of tasks, drafts of task forms (暂存), attachments (附件)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.cases.earliest import Earliest
from processes.db.base import Base
from processes.db.base import new_id


class Requester(Base):
    """A citizen or enterprise who contacts the hotline (诉求人); personal data, never in workflow state."""

    __tablename__ = "requester"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    # name, phone, id_number and address hold AES-GCM ciphertext (processes/accounts/pii.py), never plain text
    name: Mapped[str | None] = mapped_column(sa.Text)
    phone: Mapped[str | None] = mapped_column(sa.Text)
    id_number: Mapped[str | None] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.Text)
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # keyed blind index, exact search
    phone_last4: Mapped[str | None] = mapped_column(sa.String(4), index=True)  # 尾号 search
    caller_type: Mapped[str] = mapped_column(sa.String(16), default="person")  # person / enterprise
    created_at: Mapped[datetime]


# A case's closed statuses (handlers.casework.FINISHED, tests/test_case_due_column.py keeps them equal): the
# partial index of open cases is used only when a query's open filter spells the same list
FINISHED_STATUSES = ("closed", "published", "archived", "answered", "transferred", "rejected", "merged",
                     "returned_to_110")
OPEN_CASE = sa.text("status NOT IN ({})".format(", ".join(f"'{s}'" for s in FINISHED_STATUSES)))
# PostgreSQL's own spelling of a query's `status NOT IN (…)`: only then does its planner use the index (0026)
OPEN_CASE_PG = sa.text("status::text <> ALL ('{{{}}}'::text[])".format(",".join(FINISHED_STATUSES)))
OPEN_DUE_INCLUDE = ["warning_level", "lead_department", "township", "channel", "urgency", "request_type", "status",
                    "open_stages", "next_timer_due"]


class Case(Base):
    """A hotline case (工单): typed routing columns people filter by, plus personal text kept out of workflows."""

    __tablename__ = "hotline_case"
    __table_args__ = (
        # One case per 110 警情编号: a repeated or concurrent 110 hand-over finds the case instead (migration 0021)
        sa.Index("uq_hotline_case_police110_incident", "upstream_order_id", unique=True,
                 postgresql_where=sa.text("channel = 'police110'"), sqlite_where=sa.text("channel = 'police110'")),
        # The open cases (migrations 0023, 0026): the board reads every column it groups by from here alone
        sa.Index("ix_hotline_case_open", "lead_department", "deadline", "open_task_due", "upstream_deadline",
                 "warning_level", postgresql_include=["township", "channel", "urgency", "request_type", "created_at",
                                                      "next_timer_due", "status", "open_stages"],
                 postgresql_where=OPEN_CASE_PG, sqlite_where=OPEN_CASE),
        # The drill-down's sort=deadline (督办台 → 工单查询) pages open cases in this order (0028)
        sa.Index("ix_hotline_case_open_due", "effective_due", "created_at", "number",
                 postgresql_include=OPEN_DUE_INCLUDE, postgresql_where=OPEN_CASE_PG, sqlite_where=OPEN_CASE),
        # The dashboard's drill-down lists: a filtered dimension, then the date they are ordered by (0029)
        *(sa.Index(f"ix_hotline_case_{name}_{when}", column, f"{when}_at")
          for name, column in (("department", "lead_department"), ("township", "township"), ("category", "category"),
                               ("request_type", "request_type")) for when in ("created", "closed")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(32), index=True)
    upstream_order_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    upstream_deadline: Mapped[datetime | None]
    request_type: Mapped[str | None] = mapped_column(sa.String(32))
    urgency: Mapped[str] = mapped_column(sa.String(16), default="normal")
    # 复杂件: set at triage, apart from the request type (a complex complaint stays a complaint); keys SLA rules
    complexity: Mapped[str] = mapped_column(sa.String(16), default="normal")  # normal / complex
    township: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    category: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # 诉求分类, keys the 派单目录
    lead_department: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(32), default="registered", index=True)
    deadline: Mapped[datetime | None] = mapped_column(index=True)  # 办理时限: 按时办结率 and 超期率 by it (0024)
    # Kept by the runtime with the task and timer projection (processes/runtime/case_due.py), so lists across cases
    # read columns: the earliest due time of the case's open tasks, and of its waiting BPMN timers (下一计时)
    open_task_due: Mapped[datetime | None]
    next_timer_due: Mapped[datetime | None]
    # The BPMN ids of its open tasks (签收 sign_for, 办理 reply …), sorted, space-separated: the board's stages (0026)
    open_stages: Mapped[str | None] = mapped_column(sa.String(200))
    # 有效时限: the earliest of deadline, open_task_due and upstream_deadline, computed by the database in the same
    # statement as any of them changes (0028), so no writer can leave it behind; lights and the drill-down read it
    effective_due: Mapped[datetime | None] = mapped_column(sa.Computed(
        Earliest(sa.column("deadline"), sa.column("open_task_due"), sa.column("upstream_deadline")), persisted=True))
    # 办结时间 (set when the case reaches 办结) and 直接答复 (closed by a direct answer): what 直办率 and the
    # closure rates of domain.md §7 read, kept after the status moves on to 挂网 / 归档
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    direct_answer: Mapped[bool] = mapped_column(default=False)
    # 回访结果 (satisfied / basically_satisfied / unsatisfied / unreachable) and 是否解决 as the last callback
    # recorded them: what 回访率, 满意率 and 解决率 read (domain.md §7); NULL before any callback
    callback_result: Mapped[str | None] = mapped_column(sa.String(32))
    solved: Mapped[bool | None]
    warning_level: Mapped[str] = mapped_column(sa.String(8), default="none")
    return_count: Mapped[int] = mapped_column(default=0)
    extension_count: Mapped[int] = mapped_column(default=0)
    rehandle_count: Mapped[int] = mapped_column(default=0)
    assisting_departments: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # 协办单位
    duplicate_of: Mapped[str | None] = mapped_column(sa.String(36), index=True)  # 并单: the case this one joined
    # Flags, not states (domain.md §2): doubtful 存疑, leader_instructed 领导批办, notice_candidate 通报候选 …
    flags: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    requester_id: Mapped[str | None] = mapped_column(sa.ForeignKey("requester.id"), index=True)  # 重复来电 (0028)
    # Personal text (诉求内容, 发生地址): encrypted and masked by the security layer, never copied to workflows.
    title: Mapped[str | None] = mapped_column(sa.String(200))
    content: Mapped[str | None] = mapped_column(sa.Text)
    location: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(index=True)  # 受理时间: the volume and most rates by it (0024)
    updated_at: Mapped[datetime]


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


class TaskDraft(Base):
    """The values one user typed into a task form and saved without submitting (暂存), encrypted.

    Free text typed into a form is personal data (complaint details, names, numbers), so `data` holds the JSON of
    the values encrypted with the personal-data key (field name "task_draft"); it is deleted when the task ends.
    """

    __tablename__ = "task_draft"

    task_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    data: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]


class Attachment(Base):
    """A file attached to a case (附件: photo, document, recording), stored outside the web root by its id.

    The file's name on disk is the random id; the name the user gave it is kept (cleaned) only to offer it back
    on download. `sha256` proves the stored bytes are the ones uploaded.
    """

    __tablename__ = "attachment"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(sa.ForeignKey("hotline_case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    original_name: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime]


class CaseNumberCounter(Base):
    """The last case number (工单编号) given out on a day; registration increments it (processes/cases/numbering.py)."""

    __tablename__ = "case_number_counter"

    day: Mapped[str] = mapped_column(sa.String(8), primary_key=True)  # 20261125 of DT20261125-0001
    last_number: Mapped[int] = mapped_column(sa.Integer)
