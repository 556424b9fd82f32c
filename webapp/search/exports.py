"""Case-list exports (工单导出) as CSV or Excel: small ones at once, long ones as background jobs with progress.

Always masked (诉求人 王** 138****5678, confidential requesters hidden from units): a list leaves the system as a
file, so it carries no more personal data than the search page shows; a full value is seen case by case through
the audited reveal. Every request and every download is an audit row, written before the file leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import get_locale
from flask_babel import gettext
from flask_login import current_user

from handlers.casework import FINISHED
from processes.accounts import pii
from processes.accounts.models import AppUser
from processes.accounts.models import UserRole
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.reports import exports as jobs
from processes.reports.models import ExportJob
from processes.reports.tables import csv_bytes
from processes.reports.tables import xlsx_bytes
from webapp import casework
from webapp import labels
from webapp import runtime_of
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.search import bp
from webapp.search import query
from webapp.search.criteria import FIELDS
from webapp.search.criteria import Criteria
from webapp.search.criteria import read_criteria
from webapp.search.views import SEALED
from webapp.search.views import _choices
from webapp.search.views import _page
from webapp.search.views import _read
from webapp.search.views import _values
from webapp.timefmt import LOCAL

HEADERS = (N_("工单编号"), N_("登记时间"), N_("渠道"), N_("类别"), N_("乡镇（街道）"), N_("状态"), N_("主办单位"),
           N_("截止时间"), N_("时限情况"), N_("诉求人"))
WIDTHS = (18, 17, 8, 14, 12, 10, 18, 26, 16, 18)
BATCH = 500
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
TOO_MANY = N_("符合条件的工单有 %(count)s 件，超过导出上限 %(limit)s 件，请缩小查询范围。")
NO_LONGER_ALLOWED = "requester may no longer export"


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


def cells(row: query.Row) -> tuple[str, ...]:
    """Return one exported row (masked requester)."""
    return (row.number, row.created, gettext(labels.CHANNELS.get(row.channel, row.channel)), row.category,
            row.township, gettext(labels.STATUSES.get(row.status, row.status)), row.lead, *deadline_cells(row),
            row.requester)


def render_file(file_format: str, rows: Iterator[tuple[str, ...]], at: datetime) -> tuple[bytes, str]:
    """Return the file's bytes and its name (cases-YYYYMMDD-HHMMSS.csv or .xlsx)."""
    headers = [gettext(h) for h in HEADERS]
    name = f"cases-{at.astimezone(LOCAL):%Y%m%d-%H%M%S}.{file_format}"
    if file_format == "xlsx":
        return xlsx_bytes(gettext("工单"), headers, rows, WIDTHS), name
    return csv_bytes(headers, rows), name


def matching_ids(db: sa.orm.Session, criteria: Criteria, viewer: Viewer, at: datetime, limit: int) -> list[str]:
    """Return the ids of the matching cases in the search's order (newest first, or by deadline)."""
    ids = sa.select(Case.id).where(*query.conditions(criteria, viewer, at))
    if criteria.sort == "deadline":
        due = sa.case((Case.status.in_(FINISHED), None), else_=query.due_expr())
        ids = ids.order_by(due.is_(None), due)
    return list(db.scalars(ids.order_by(Case.created_at.desc(), Case.number.desc()).limit(limit)))


def export_rows(viewer: Viewer, ids: list[str], at: datetime,
                report: jobs.Progress | None = None) -> Iterator[tuple[str, ...]]:
    """Yield the rows of these cases batch by batch, reporting progress after each batch."""
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        with runtime().read() as db:
            found = {c.id: c for c in db.scalars(sa.select(Case).where(Case.id.in_(batch)))}
            rows = query.rows(db, viewer, [found[i] for i in batch if i in found], _choices()["units"], at)
        yield from (cells(row) for row in rows)
        if report is not None:
            report(start + len(batch), len(ids))


def _format() -> str:
    chosen = request.form.get("format", "csv")
    if chosen not in jobs.FORMATS:
        abort(400)
    return chosen


@bp.post("/export")
def export() -> ResponseReturnValue:
    """Export the matching cases (CSV or Excel, masked, formula-safe): at once, or as a background job."""
    file_format = _format()
    choices = _choices()
    criteria, errors = _read(choices)
    if errors:
        return _page(400, errors=errors, searched=False, **choices)
    viewer, at = casework.viewer(), now()
    limit, inline = int(current_app.config["EXPORT_MAX_ROWS"]), int(current_app.config["EXPORT_INLINE_ROWS"])
    with runtime().read() as db:
        total = query.count(db, criteria, viewer, at)
        ids = matching_ids(db, criteria, viewer, at, inline) if total <= inline else []
    if total > limit:
        return _page(400, errors={"export": gettext(TOO_MANY, count=total, limit=limit)}, searched=False, **choices)
    if total > inline:
        return _queue(file_format, criteria, total)
    content, name = render_file(file_format, export_rows(viewer, ids, at), at)
    # Audited before the file leaves: if the audit row cannot be written, nothing is exported (fail closed).
    with runtime().write() as db, db.begin():
        casework.record(db, "case.export", object_type="case", object_id=None, rows=len(ids), truncated=False,
                        criteria=criteria.used(), masked=True, format=file_format)
    return Response(content, mimetype=MIME[file_format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _queue(file_format: str, criteria: Criteria, total: int) -> ResponseReturnValue:
    """Record a background export (the phone only sealed) and its audit row together; show its progress page."""
    typed = {name: str(_values().get(name, "")) for name in FIELDS}
    if typed["phone"]:
        typed[SEALED] = pii.cipher().encrypt(SEALED, pii.normalise_phone(typed["phone"])) or ""
    typed["phone"] = ""
    typed["_lang"] = str(get_locale() or "zh")
    with runtime().write() as db, db.begin():
        job = jobs.request(db, requested_by=current_user.username, file_format=file_format, criteria=typed,
                           rows_total=total, now=now())
        casework.record(db, "case.export_requested", object_type="export_job", object_id=job.id, rows=total,
                        criteria=criteria.used(), masked=True, format=file_format)
    return redirect(url_for("search.export_job", job_id=job.id), 303)


def _mine(job_id: str) -> ExportJob:
    with runtime().read() as db:
        job = jobs.for_requester(db, job_id, current_user.username)
    if job is None:
        abort(404)  # someone else's export, or none: the same answer
    return job


@bp.get("/exports/<job_id>")
def export_job(job_id: str) -> ResponseReturnValue:
    """Show a background export: progress while it runs (htmx polls), the download once done."""
    return render_template("search/export_job.html", job=_mine(job_id), now=now())


@bp.get("/exports/<job_id>/progress")
def export_progress(job_id: str) -> ResponseReturnValue:
    """Return the progress block of a background export (polled every 2 seconds while it runs)."""
    return render_template("search/_export_progress.html", job=_mine(job_id), now=now())


@bp.get("/exports/<job_id>/download")
def export_download(job_id: str) -> ResponseReturnValue:
    """Download a finished export: only its requester, only while it is kept; audited before it leaves."""
    job = _mine(job_id)
    if job.status != "done" or job.content is None or (job.expires_at is not None and job.expires_at <= now()):
        abort(404)
    with runtime().write() as db, db.begin():
        casework.record(db, "case.export_download", object_type="export_job", object_id=job.id,
                        rows=job.rows_total, format=job.file_format)
    return Response(job.content, mimetype=MIME[job.file_format],
                    headers={"Content-Disposition": f'attachment; filename="{job.file_name}"'})


def requester_viewer(username: str) -> Viewer:
    """Return the requester as the object rules see them now; refuse one disabled or no longer allowed to export."""
    with runtime().read() as db:
        user = db.scalar(sa.select(AppUser).where(AppUser.username == username))
        roles = frozenset(db.scalars(sa.select(UserRole.role).where(UserRole.user_id == user.id))) if user else None
    if user is None or not user.active or not roles or not allowed(RULES.get("search.export"), signed_in=True,
                                                                   roles=roles):
        raise PermissionError(NO_LONGER_ALLOWED)
    return Viewer(user.username, roles, user.department)


def build(job: ExportJob, report: jobs.Progress) -> tuple[bytes, str]:
    """Build a background export's file, as its requester would see the rows now (run by a scheduler)."""
    viewer = requester_viewer(job.requested_by)
    values = {name: str(value) for name, value in job.criteria.items()}
    lang = values.pop("_lang", "zh")
    if values.get(SEALED):
        try:
            values["phone"] = pii.cipher().decrypt(SEALED, values.pop(SEALED)) or ""
        except (ValueError, pii.PiiKeyError) as exc:  # the key was rotated away: the search cannot be repeated
            raise PermissionError("sealed phone unreadable") from exc
    with force_locale(lang):
        choices = _choices()
        criteria, errors = read_criteria(values, phone_allowed=True,
                                         townships={c for c, _ in choices["townships"]},
                                         departments={c for c, _ in choices["departments"]})
        if errors:  # a township or unit removed since: say so rather than export a different list
            raise PermissionError(f"criteria no longer valid: {sorted(errors)}")
        at = now()
        with runtime().read() as db:
            ids = matching_ids(db, criteria, viewer, at, int(current_app.config["EXPORT_MAX_ROWS"]))
        report(0, len(ids))
        return render_file(job.file_format, export_rows(viewer, ids, at, report), at)


def run_waiting(app: Flask, owner: str) -> int:
    """Run the waiting background exports one after another (a scheduler's periodic job); return how many."""
    rt = runtime_of(app)
    lease = timedelta(seconds=float(app.config["SCHEDULER_LEASE_SECONDS"]))
    keep = timedelta(hours=float(app.config["EXPORT_KEEP_HOURS"]))
    count = 0
    with app.app_context():
        jobs.expire(rt)
        while jobs.run_one(rt, owner, build, lease=lease, keep=keep) is not None:
            count += 1
    return count
