"""Read models of the audit log pages: filters from the query string, newest-first keyset pages, masking, the
chain's status."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from typing import cast

import sqlalchemy as sa
from sqlalchemy import Connection

from processes.audit import record as audit
from processes.audit.models import AuditLog
from processes.audit.record import read_head
from processes.cases.numbers import mask_numbers
from webapp.messages import N_
from webapp.params import positive_int
from webapp.timefmt import LOCAL

PAGE_SIZE = 50
LOG = cast(sa.Table, AuditLog.__table__)
# Text filters: query argument -> (column, longest value accepted).
TEXT_FILTERS = {"actor": ("actor", 64), "action": ("action", 64), "object_type": ("object_type", 32),
                "object_id": ("object_id", 64), "request_id": ("request_id", 64)}
# Identifiers whose digits are not personal data (UUIDs, hex digests): never masked, as processes.audit.record
# accepts them.
_IDENTIFIER = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=\d*[a-f])[0-9a-f]{32,128}")


@dataclass
class AuditFilter:
    """The list's filters; `errors` names each bad field (answered with 400)."""

    values: dict[str, str] = field(default_factory=dict)  # as given, for the form and the paging links
    start: datetime | None = None  # UTC, included
    end: datetime | None = None  # UTC, excluded (the day after the last day given)
    before: int | None = None  # keyset: rows with a smaller id (the next page)
    errors: dict[str, str] = field(default_factory=dict)

    def used(self) -> list[str]:
        """Return the names of the filters in use (what the audit row of a view records, never their values)."""
        return sorted(name for name, value in self.values.items() if value)

    def args(self, **change: Any) -> dict[str, Any]:
        """Return the filters as query arguments, with some changed (None drops one)."""
        merged: dict[str, Any] = {**{k: v for k, v in self.values.items() if v}, **change}
        return {k: v for k, v in merged.items() if v is not None}


def _local_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def parse_filter(args: Mapping[str, str]) -> AuditFilter:
    """Read the filters: texts, result, a date range in Beijing time (both days included), the keyset cursor."""
    found = AuditFilter()
    for name, (_column, width) in TEXT_FILTERS.items():
        value = args.get(name, "").strip()
        found.values[name] = value
        if len(value) > width:
            found.errors[name] = N_("内容过长。")
    result = args.get("result", "").strip()
    found.values["result"] = result
    if result and result not in audit.RESULTS:
        found.errors["result"] = N_("未知结果。")
    for name in ("from", "to"):
        text = args.get(name, "").strip()
        found.values[name] = text
        day = _local_day(text) if text else None
        if text and day is None:
            found.errors[name] = N_("日期格式应为 YYYY-MM-DD。")
        elif day is not None:
            moment = datetime.combine(day + timedelta(days=1 if name == "to" else 0), time(), LOCAL)
            setattr(found, "start" if name == "from" else "end", moment)
    if found.start and found.end and found.start >= found.end:
        found.errors["to"] = N_("结束日期不能早于开始日期。")
    before = args.get("before", "").strip()
    if before and positive_int(before) is None:
        found.errors["before"] = N_("页码无效。")
    elif before:
        found.before = positive_int(before)
    return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(flt: AuditFilter) -> sa.Select[Any]:
    """Return the query of the rows the filters match (no order, no keyset)."""
    query = sa.select(LOG)
    for name, (column, _width) in TEXT_FILTERS.items():
        value = flt.values.get(name)
        if not value:
            continue
        if name == "action":  # a prefix: "user." finds every account action
            query = query.where(LOG.c.action.like(_escape_like(value) + "%", escape="\\"))
        else:
            query = query.where(LOG.c[column] == value)
    if flt.values.get("result"):
        query = query.where(LOG.c.result == flt.values["result"])
    if flt.start is not None:
        query = query.where(LOG.c.at >= flt.start)
    if flt.end is not None:
        query = query.where(LOG.c.at < flt.end)
    return query


def page(conn: Connection, flt: AuditFilter) -> tuple[list[dict[str, Any]], int | None]:
    """Return one page of rows, newest first, and the cursor of the next page (None on the last)."""
    query = filtered(flt)
    if flt.before is not None:
        query = query.where(LOG.c.id < flt.before)
    rows = [dict(r) for r in conn.execute(query.order_by(LOG.c.id.desc()).limit(PAGE_SIZE + 1)).mappings()]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return [shown(r) for r in rows], (rows[-1]["id"] if more and rows else None)


def mask(value: Any) -> Any:
    """Return a value with anything that looks like a full phone or ID number masked (`138****1234`), recursively.

    The trail refuses such values when they are written; this is the second line, for rows written before that
    check or by hand.
    """
    if isinstance(value, str):
        if _IDENTIFIER.fullmatch(value):
            return value
        return mask_numbers(value)
    if isinstance(value, Mapping):
        return {mask(str(k)): mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    return value


def local_time(value: datetime | None, ms: bool = True) -> str:
    """Return a UTC time in Beijing time (milliseconds), or a dash."""
    if value is None:
        return "—"
    text = value.astimezone(LOCAL).isoformat(sep=" ", timespec="milliseconds" if ms else "seconds")
    return text[:-6]  # the zone is the page's (Asia/Shanghai), said in the header


def shown(row: Mapping[Any, Any]) -> dict[str, Any]:
    """Return a row as the pages show it: masked, times in Beijing time, summaries as indented JSON."""
    data = {name: mask(value) for name, value in row.items()}
    data["at_local"] = local_time(row["at"])
    data["sealed_local"] = local_time(row.get("sealed_at"))
    for name in ("before", "after", "detail"):
        data[f"{name}_json"] = (json.dumps(data[name], ensure_ascii=False, indent=2, sort_keys=True)
                                if data[name] is not None else "")
    return data


def one(conn: Connection, row_id: int) -> dict[str, Any] | None:
    """Return one row as shown, None when there is none."""
    row = conn.execute(sa.select(LOG).where(LOG.c.id == row_id)).mappings().one_or_none()
    return shown(row) if row is not None else None


def chain_status(conn: Connection) -> dict[str, Any]:
    """Return the chain's head (last sealed seq and hash), how many rows wait for the sealer, the last verify."""
    head = read_head(conn)
    unsealed = int(conn.scalar(sa.select(sa.func.count()).select_from(LOG).where(LOG.c.seq.is_(None))) or 0)
    last = conn.execute(sa.select(LOG).where(LOG.c.action == "audit.verify").order_by(LOG.c.id.desc())
                        .limit(1)).mappings().one_or_none()
    return {"seq": head.seq if head is not None else 0, "hash": head.hash if head is not None else "",
            "sealed_at": local_time(head.sealed_at if head is not None else None, ms=False),
            "checkpoint": head.checkpoint_seq if head is not None else 0, "unsealed": unsealed,
            "last_verify": shown(last) if last is not None else None}
