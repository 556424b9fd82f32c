"""Reference data people change (参考数据): calendar, time-limit rules, departments, 派单目录, duty, settings.

Also the per-case deadline rows (工单时限) computed from them, so a change of reference data can find and move
the timers of open cases. Loaded with every other table by `processes.db.schema`.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from processes.db.base import Base


class CalendarDay(Base):
    """One day of an official calendar year (工作日历): workday or not, and why (春节, 调休上班, 周末 …)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool]
    reason: Mapped[str] = mapped_column(sa.String(32))
    source: Mapped[str] = mapped_column(sa.String(16))  # package / notice / admin


class CalendarYear(Base):
    """A year whose holiday notice (节假日安排通知) is loaded; a year without a row counts Mon-Fri, with a warning."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(sa.String(16))  # package / notice / admin
    notice: Mapped[str] = mapped_column(sa.String(200), default="")  # the State Council notice number (国办发明电 …)
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(sa.String(64))
    # New random value on every load: processes cache a year's days and compare this to see a change.
    revision: Mapped[str] = mapped_column(sa.String(36))


class SlaRule(Base):
    """A time-limit rule (办理时限规则) keyed by source, type, urgency, complexity (复杂件) and stage; '*': any."""

    __tablename__ = "sla_rule"
    __table_args__ = (
        sa.UniqueConstraint("source", "request_type", "urgency", "complexity", "stage", name="uq_sla_rule_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(32))  # '*' or channel: phone/visit/platform/township/police110
    request_type: Mapped[str] = mapped_column(sa.String(32))
    urgency: Mapped[str] = mapped_column(sa.String(16))
    complexity: Mapped[str] = mapped_column(sa.String(16), default="*")  # '*' or normal / complex (复杂件)
    stage: Mapped[str] = mapped_column(sa.String(32))
    amount: Mapped[int]
    unit: Mapped[str] = mapped_column(sa.String(16))  # workdays / hours / minutes
    note: Mapped[str] = mapped_column(sa.String(200), default="")


class Department(Base):
    """A handling unit (承办单位): district department, township (乡镇街道) or office; townships are kind='township'."""

    __tablename__ = "department"

    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))  # department / township / office
    township: Mapped[str | None] = mapped_column(sa.String(32))  # code of the township a local unit belongs to
    active: Mapped[bool] = mapped_column(default=True)
    sms_target: Mapped[str | None] = mapped_column(sa.String(64))  # SMS gateway address of the unit's duty phone


class DispatchRule(Base):
    """A line of the dispatch catalogue (派单目录): category and township to lead and assisting units."""

    __tablename__ = "dispatch_rule"
    __table_args__ = (sa.UniqueConstraint("category", "township", name="uq_dispatch_rule_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(64))
    township: Mapped[str] = mapped_column(sa.String(32))  # township code or '*'
    lead: Mapped[str] = mapped_column(sa.String(32))  # department code
    assisting: Mapped[str] = mapped_column(sa.String(500), default="")  # comma list of department codes
    note: Mapped[str] = mapped_column(sa.String(200), default="")


class DutyRoster(Base):
    """Who is on duty (值班) for a role on a day and shift; a shift ending at or before its start runs overnight."""

    __tablename__ = "duty_roster"
    __table_args__ = (sa.Index("ix_duty_roster_day_role", "day", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    role: Mapped[str] = mapped_column(sa.String(64))
    username: Mapped[str] = mapped_column(sa.String(64))
    shift_start: Mapped[time] = mapped_column(sa.Time)
    shift_end: Mapped[time] = mapped_column(sa.Time)


class Setting(Base):
    """An office setting (系统参数) such as yellow_share or emergency_mode, stored as text, parsed by name."""

    __tablename__ = "setting"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str] = mapped_column(sa.String(200), default="")


class CaseDeadline(Base):
    """A computed deadline (时限) of one stage of a case, and the BPMN timers that were set from it."""

    __tablename__ = "case_deadline"
    __table_args__ = (sa.UniqueConstraint("instance_id", "stage", "unit", name="uq_case_deadline_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    instance_id: Mapped[str] = mapped_column(sa.String(36))
    stage: Mapped[str] = mapped_column(sa.String(32))
    unit: Mapped[str] = mapped_column(sa.String(32), default="")  # handling unit code, '' for the case itself
    start_at: Mapped[datetime]
    due_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    notice_at: Mapped[datetime | None]
    rule: Mapped[str] = mapped_column(sa.String(200))
    extension_days: Mapped[int] = mapped_column(default=0)
    capped: Mapped[bool] = mapped_column(default=False)
    calendar_warning: Mapped[str | None] = mapped_column(sa.String(200))
    # Comma lists of BPMN ids of the timers set from due_at / warn_at / notice_at (to move them later).
    due_timers: Mapped[str] = mapped_column(sa.String(200), default="")
    warn_timers: Mapped[str] = mapped_column(sa.String(200), default="")
    notice_timers: Mapped[str] = mapped_column(sa.String(200), default="")
    updated_at: Mapped[datetime]
