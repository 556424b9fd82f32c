"""Duty assignment (值班), dispatch suggestion (派单目录) and settings (系统参数) handlers on a seeded database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from datetime import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import HandlerError
from handlers import routing
from processes.cases.models import Case
from processes.reference.models import DutyRoster
from processes.reference.models import Setting
from tests.reference_support import context
from tests.reference_support import seeded_session
from tests.reference_support import shanghai

SATURDAY = "2026-12-12"
SUNDAY = "2026-12-13"


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A seeded database with case c1 and a weekend roster of its own."""
    with seeded_session(db_url) as session:
        session.execute(sa.delete(DutyRoster))
        shifts = [(SATURDAY, "dispatcher", "day.sat", "08:00", "20:00"),
                  (SATURDAY, "dispatcher", "night.sat", "20:00", "08:00"),
                  (SUNDAY, "dispatcher", "day.sun", "08:00", "20:00"),
                  ("2026-10-01", "dispatcher", "holiday.duty", "00:00", "00:00"),
                  ("2026-11-25", "dispatcher", "wednesday.duty", "08:00", "18:00"),
                  ("2026-11-25", "leader", "wednesday.leader", "08:00", "08:00")]
        session.add_all(DutyRoster(day=date.fromisoformat(d), role=r, username=u, shift_start=time.fromisoformat(s),
                                   shift_end=time.fromisoformat(e)) for d, r, u, s, e in shifts)
        session.commit()
        yield session


def assign(session: Session, when: str, role: str = "dispatcher") -> dict[str, object]:
    """Call duty.assign at a Shanghai wall-clock time."""
    return routing.assign_handler(context(session, shanghai(when)), role)


def test_weekend_duty_follows_the_shifts_including_the_night_shift(session: Session) -> None:
    assert assign(session, f"{SATURDAY}T10:00:00") == {"assignee": "day.sat", "reason": "weekend"}
    assert assign(session, f"{SATURDAY}T22:00:00") == {"assignee": "night.sat", "reason": "weekend"}
    assert assign(session, f"{SUNDAY}T03:00:00") == {"assignee": "night.sat", "reason": "weekend"}
    assert assign(session, f"{SUNDAY}T21:00:00") == {"assignee": None, "reason": "weekend"}  # nobody rostered
    assert assign(session, f"{SUNDAY}T10:00:00", role="leader") == {"assignee": None, "reason": "weekend"}


def test_holidays_and_make_up_workdays_come_from_the_calendar(session: Session) -> None:
    assert assign(session, "2026-10-01T15:00:00") == {"assignee": "holiday.duty", "reason": "holiday"}
    assert assign(session, "2026-02-14T10:00:00") == {"assignee": None, "reason": None}  # Saturday 调休上班
    assert assign(session, "2027-01-02T10:00:00")["reason"] == "weekend"  # no 2027 notice yet: Mon-Fri


def test_working_days_need_no_duty_unless_emergency_mode_is_on(session: Session) -> None:
    assert assign(session, "2026-11-25T10:00:00") == {"assignee": None, "reason": None}
    session.execute(sa.update(Setting).where(Setting.name == "emergency_mode").values(value="true"))
    assert assign(session, "2026-11-25T10:00:00") == {"assignee": "wednesday.duty", "reason": "emergency"}
    assert assign(session, "2026-11-26T07:59:00", "leader") == {"assignee": "wednesday.leader", "reason": "emergency"}
    with pytest.raises(HandlerError, match="role"):
        assign(session, "2026-11-25T10:00:00", role=" ")


def test_dispatch_suggestion_prefers_the_township_line(session: Session) -> None:
    ctx = context(session, shanghai("2026-11-25T10:00:00"))
    assert routing.suggest_handler(ctx) == {"lead": None, "lead_name": None, "assisting": [], "rule": None}
    session.execute(sa.update(Case).where(Case.id == "c1").values(category="环境卫生", township="鹿西乡"))
    local = routing.suggest_handler(ctx)
    assert (local["lead"], local["lead_name"], local["assisting"], local["rule"]) == (
        "luxi", "鹿西乡", ["zhzf"], "环境卫生/luxi")
    session.execute(sa.update(Case).where(Case.id == "c1").values(township="beiao"))  # codes work too
    assert routing.suggest_handler(ctx)["rule"] == "环境卫生/*"
    noise = routing.suggest_handler(ctx, category="噪音扰民")
    assert (noise["lead"], noise["assisting"], noise["assisting_names"]) == (
        "sthj", ["gafj", "zhzf"], ["区公安分局", "区综合行政执法局"])


def test_settings_are_typed_and_validated(session: Session) -> None:
    ctx = context(session, shanghai("2026-11-25T10:00:00"))
    assert routing.setting_handler(ctx, "callback_max_attempts") == {"value": 3}
    assert routing.setting_handler(ctx, "emergency_mode") == {"value": False}
    assert routing.setting_handler(ctx, "yellow_share") == {"value": 0.25}
    session.execute(sa.delete(Setting).where(Setting.name == "yellow_workdays"))
    assert routing.setting_handler(ctx, "yellow_workdays") == {"value": 1}  # the default when no row
    with pytest.raises(HandlerError, match="unknown setting"):
        routing.setting_handler(ctx, "secret_key")
    session.execute(sa.update(Setting).where(Setting.name == "callback_max_attempts").values(value="many"))
    with pytest.raises(HandlerError, match="callback_max_attempts"):
        routing.setting_handler(ctx, "callback_max_attempts")
