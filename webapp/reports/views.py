"""The reports page (/reports): stored 周报 and 月度分析报告 in the user's reach, made on demand, downloaded."""

from __future__ import annotations

from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from processes.reports import content
from processes.reports import store
from processes.reports.content import KINDS
from processes.reports.content import OFFICE
from processes.reports.pdf import ReportFontMissing
from webapp import casework
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.reports import bp
from webapp.reports.common import default_scope
from webapp.reports.common import font
from webapp.reports.common import may_read
from webapp.reports.common import names
from webapp.reports.common import scopes
from webapp.timefmt import local_time
from webapp.workspace import unit_names

MIME = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
KIND_LABELS = {"weekly": N_("周报"), "monthly": N_("月度分析报告")}
BAD_PERIOD = N_("统计周期格式不正确：周报如 2026-W48，月报如 2026-11。")
FUTURE = N_("统计周期尚未开始。")
MADE = N_("报表已生成。")


def last_periods() -> dict[str, str]:
    """Return the keys of last week and last month (what the scheduler makes), to prefill the form."""
    today = now().date()
    return {kind: content.period_key(kind, content.previous_of(kind, content.period_of(kind, today)))
            for kind in KINDS}


def _page(status: int = 200, **context: object) -> ResponseReturnValue:
    with runtime().read() as db:
        listed = store.listing(db, scopes())
        units = unit_names(db)
    choices = ([(OFFICE, gettext("全区")), *units.items()]
               if scopes() is None else [(default_scope(), units.get(default_scope(), default_scope()))])
    return render_template("reports/index.html", listed=listed, units=units, kinds=KIND_LABELS, choices=choices,
                           last=last_periods(), office=OFFICE, local_time=local_time, **context), status


@bp.get("")
def index() -> ResponseReturnValue:
    """List the stored reports in the user's reach and offer to make one."""
    return _page(errors={})


@bp.post("/generate")
def generate() -> ResponseReturnValue:
    """Make a report of a past or current period for a scope in the user's reach (both formats), audited."""
    kind, key, scope = (request.form.get(n, "").strip() for n in ("kind", "period", "scope"))
    if kind not in KINDS:
        abort(400)
    if not may_read(scope):
        abort(404)
    try:
        period = content.parse_period(kind, key)
    except ValueError:
        return _page(400, errors={"period": gettext(BAD_PERIOD)})
    if period.start > now().date():
        return _page(400, errors={"period": gettext(FUTURE)})
    try:
        with runtime().read() as db:
            files = store.render(db, kind, period, scope, names(db), font(), now())
    except ReportFontMissing as exc:
        return _page(503, errors={"font": str(exc)})
    key = content.period_key(kind, period)
    with runtime().write() as db, db.begin():
        ids = store.save(db, kind, key, scope, files, by=casework.viewer().username, now=now())
        casework.record(db, "report.generate", object_type="report", object_id=",".join(ids), kind=kind,
                        period=key, scope=scope)
    flash(gettext(MADE), "success")
    return redirect(url_for("reports.index"), 303)


@bp.get("/<report_id>/download")
def download(report_id: str) -> ResponseReturnValue:
    """Download a stored report in the user's reach (another unit's answers 404); audited before it leaves."""
    with runtime().read() as db:
        found = store.fetch(db, report_id, scopes())
    if found is None:
        abort(404)
    with runtime().write() as db, db.begin():
        casework.record(db, "report.download", object_type="report", object_id=found.id, kind=found.kind,
                        period=found.period, scope=found.scope, format=found.file_format)
    name = f"{found.kind}-{found.period}-{found.scope}.{found.file_format}"
    return Response(found.content, mimetype=MIME[found.file_format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

