"""First-time reference data (参考数据初始化): the files in `reference/` and the packaged holiday calendar.

Seeding is idempotent and never overwrites what people changed: a table is loaded from its file only while it is
empty (settings and departments: only missing keys are added), a calendar year is loaded from the package only
while it has no official data (a notice loaded by an admin always wins), and the duty roster gets the rotation's
shifts (`duty_rotation.csv`) only on the days and roles of the coming weeks that have none yet.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.calendar_source import PACKAGE_YEARS
from handlers.calendar_source import seed_package_years
from handlers.reference.csvio import ImportRejected
from handlers.reference.csvio import check_rows
from handlers.reference.csvio import read_rows
from handlers.reference.roster import ROSTER_WEEKS
from handlers.reference.roster import fill_roster
from handlers.reference.roster import parse_rotation
from handlers.reference.roster import planning_window
from handlers.reference.store import WRITERS
from handlers.reference.store import is_empty
from handlers.reference.store import known
from processes.reference.models import Department
from processes.reference.models import Setting

# Load order matters: the catalogue refers to departments.
FILES = (("departments", "departments.csv"), ("settings", "settings.csv"), ("sla", "sla_rules.csv"),
         ("catalogue", "dispatch_catalogue.csv"))
ROTATION_FILE = "duty_rotation.csv"
KEYED = {"departments": (Department, "code"), "settings": (Setting, "name")}


def seed_all(session: Session, directory: Path, *, actor: str, now: datetime,
             years: range = PACKAGE_YEARS) -> list[str]:
    """Load missing reference data from `directory` and the calendar package; return one line per table."""
    lines = []
    for kind, name in FILES:
        path = directory / name
        if not path.exists():
            lines.append(f"{kind}: {name} not found, skipped")
            continue
        try:
            values = check_rows(kind, read_rows(kind, path.read_text(encoding="utf-8")), known(session))
        except ImportRejected as exc:
            raise ImportRejected([f"{name} {e}" for e in exc.errors]) from exc
        lines.append(f"{kind}: {_seed(session, kind, values)}")
    lines.append(f"roster: {_seed_roster(session, directory / ROTATION_FILE, now)}")
    loaded = seed_package_years(session, actor=actor, now=now, years=years)
    lines.append(f"calendar: {len(loaded)} years loaded from chinesecalendar"
                 + (f" ({loaded[0]}-{loaded[-1]})" if loaded else " (all present)"))
    return lines


def _seed(session: Session, kind: str, values: list[dict[str, object]]) -> str:
    """Write a table's seed rows unless people's data is already there."""
    if kind in KEYED:
        model, key = KEYED[kind]
        present = set(session.scalars(sa.select(getattr(model, key))))
        missing = [v for v in values if v[key] not in present]
        if missing:
            session.execute(sa.insert(model), missing)
            session.flush()
        return f"{len(missing)} added, {len(values) - len(missing)} kept"
    if not is_empty(session, kind):
        return "kept the existing rows"
    WRITERS[kind](session, values)
    session.flush()
    return f"{len(values)} loaded"


def _seed_roster(session: Session, path: Path, now: datetime) -> str:
    """Plan the duty roster from yesterday through ROSTER_WEEKS weeks ahead where nobody planned it yet."""
    if not path.exists():
        return f"{path.name} not found, skipped"
    try:
        rotation = parse_rotation(path.read_text(encoding="utf-8"))
    except ImportRejected as exc:
        raise ImportRejected([f"{path.name} {e}" for e in exc.errors]) from exc
    first, days = planning_window(now, ROSTER_WEEKS)
    added, kept = fill_roster(session, rotation, first, days)
    last = first + timedelta(days=days - 1)
    return f"{added} shifts added from {path.name} for {first}..{last}, {kept} planned day-roles kept"
