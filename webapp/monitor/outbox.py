"""The outbox page (消息): messages leaving the system, with filters, keyset paging and resend of a failed one.

Supervisors, duty leaders and leaders watch delivery; transcribers see whether write-backs to the upstream platform
left. Content and errors are masked as the case page masks free text (processes/monitoring/outbox_log.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from flask import abort
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.monitoring import outbox_log
from processes.monitoring.outbox_log import LogFilter
from processes.runtime import outbox
from processes.runtime import outbox_text
from webapp.casework import record
from webapp.casework import viewer
from webapp.context import runtime
from webapp.messages import N_
from webapp.monitor import bp
from webapp.params import positive_int
from webapp.permissions import wants_json
from webapp.timefmt import LOCAL
from webapp.workspace import audit_failure
from webapp.workspace import done
from webapp.workspace import error_page
from webapp.workspace import is_htmx
from webapp.workspace import refused

FILTERS = ("channel", "status", "number", "date_from", "date_to")
NUMBER_RE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
MAX_ID = 2**31 - 1  # outbox ids are 32-bit integers; a larger cursor is a bad address, not a database error
CHANNELS = {"sms": N_("短信"), "upstream": N_("上级平台"), "police110": N_("110联动"), "township": N_("街道乡镇"),
            "internal": N_("内部通知")}
STATUSES = {"pending": N_("待发送"), "claimed": N_("发送中"), "delivered": N_("已发送"), "failed": N_("发送失败")}
FIELD_NAMES = {"channel": N_("渠道"), "status": N_("状态"), "number": N_("工单编号"), "date_from": N_("开始日期"),
               "date_to": N_("结束日期"), "before": N_("页码")}
NOT_FAILED = N_("该消息已不是发送失败状态（可能已被他人重发或已送达），请刷新页面。")
NOT_FOUND = N_("消息不存在，或您无权查看。")


def _day(text: str) -> date | None:
    """A YYYY-MM-DD Beijing calendar day; ValueError for anything else."""
    day = date.fromisoformat(text)
    if not 2000 <= day.year <= 2100:
        raise ValueError(text)
    return day


def _midnight(day: date | None, *, after: bool = False) -> datetime | None:
    """The start of a Beijing day (or of the day after it, for an end date included)."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1) if after else day, time(0), LOCAL)


def read_filter(args: Mapping[str, str]) -> LogFilter:
    """The log's filters from the address; a value outside the lists, a bad date or cursor answers 400."""
    raw = {name: str(args.get(name, "")).strip() for name in (*FILTERS, "before")}
    bad: list[str] = []
    if raw["channel"] and raw["channel"] not in outbox_log.CHANNELS:
        bad.append("channel")
    if raw["status"] and raw["status"] not in outbox_log.STATUSES:
        bad.append("status")
    if raw["number"] and not NUMBER_RE.match(raw["number"]):
        bad.append("number")
    days: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        try:
            days[name] = _day(raw[name]) if raw[name] else None
        except ValueError:
            bad.append(name)
    first, last = days.get("date_from"), days.get("date_to")
    if first and last and first > last:
        bad.append("date_to")
    before = positive_int(raw["before"], MAX_ID)
    if raw["before"] and before is None:
        bad.append("before")
    if bad:
        abort(400, description=gettext("筛选条件不正确：%(fields)s",
                                       fields="、".join(gettext(FIELD_NAMES[name]) for name in bad)))
    return LogFilter(raw["channel"], raw["status"], raw["number"].upper(), _midnight(first),
                     _midnight(last, after=True), before)


@bp.get("/outbox", endpoint="outbox")
def outbox_page() -> ResponseReturnValue:
    """List the messages leaving the system, newest first, 50 a page, within the filters."""
    flt = read_filter(request.args)
    with runtime().read() as db:
        entries, after = outbox_log.page(db, viewer(), flt)
        failed = outbox_log.failed_count(db)
    filters = {name: request.args.get(name, "").strip() for name in FILTERS}
    kept: dict[str, Any] = {k: v for k, v in filters.items() if v}
    return render_template("monitor/outbox.html", entries=entries, filters=filters, failed=failed,
                           channels=CHANNELS, statuses=STATUSES, kinds=outbox_text.KIND_NAMES,
                           next_url=url_for("monitor.outbox", before=after, **kept) if after else None,
                           first_url=url_for("monitor.outbox", **kept) if flt.before else None,
                           here=request.full_path.rstrip("?"))


@bp.post(f"/outbox/<int(max={MAX_ID}):message_id>/resend")
def outbox_resend(message_id: int) -> ResponseReturnValue:
    """Queue a failed message again (重发), audited; 409 when it is no longer failed."""
    rt, who = runtime(), viewer()
    back = url_for("monitor.outbox")
    with rt.read() as db:
        entry = outbox_log.find(db, who, message_id)
    if entry is None:
        return _refuse(gettext(NOT_FOUND), 404, back)
    detail: dict[str, Any] = {"case": entry.case_number, "channel": entry.message.channel,
                              "kind": entry.message.kind, "attempts": entry.message.attempts}

    def audit(db: Session) -> None:
        record(db, "outbox.resend", object_type="outbox", object_id=str(message_id),
               before={"status": "failed"}, after={"status": "pending"}, **detail)

    if not outbox.resend(rt, message_id, also=audit):
        with rt.write() as db:
            audit_failure(db, "outbox.resend", "outbox", str(message_id), "Conflict", **detail)
        return _refuse(gettext(NOT_FAILED), 409, back)
    return done(gettext("已重新排队发送：消息 %(id)s", id=message_id), back)


def _refuse(message: str, status: int, back: str) -> ResponseReturnValue:
    """A refused resend keeps its status for every caller: a fragment, JSON, or the error page."""
    if is_htmx() or wants_json():
        return refused(message, status, back)
    return error_page(message, status)
