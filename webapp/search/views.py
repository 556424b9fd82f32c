"""Case search (工单查询) and its CSV export: every query inside the user's reach, phones by POST only, audited."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import Any

from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from handlers.casework import FINISHED
from processes.accounts import pii
from webapp import casework
from webapp import labels
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.schemaforms.choices import pairs
from webapp.search import bp
from webapp.search import query
from webapp.search.criteria import FIELDS
from webapp.search.criteria import Criteria
from webapp.search.criteria import read_criteria
from webapp.search.lights import LIGHT_LABELS
from webapp.search.lights import SORT_LABELS
from webapp.search.lights import SOURCE_LABELS
from webapp.search.lights import TASK_STAGES
from webapp.timefmt import LOCAL
from webapp.workspace import unit_names

MAX_EXPORT = 5000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these cells as formulas
GROUP_LABELS = {"open": N_("办理中（全部未办结）"), "finished": N_("已办结（全部）")}
HEADERS = (N_("工单编号"), N_("登记时间"), N_("渠道"), N_("类别"), N_("乡镇（街道）"), N_("状态"), N_("主办单位"),
           N_("截止时间"), N_("时限情况"), N_("诉求人"))


SEALED = "phone_sealed"  # the searched number, encrypted, so paging keeps it without the page showing it


def _values() -> Mapping[str, str]:
    """The submitted criteria; a sealed phone from the previous page counts as typed when the field is empty."""
    values = request.form if request.method == "POST" else request.args
    if request.method != "POST" or values.get("phone") or not values.get(SEALED):
        return values
    try:
        phone = pii.cipher().decrypt(SEALED, values[SEALED]) or ""
    except (ValueError, pii.PiiKeyError):
        phone = ""  # altered or from another key: as if no number was given
    return {**values.to_dict(), "phone": phone}


def _phone_echo(typed: dict[str, str]) -> dict[str, str]:
    """Keep a full number out of the page (S4.3): the field stays empty, a sealed copy and a mask stand in."""
    phone = pii.normalise_phone(typed.get("phone"))
    if len(phone) <= 4:
        return {}
    typed["phone"] = ""
    return {"sealed": pii.cipher().encrypt(SEALED, phone) or "", "masked": pii.mask_phone(phone)}


def _choices() -> dict[str, Any]:
    """The select lists of the search form and the unit names of the results."""
    with runtime().read() as db:
        return {"townships": pairs(db, "townships"), "departments": pairs(db, "departments"),
                "units": unit_names(db)}


def _read(choices: dict[str, Any]) -> tuple[Criteria, dict[str, str]]:
    return read_criteria(_values(), phone_allowed=request.method == "POST",
                         townships={code for code, _ in choices["townships"]},
                         departments={code for code, _ in choices["departments"]})


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    typed = {name: str(_values().get(name, "")) for name in FIELDS}
    searched_phone = _phone_echo(typed)
    stage = typed["stage"]
    may_export = allowed(RULES.get("search.export"), signed_in=True, roles=current_user.roles)
    return render_template("search/index.html", typed=typed, may_export=may_export, labels=labels,
                           groups=GROUP_LABELS, lights=LIGHT_LABELS, sorts=SORT_LABELS, sources=SOURCE_LABELS,
                           stage_label=gettext(TASK_STAGES.get(stage, "")) if stage in TASK_STAGES else "",
                           searched_phone=searched_phone, **context), status


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    """Show the search form and, once asked, one page of matching cases (20 a page)."""
    choices = _choices()
    if request.method == "GET" and not any(request.args.get(name) for name in (*FIELDS, "page")):
        return _page(errors={}, searched=False, **choices)
    criteria, errors = _read(choices)
    if errors:
        return _page(400, errors=errors, searched=False, **choices)
    viewer = casework.viewer()
    with runtime().read() as db:
        if criteria.phone_mode and casework.phone_lookups_exhausted(db):
            abort(429)
        at = now()
        total = query.count(db, criteria, viewer, at)
        found = query.cases(db, criteria, viewer, limit=query.PAGE_SIZE,
                            offset=(criteria.page - 1) * query.PAGE_SIZE, now=at)
        rows = query.rows(db, viewer, found, choices["units"], at)
    if criteria.phone_mode:  # who searched by phone and how much they found; never the number
        with runtime().write() as db, db.begin():
            casework.record(db, "case.search_by_phone", object_type="case", object_id=None, count=total,
                            mode=criteria.phone_mode, criteria=criteria.used())
    pages = max(1, math.ceil(total / query.PAGE_SIZE))
    return _page(errors={}, searched=True, rows=rows, total=total, page=criteria.page, pages=pages, **choices)


def neutral(value: str) -> str:
    """Return a CSV cell a spreadsheet shows as text: a leading = + - @ tab or CR gets a quote mark."""
    return "'" + value if value.startswith(FORMULA_START) else value


@bp.post("/export")
def export() -> ResponseReturnValue:
    """Download the matching cases as CSV (masked requester, formula-safe cells, at most 5000 rows), audited."""
    choices = _choices()
    criteria, errors = _read(choices)
    if errors:
        return _page(400, errors=errors, searched=False, **choices)
    viewer = casework.viewer()
    with runtime().read() as db:
        at = now()
        found = query.cases(db, criteria, viewer, limit=MAX_EXPORT + 1, now=at)
        rows = query.rows(db, viewer, found[:MAX_EXPORT], choices["units"], at)
    # Audited before the file leaves: if the audit row cannot be written, nothing is exported (fail closed).
    with runtime().write() as db, db.begin():
        casework.record(db, "case.export", object_type="case", object_id=None, rows=len(rows),
                        truncated=len(found) > MAX_EXPORT, criteria=criteria.used(), masked=True)
    return Response(_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="cases-{now():%Y%m%d-%H%M%S}.csv"'})


def deadline_cells(row: query.Row) -> tuple[str, str]:
    """Return the deadline as an ISO date-time in Beijing time and where it stood when exported.

    Never a countdown: a file is read days later. A finished case gives its verdict (按时 / 超期 N天M小时), an open
    one 未到期 or how long it is overdue at export time.
    """
    due = row.due.astimezone(LOCAL).isoformat(timespec="seconds") if row.due is not None else ""
    shown = row.deadline
    if shown is None:
        return due, ""
    if row.status in FINISHED or shown.seconds is None or shown.seconds < 0:
        return due, shown.text
    return due, str(gettext("未到期"))


def _csv(rows: list[query.Row]) -> str:
    """Return the rows as CSV text with a BOM (spreadsheets then read it as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([gettext(h) for h in HEADERS])
    for row in rows:
        writer.writerow([neutral(v) for v in (
            row.number, row.created, gettext(labels.CHANNELS.get(row.channel, row.channel)), row.category,
            row.township, gettext(labels.STATUSES.get(row.status, row.status)), row.lead,
            *deadline_cells(row), row.requester)])
    return "\ufeff" + out.getvalue()
