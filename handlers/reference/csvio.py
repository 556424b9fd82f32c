"""Read and check reference CSV files (参考数据导入校验): every row is validated, errors name their line."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import time
from functools import partial
from typing import Any

from handlers.reference.settings import SETTINGS
from handlers.reference.settings import parse_bool
from handlers.reference.settings import parse_setting
from handlers.reference.sla import ANY
from handlers.reference.sla import COMPLEXITIES
from handlers.reference.sla import REQUEST_TYPES
from handlers.reference.sla import REQUIRED_STAGES
from handlers.reference.sla import SOURCES
from handlers.reference.sla import UNITS
from handlers.reference.sla import URGENCIES

COLUMNS: dict[str, tuple[str, ...]] = {
    "calendar": ("date", "is_workday", "reason"),
    "sla": ("source", "request_type", "urgency", "complexity", "stage", "amount", "unit", "note"),
    "catalogue": ("category", "township", "lead", "assisting", "note"),
    "departments": ("code", "name", "kind", "township", "active", "sms_target"),
    "roster": ("day", "role", "username", "shift_start", "shift_end"),
    "settings": ("name", "value", "note"),
}
KINDS = tuple(COLUMNS)
# Columns a file may leave out, and the value each of its rows then has (files written before the column existed).
OPTIONAL: dict[str, dict[str, str]] = {"sla": {"complexity": "*"}}
DEPARTMENT_KINDS = frozenset({"department", "township", "office"})
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
STAGE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_ROWS = 20_000
MIN_WORKDAYS_A_YEAR = 200  # a real year has about 248; fewer means a broken file, not a generous notice


@dataclass(frozen=True)
class Problem:
    """One validation problem as data, for screens that say it in their own words (the web's Chinese texts).

    `code` is `field` (the value of `field` does not parse) or a rule: duplicate, catch_all, extension_unit,
    complex_type, unknown_department, inactive_department, assisting_repeat, unknown_township, not_township,
    wrong_year, unknown_setting, too_few_workdays.
    """

    code: str
    field: str = ""
    value: str = ""


class ImportRejected(Exception):
    """A reference file failed validation; nothing was written. `errors` name their lines, `problems` are codes."""

    def __init__(self, errors: list[str], problems: list[Problem] | None = None) -> None:
        super().__init__(f"{len(errors)} error(s): " + "; ".join(errors[:5]))
        self.errors = errors
        self.problems = problems or []


@dataclass(frozen=True)
class Known:
    """Reference values a file is checked against: department codes (active ones) and township codes."""

    departments: frozenset[str] = frozenset()
    active: frozenset[str] = frozenset()
    townships: frozenset[str] = frozenset()


Row = tuple[int, dict[str, str]]


class Checker:
    """Collects line-numbered errors while rows are parsed."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.problems: list[Problem] = []
        self.seen: dict[tuple[str, ...], int] = {}

    def fail(self, line: int, message: str, problem: Problem | None = None) -> None:
        """Record an error of one line, and what kind of problem it is."""
        self.errors.append(f"line {line}: {message}")
        self.problems.append(problem or Problem("invalid"))

    def value(self, line: int, name: str, text: str, parse: Callable[[str], Any]) -> Any:
        """Parse one field, recording an error (and returning None) when it does not parse."""
        try:
            return parse(text)
        except ValueError as exc:
            self.fail(line, f"{name} {text!r}: {exc}", Problem("field", name, text))
            return None

    def unique(self, line: int, key: tuple[str, ...]) -> None:
        """Record an error when a key was already used by an earlier line."""
        if key in self.seen:
            self.fail(line, f"duplicate of line {self.seen[key]} ({'/'.join(key)})", Problem("duplicate"))
        self.seen.setdefault(key, line)

    def done(self) -> None:
        """Raise ImportRejected when any error was recorded."""
        if self.errors:
            raise ImportRejected(self.errors, self.problems)


def read_rows(kind: str, text: str) -> list[Row]:
    """Return (line number, row) pairs of a CSV text with exactly the kind's columns (optional ones may be absent)."""
    if kind not in COLUMNS:
        raise ImportRejected([f"unknown kind {kind!r}; use one of {', '.join(KINDS)}"])
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    optional = OPTIONAL.get(kind, {})
    missing = [c for c in COLUMNS[kind] if c not in header and c not in optional]
    extra = [h for h in header if h not in COLUMNS[kind]]
    if missing or extra:
        raise ImportRejected([f"line 1: columns must be {','.join(COLUMNS[kind])}"
                              + (f"; missing {','.join(missing)}" if missing else "")
                              + (f"; unknown {','.join(extra)}" if extra else "")])
    rows: list[Row] = []
    for raw in reader:
        if len(rows) >= MAX_ROWS:
            raise ImportRejected([f"more than {MAX_ROWS} rows"])
        if None in raw:
            raise ImportRejected([f"line {reader.line_num}: more fields than columns"])
        row = {**optional, **{k.strip(): (v or "").strip() for k, v in raw.items()}}
        if any(row.values()):  # blank lines are allowed
            rows.append((reader.line_num, row))
    return rows


def _text(limit: int, *, required: bool = True) -> Callable[[str], str]:
    """Return a parser for text of at most `limit` characters."""
    def parse(text: str) -> str:
        if required and not text:
            raise ValueError("is required")
        if len(text) > limit:
            raise ValueError(f"longer than {limit} characters")
        return text
    return parse


def _choice(allowed: frozenset[str] | set[str]) -> Callable[[str], str]:
    """Return a parser that accepts only the allowed values."""
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(sorted(allowed))}")
        return text
    return parse


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[str], str]:
    """Return a parser that accepts text matching a pattern."""
    def parse(text: str) -> str:
        if not regex.match(text):
            raise ValueError(f"is not {what}")
        return text
    return parse


def _positive(text: str) -> int:
    """Parse a whole number above zero."""
    value = int(text)
    if value <= 0:
        raise ValueError("must be more than 0")
    return value


def _clock(text: str) -> time:
    """Parse a time of day, HH:MM or HH:MM:SS."""
    return time.fromisoformat(text)


def check_calendar(rows: list[Row], year: int) -> dict[date, tuple[bool, str]]:
    """Return the listed days of a year's notice: holidays and make-up workdays (调休上班)."""
    check = Checker()
    out: dict[date, tuple[bool, str]] = {}
    for line, row in rows:
        day = check.value(line, "date", row["date"], date.fromisoformat)
        workday = check.value(line, "is_workday", row["is_workday"], parse_bool)
        reason = check.value(line, "reason", row["reason"], _text(32, required=False))
        if day is None or workday is None or reason is None:
            continue
        if day.year != year:
            check.fail(line, f"date {day} is not in {year}", Problem("wrong_year", "date", str(day)))
        check.unique(line, (day.isoformat(),))
        out[day] = (workday, reason or ("调休上班" if workday else "节假日"))
    check.done()
    return out


def check_sla(rows: list[Row]) -> list[dict[str, Any]]:
    """Return SLA rule rows; the required stages must each have a catch-all '*/*/*/*' rule."""
    check, out = Checker(), []
    for line, row in rows:
        if row["request_type"] in ("complex", "复杂", "复杂件"):
            check.fail(line, "复杂件 is no longer a request type: write request_type * and complexity complex",
                       Problem("complex_type", "request_type"))
            continue
        values = {
            "source": check.value(line, "source", row["source"], _choice(SOURCES | {ANY})),
            "request_type": check.value(line, "request_type", row["request_type"], _choice(REQUEST_TYPES | {ANY})),
            "urgency": check.value(line, "urgency", row["urgency"], _choice(URGENCIES | {ANY})),
            "complexity": check.value(line, "complexity", row["complexity"], _choice(COMPLEXITIES | {ANY})),
            "stage": check.value(line, "stage", row["stage"], _pattern(STAGE_RE, "a stage name")),
            "amount": check.value(line, "amount", row["amount"], _positive),
            "unit": check.value(line, "unit", row["unit"], _choice(UNITS)),
            "note": check.value(line, "note", row["note"], _text(200, required=False)),
        }
        if values["stage"] == "extension_max" and values["unit"] not in (None, "workdays"):
            check.fail(line, "extension_max must be in workdays", Problem("extension_unit", "unit"))
        check.unique(line, (row["source"], row["request_type"], row["urgency"], row["complexity"], row["stage"]))
        out.append(values)
    for stage in REQUIRED_STAGES:
        if (ANY, ANY, ANY, ANY, stage) not in check.seen:
            check.errors.append(f"missing the catch-all rule *,*,*,*,{stage}")
            check.problems.append(Problem("catch_all", "stage", stage))
    check.done()
    return out


def check_departments(rows: list[Row], known: Known) -> list[dict[str, Any]]:
    """Return department rows (承办单位); a unit's township must be a township in the file or the table."""
    check, out = Checker(), []
    townships = set(known.townships) | {r["code"] for _, r in rows if r["kind"] == "township"}
    for line, row in rows:
        values = {
            "code": check.value(line, "code", row["code"], _pattern(CODE_RE, "a code of 1-32 letters/digits/_-")),
            "name": check.value(line, "name", row["name"], _text(100)),
            "kind": check.value(line, "kind", row["kind"], _choice(DEPARTMENT_KINDS)),
            "township": row["township"] or None,
            "active": check.value(line, "active", row["active"] or "true", parse_bool),
            "sms_target": check.value(line, "sms_target", row["sms_target"], _text(64, required=False)) or None,
        }
        if values["township"] is not None and (values["kind"] == "township" or values["township"] not in townships):
            check.fail(line, f"township {values['township']!r} is not a township code",
                       Problem("not_township", "township", str(values["township"])))
        check.unique(line, (row["code"],))
        out.append(values)
    check.done()
    return out


def check_catalogue(rows: list[Row], known: Known) -> list[dict[str, Any]]:
    """Return dispatch catalogue rows (派单目录); lead and assisting must be active department codes."""
    check, out = Checker(), []
    for line, row in rows:
        lead, township = row["lead"], row["township"] or ANY
        assisting = [c.strip() for c in row["assisting"].split(",") if c.strip()]
        for code in [lead, *assisting]:
            if code not in known.departments:
                check.fail(line, f"unknown department code {code!r}", Problem("unknown_department", "lead", code))
            elif code not in known.active:
                check.fail(line, f"department {code!r} is not active", Problem("inactive_department", "lead", code))
        if lead in assisting or len(set(assisting)) != len(assisting):
            check.fail(line, "assisting units repeat each other or the lead", Problem("assisting_repeat", "assisting"))
        if township != ANY and township not in known.townships:
            check.fail(line, f"unknown township code {township!r}", Problem("unknown_township", "township", township))
        values = {"category": check.value(line, "category", row["category"], _text(64)), "township": township,
                  "lead": lead, "assisting": ",".join(assisting),
                  "note": check.value(line, "note", row["note"], _text(200, required=False))}
        check.unique(line, (row["category"], township))
        out.append(values)
    check.done()
    return out


def check_roster(rows: list[Row]) -> list[dict[str, Any]]:
    """Return duty roster rows (值班表): HH:MM times; a shift ending at or before its start runs overnight."""
    check, out = Checker(), []
    for line, row in rows:
        values = {
            "day": check.value(line, "day", row["day"], date.fromisoformat),
            "role": check.value(line, "role", row["role"], _text(64)),
            "username": check.value(line, "username", row["username"], _text(64)),
            "shift_start": check.value(line, "shift_start", row["shift_start"], _clock),
            "shift_end": check.value(line, "shift_end", row["shift_end"], _clock),
        }
        check.unique(line, (row["day"], row["role"], row["username"], row["shift_start"]))
        out.append(values)
    check.done()
    return out


def check_settings(rows: list[Row]) -> list[dict[str, Any]]:
    """Return settings rows (系统参数); names must be known and values must parse."""
    check, out = Checker(), []
    for line, row in rows:
        if row["name"] not in SETTINGS:
            check.fail(line, f"unknown setting {row['name']!r}; known: {', '.join(sorted(SETTINGS))}",
                       Problem("unknown_setting", "name", row["name"]))
        else:
            check.value(line, "value", row["value"], partial(parse_setting, row["name"]))
        note = check.value(line, "note", row["note"], _text(200, required=False))
        check.unique(line, (row["name"],))
        out.append({"name": row["name"], "value": row["value"], "note": note or ""})
    check.done()
    return out


def check_rows(kind: str, rows: list[Row], known: Known) -> list[dict[str, Any]]:
    """Validate the rows of a table kind (all but calendar) and return them typed."""
    checks: Mapping[str, Callable[[list[Row]], list[dict[str, Any]]]] = {
        "sla": check_sla, "catalogue": lambda r: check_catalogue(r, known),
        "departments": lambda r: check_departments(r, known), "roster": check_roster, "settings": check_settings}
    return checks[kind](rows)


def check_year(days: Mapping[date, tuple[bool, str]], year: int) -> None:
    """Refuse a year with implausibly few working days (a broken file)."""
    count = sum(1 for workday, _ in days.values() if workday)
    if count < MIN_WORKDAYS_A_YEAR:
        raise ImportRejected([f"{year} would have only {count} working days; check the is_workday column"],
                             [Problem("too_few_workdays", "is_workday", str(count))])
