"""Pages of the order import (上级工单导入): upload a file, watch its progress, read and download its report.

Per-row import with a complete report: each readable row is registered or refused on its own, and the report
lists every row (created, duplicate, refused with its reason). A file that cannot be read at all (format,
encoding, size, row count, no order-number column) is refused before anything is registered.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from processes.cases.upstream_order import ALIASES
from processes.exchange import import_jobs
from processes.exchange import platform_import
from processes.exchange.models import PlatformImport
from processes.exchange.platform_import import EXTRA_ALIASES
from processes.reports.tables import csv_bytes
from webapp import casework
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.platform import bp
from webapp.platform.orders import CREATED
from webapp.platform.runner import limits
from webapp.timefmt import local_time

STATUSES = {"pending": N_("排队中"), "running": N_("导入中"), "done": N_("已完成"), "failed": N_("失败")}
OUTCOMES = {"created": N_("已登记"), "duplicate": N_("重复"), "refused": N_("未导入")}
REPORT_HEADERS = (N_("行号"), N_("工单编号"), N_("结果"), N_("原因"), N_("本系统工单编号"))
NO_FILE = N_("请选择要导入的文件。")
SHOWN_ROWS = 2000  # rows of a report drawn on the page; the CSV has them all


@bp.context_processor
def helpers() -> dict[str, Any]:
    """Give the import templates Beijing times and the Chinese names of job states."""
    return {"local_time": local_time, "statuses": STATUSES}


@bp.get("")
def index() -> ResponseReturnValue:
    """Show the upload form, what a file may hold, and this user's latest imports."""
    return _index(200, "")


def _index(status: int, error: str) -> ResponseReturnValue:
    max_bytes, max_rows = limits(current_app)
    with runtime().read() as db:
        jobs = import_jobs.recent(db, current_user.username)
    return render_template("platform/index.html", jobs=jobs, error=error, max_mb=max_bytes // 1048576,
                           max_rows=max_rows, aliases=_columns()), status


@bp.post("/imports")
def upload() -> ResponseReturnValue:
    """Check an uploaded file at once (format, encoding, size, rows) and queue its import; 400 with the reason."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _index(400, gettext(NO_FILE))
    max_bytes, max_rows = limits(current_app)
    try:
        content = upload.stream.read(max_bytes + 1)
    finally:
        upload.close()  # a large upload is spooled to a temporary file: release it now
    try:
        source = platform_import.open_file(upload.filename, content, max_bytes=max_bytes, max_rows=max_rows)
    except platform_import.FileRefused as exc:
        return _index(400, str(exc))
    notes = [f"编码：{source.encoding}"] if source.encoding else []
    with runtime().write() as db, db.begin():
        job = import_jobs.request(db, requested_by=current_user.username, file_name=upload.filename,
                                  file_format=source.file_format, encoding=source.encoding, content=content,
                                  rows_total=source.total, notes=notes, now=now())
        casework.record(db, "platform.import_requested", object_type="platform_import", object_id=job.id,
                        rows=source.total, format=source.file_format, encoding=source.encoding or None)
    return redirect(url_for("platform.job", job_id=job.id), 303)


def _mine(job_id: str) -> PlatformImport:
    with runtime().read() as db:
        job = import_jobs.for_requester(db, job_id[:36], current_user.username)
    if job is None:
        abort(404)  # someone else's import, or none: the same answer
    return job


@bp.get("/imports/<job_id>")
def job(job_id: str) -> ResponseReturnValue:
    """Show an import: progress while it runs (htmx polls), then every row that was not registered."""
    found = _mine(job_id)
    rows = [r for r in found.report if r[2] != CREATED][:SHOWN_ROWS]
    return render_template("platform/job.html", job=found, rows=rows, outcomes=OUTCOMES, shown=SHOWN_ROWS)


@bp.get("/imports/<job_id>/progress")
def progress(job_id: str) -> ResponseReturnValue:
    """Return the progress block of an import (polled every 2 seconds while it waits or runs)."""
    found = _mine(job_id)
    return render_template("platform/_progress.html", job=found)


@bp.get("/imports/<job_id>/report.csv")
def report(job_id: str) -> ResponseReturnValue:
    """Download the full per-row report as CSV (row, order number, outcome, reason, case): no personal data."""
    found = _mine(job_id)
    if found.status != "done":
        abort(404)
    rows = ((r[0], r[1], gettext(OUTCOMES.get(r[2], r[2])), r[3], r[4]) for r in found.report)
    content = csv_bytes([gettext(h) for h in REPORT_HEADERS], rows)
    return Response(content, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{found.id[:8]}-report.csv"'})


def _columns() -> list[tuple[str, str]]:
    """The column names a file may use, by intake field (shown on the page): the first, then some others."""
    return [(labels[0], "、".join(labels[1:5])) for labels in (*ALIASES.values(), *EXTRA_ALIASES.values())]
