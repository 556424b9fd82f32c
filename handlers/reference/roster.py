"""Duty rotation (值班轮换): turn the office's rotation into dated roster rows (值班表) for the coming weeks.

A rotation line names a role, a shift (start and end, HH:MM; an end at or before the start runs overnight) and the
people who take turns, by day or by week. Who is on a day is fixed by the date itself (the day's number, or its
week's, modulo the number of people), so generating again, or further ahead, never reshuffles days already planned.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import workdays
from handlers.reference.csvio import COLUMNS
from handlers.reference.csvio import Checker
from handlers.reference.csvio import ImportRejected
from processes.accounts.roles import BUSINESS_ROLES
from processes.reference.models import DutyRoster

ROTATION_COLUMNS = ("role", "shift_start", "shift_end", "rotate", "people", "note")
ROTATE = frozenset({"day", "week"})
ROSTER_WEEKS = 8  # how far ahead seeding plans the roster
MAX_PEOPLE = 50


@dataclass(frozen=True)
class RotationLine:
    """One shift of a role and the people who take turns on it (每日或每周轮换)."""

    role: str
    shift_start: time
    shift_end: time
    rotate: str  # day / week
    people: tuple[str, ...]
    note: str = ""

    def on(self, day: date) -> str:
        """Return who works this shift on `day`."""
        turn = day.toordinal() if self.rotate == "day" else (day.toordinal() - day.weekday()) // 7
        return self.people[turn % len(self.people)]


def parse_rotation(text: str) -> list[RotationLine]:
    """Read a rotation CSV (columns role,shift_start,shift_end,rotate,people,note); refuse it whole on any error."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if header != list(ROTATION_COLUMNS):
        raise ImportRejected([f"line 1: columns must be {','.join(ROTATION_COLUMNS)}"])
    check, lines = Checker(), []
    for raw in reader:
        line = reader.line_num
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            check.fail(line, "more fields than columns")
            continue
        if not any(row.values()):
            continue
        people = tuple(p.strip() for p in row["people"].split(",") if p.strip())
        start = check.value(line, "shift_start", row["shift_start"], time.fromisoformat)
        end = check.value(line, "shift_end", row["shift_end"], time.fromisoformat)
        if row["role"] not in BUSINESS_ROLES:
            check.fail(line, f"role {row['role']!r} is not a business role code")
        if row["rotate"] not in ROTATE:
            check.fail(line, f"rotate {row['rotate']!r}: must be day or week")
        if not people or len(people) > MAX_PEOPLE or len(set(people)) != len(people) or max(map(len, people)) > 64:
            check.fail(line, f"people: 1-{MAX_PEOPLE} different usernames, comma separated")
        check.unique(line, (row["role"], row["shift_start"]))
        if start is not None and end is not None and not check.errors:
            lines.append(RotationLine(row["role"], start, end, row["rotate"], people, row["note"]))
    check.done()
    if not lines:
        raise ImportRejected(["the rotation lists no shifts"])
    return lines


def expand(rotation: list[RotationLine], first: date, days: int) -> list[dict[str, Any]]:
    """Return roster rows (day, role, username, shift_start, shift_end) for `days` days from `first`.

    Rows come in the order `hotline ref export roster` writes them, so a generated file and its export compare equal.
    """
    rows = [{"day": first + timedelta(days=n), "role": line.role, "username": line.on(first + timedelta(days=n)),
             "shift_start": line.shift_start, "shift_end": line.shift_end}
            for n in range(days) for line in rotation]
    return sorted(rows, key=lambda r: (r["day"], r["role"], r["shift_start"], r["username"]))


def roster_csv(rows: list[dict[str, Any]]) -> str:
    """Return roster rows as CSV text in the import format of `hotline ref import roster`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS["roster"])
    writer.writerows([r["day"].isoformat(), r["role"], r["username"], _clock(r["shift_start"]),
                      _clock(r["shift_end"])] for r in rows)
    return out.getvalue()


def _clock(value: time) -> str:
    """Format a time of day as HH:MM (HH:MM:SS when it has seconds), like the export."""
    return value.isoformat("minutes" if value.second == 0 else "seconds")


def planning_window(now: datetime, weeks: int = ROSTER_WEEKS) -> tuple[date, int]:
    """Return the first day and the number of days to plan: from yesterday (its night shift covers this morning)
    through the day `weeks` weeks from today (its shifts cover the rest of that day), in Beijing time."""
    today = workdays.local_date(now)
    return today - timedelta(days=1), weeks * 7 + 2


def fill_roster(session: Session, rotation: list[RotationLine], first: date, days: int) -> tuple[int, int]:
    """Add the rotation's shifts to the days (and roles) of the window that have none; keep what people planned.

    Return (shifts added, day-role pairs kept).
    """
    last = first + timedelta(days=days - 1)
    planned = {(day, role) for day, role in session.execute(sa.select(DutyRoster.day, DutyRoster.role).where(
        DutyRoster.day >= first, DutyRoster.day <= last).distinct())}
    rows = expand(rotation, first, days)
    missing = [r for r in rows if (r["day"], r["role"]) not in planned]
    if missing:
        session.execute(sa.insert(DutyRoster), missing)
        session.flush()
    return len(missing), len(planned)

