"""Web edits of reference data (参考数据在线维护): one change at a time, checked by the CSV import's own rules.

Each edit builds the rows its table would hold afterwards and runs them through the check `hotline ref import`
uses (`handlers.reference.csvio`), so a rule set the import would refuse cannot be reached from the web either;
then it writes only the row that changed and returns its values before and after, for the audit row. Callers own
the transaction: a dry run (预演) rolls it back, an apply commits it together with its audit row.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.calendar_source import HOLIDAY
from handlers.calendar_source import MAKEUP
from handlers.calendar_source import default_day
from handlers.calendar_source import year_days
from handlers.reference.csvio import COLUMNS
from handlers.reference.csvio import ImportRejected
from handlers.reference.csvio import Known
from handlers.reference.csvio import Problem
from handlers.reference.csvio import Row
from handlers.reference.csvio import check_calendar
from handlers.reference.csvio import check_catalogue
from handlers.reference.csvio import check_departments
from handlers.reference.csvio import check_settings
from handlers.reference.csvio import check_sla
from handlers.reference.csvio import check_year
from handlers.reference.settings import SETTINGS
from handlers.reference.settings import get_setting
from handlers.reference.store import known
from handlers.reference.store import load
from processes.reference.models import CalendarDay
from processes.reference.models import CalendarYear
from processes.reference.models import Department
from processes.reference.models import DispatchRule
from processes.reference.models import Setting
from processes.reference.models import SlaRule

DAY_KINDS = ("holiday", "makeup", "default")  # 节假日, 调休上班, back to Mon-Fri
MAX_RANGE_DAYS = 31
RANGE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*(?:~|\uff5e|至|\.\.)\s*(\d{4}-\d{2}-\d{2}))?\s*(.*)$")


@dataclass(frozen=True)
class Change:
    """What one edit did: the table kind, the row's key, its values before and after (None: absent)."""

    kind: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def reject(code: str, field: str = "", value: str = "") -> NoReturn:
    """Refuse an edit with one problem."""
    raise ImportRejected([f"{code}: {field} {value}".strip()], [Problem(code, field, value)])


def _values(row: Any, kind: str) -> dict[str, str]:
    """Return a table row as the text values of its CSV columns."""
    out = {}
    for name in COLUMNS[kind]:
        value = getattr(row, name)
        out[name] = ("true" if value else "false") if isinstance(value, bool) else ("" if value is None else str(value))
    return out


def _rows_with(current: list[Any], kind: str, key: Any, values: dict[str, str] | None,
               same: Any) -> list[Row]:
    """Return the table's rows with one row replaced (or removed, values None; or added when no row matches)."""
    rows: list[Row] = []
    found = False
    for n, row in enumerate(current, start=2):
        if key is not None and same(row, key):
            found = True
            if values is not None:
                rows.append((n, values))
        else:
            rows.append((n, _values(row, kind)))
    if not found and values is not None:
        rows.append((len(current) + 2, values))
    return rows


def save_sla(session: Session, rule_id: int | None, values: dict[str, str]) -> Change:
    """Add (rule_id None) or change one time-limit rule (办理时限规则); the whole rule set must still pass."""
    current = list(session.scalars(sa.select(SlaRule).order_by(SlaRule.id)))
    row = _get(session, SlaRule, rule_id)
    check_sla(_rows_with(current, "sla", rule_id, values, lambda r, k: r.id == k))
    before = _values(row, "sla") if row else None
    typed = {**values, "amount": int(values["amount"])}
    if row is None:
        row = SlaRule(**typed)
        session.add(row)
    else:
        for name, value in typed.items():
            setattr(row, name, value)
    session.flush()
    return Change("sla", str(row.id), before, _values(row, "sla"))


def delete_sla(session: Session, rule_id: int) -> Change:
    """Delete one time-limit rule; refused when a required catch-all rule would go."""
    current = list(session.scalars(sa.select(SlaRule).order_by(SlaRule.id)))
    row = _get(session, SlaRule, rule_id, required=True)
    check_sla(_rows_with(current, "sla", rule_id, None, lambda r, k: r.id == k))
    before = _values(row, "sla")
    session.delete(row)
    session.flush()
    return Change("sla", str(rule_id), before, None)


def save_catalogue(session: Session, rule_id: int | None, values: dict[str, str]) -> Change:
    """Add or change one line of the dispatch catalogue (派单目录); units must be known and active."""
    current = list(session.scalars(sa.select(DispatchRule).order_by(DispatchRule.id)))
    row = _get(session, DispatchRule, rule_id)
    checked = check_catalogue(_rows_with(current, "catalogue", rule_id, values, lambda r, k: r.id == k),
                              known(session))
    mine = next(v for v in checked if (v["category"], v["township"]) == (values["category"],
                                                                           values["township"] or "*"))
    before = _values(row, "catalogue") if row else None
    if row is None:
        row = DispatchRule(**mine)
        session.add(row)
    else:
        for name, value in mine.items():
            setattr(row, name, value)
    session.flush()
    return Change("catalogue", str(row.id), before, _values(row, "catalogue"))


def delete_catalogue(session: Session, rule_id: int) -> Change:
    """Delete one line of the dispatch catalogue."""
    row = _get(session, DispatchRule, rule_id, required=True)
    before = _values(row, "catalogue")
    session.delete(row)
    session.flush()
    return Change("catalogue", str(rule_id), before, None)


def save_department(session: Session, code: str | None, values: dict[str, str]) -> Change:
    """Add (code None) or change a unit or township (承办单位、乡镇街道); the catalogue must still hold."""
    current = list(session.scalars(sa.select(Department).order_by(Department.code)))
    if code is None and session.get(Department, values["code"]) is not None:
        reject("code_taken", "code", values["code"])
    row = _get(session, Department, code)
    checked = check_departments(_rows_with(current, "departments", code, values, lambda r, k: r.code == k), Known())
    mine = next(v for v in checked if v["code"] == values["code"])
    before = _values(row, "departments") if row else None
    if row is None:
        row = Department(**mine)
        session.add(row)
    else:
        for name, value in mine.items():
            setattr(row, name, value)
    session.flush()
    lines = list(session.scalars(sa.select(DispatchRule).order_by(DispatchRule.id)))
    try:  # a unit the catalogue sends cases to cannot be retired or stop being a township under it
        check_catalogue([(n, _values(r, "catalogue")) for n, r in enumerate(lines, start=2)], known(session))
    except ImportRejected as exc:
        raise ImportRejected(exc.errors, [Problem("in_catalogue", "active", values["code"])]) from exc
    return Change("departments", row.code, before, _values(row, "departments"))


def save_setting(session: Session, name: str, value: str) -> Change:
    """Change one office setting (系统参数); office hours must open before they close."""
    stored = session.get(Setting, name)
    note = stored.note if stored is not None else ""
    check_settings([(2, {"name": name, "value": value, "note": note})])
    before = {"name": name, "value": stored.value} if stored is not None else None
    if stored is None:
        stored = Setting(name=name, value=value, note=SETTINGS[name].note)
        session.add(stored)
    stored.value = value.strip()
    session.flush()
    opens, closes = (time.fromisoformat(str(get_setting(session, n))) for n in ("office_opens_at", "office_closes_at"))
    if opens >= closes:
        reject("office_hours", "value", value)
    return Change("settings", name, before, {"name": name, "value": stored.value})


def _get(session: Session, model: Any, key: Any, *, required: bool = False) -> Any:
    """Return the row with this key; an unknown key (or a missing one when required) is refused."""
    if key is None:
        if required:
            reject("not_found")
        return None
    row = session.get(model, key)
    if row is None:
        reject("not_found", "", str(key))
    return row


def set_day(session: Session, day: date, kind: str, reason: str, *, actor: str, now: datetime) -> Change:
    """Make one day of an entered year a holiday (节假日), a make-up working day (调休上班) or an ordinary day."""
    year = session.get(CalendarYear, day.year)
    if year is None:
        reject("year_not_entered", "date", str(day.year))
    if kind not in DAY_KINDS:
        reject("field", "kind", kind)
    if kind == "makeup" and day.weekday() < 5:
        reject("makeup_weekday", "date", day.isoformat())
    workday, label = {"holiday": (False, reason or HOLIDAY), "makeup": (True, reason or MAKEUP),
                      "default": default_day(day)}[kind]
    listed = check_calendar([(2, {"date": day.isoformat(), "is_workday": str(workday).lower(), "reason": label})],
                            day.year)
    days = {d.day: (d.is_workday, d.reason) for d in session.scalars(sa.select(CalendarDay).where(
        CalendarDay.day >= date(day.year, 1, 1), CalendarDay.day <= date(day.year, 12, 31)))}
    check_year(year_days(day.year, {**days, **listed}), day.year)
    row = session.get(CalendarDay, day)
    before = {"is_workday": row.is_workday, "reason": row.reason} if row else None
    if row is None:
        row = CalendarDay(day=day)
        session.add(row)
    row.is_workday, row.reason, row.source = workday, label, "admin"
    year.revision, year.loaded_at, year.loaded_by = str(uuid.uuid4()), now, actor  # processes see the change
    session.flush()
    return Change("calendar", day.isoformat(), before, {"is_workday": workday, "reason": label})


def notice_csv(year: int, holidays: str, makeups: str) -> str:
    """Turn a notice typed as lines ('2027-02-06~2027-02-14 春节', '2027-02-20') into the calendar CSV."""
    lines = ["date,is_workday,reason"]
    for field, text, workday in (("holidays", holidays, False), ("makeups", makeups, True)):
        for raw in text.replace("，", " ").replace(",", " ").splitlines():
            if raw.strip():
                lines += [f"{d.isoformat()},{str(workday).lower()},{name}"
                          for d, name in _range(field, raw.strip(), workday)]
    if len(lines) == 1:
        reject("notice_empty", "holidays", str(year))
    return "\n".join(lines) + "\n"


def _range(field: str, line: str, workday: bool) -> list[tuple[date, str]]:
    """Return the days of one line of a notice: a date or a range, then an optional name."""
    found = RANGE_RE.match(line)
    try:
        first = date.fromisoformat(found.group(1)) if found else None
        last = date.fromisoformat(found.group(2)) if found and found.group(2) else first
    except ValueError:
        first = last = None
    if found is None or first is None or last is None or not 0 <= (last - first).days < MAX_RANGE_DAYS:
        reject("notice_line", field, line)
    name = found.group(3).strip()[:32] or (MAKEUP if workday else HOLIDAY)
    return [(first + timedelta(days=n), name) for n in range((last - first).days + 1)]


def enter_notice(session: Session, year: int, notice: str, holidays: str, makeups: str, *, actor: str,
                 now: datetime) -> Change:
    """Enter a year's State Council notice (节假日安排通知) from the calendar page, as `hotline ref import` does."""
    if not notice.strip():
        reject("field", "notice", notice)
    before = session.get(CalendarYear, year)
    was = {"notice": before.notice, "source": before.source} if before is not None else None
    loaded = load(session, "calendar", notice_csv(year, holidays, makeups), actor=actor, now=now, year=year,
                  notice=notice)
    return Change("calendar", str(year), was, {"notice": notice.strip(), "summary": loaded.summary})
