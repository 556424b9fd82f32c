"""The instance list (流程实例): search by process, version, status, case number and dates, keyset-paged.

Supervisors, duty leaders and leaders see every instance; a unit's handler only those of cases it may open
(access.case_filter). A filter value the list cannot use answers 400 with the field named.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from processes.monitoring import instances
from webapp.casework import viewer
from webapp.context import runtime
from webapp.messages import N_
from webapp.monitor import bp

STATUS_LABELS = {"running": N_("运行中（有待办）"), "waiting": N_("等待中（定时或消息）"), "error": N_("故障"),
                 "suspended": N_("已挂起"), "completed": N_("已完成"), "terminated": N_("已终止")}
FIELD_LABELS = {"key": N_("流程"), "version": N_("版本"), "status": N_("状态"), "number": N_("工单编号"),
                "created_from": N_("创建日期从"), "created_to": N_("创建日期至"), "updated_from": N_("更新日期从"),
                "updated_to": N_("更新日期至"), "after": N_("翻页位置")}
FILTERS = ("key", "version", "status", "number", "created_from", "created_to", "updated_from", "updated_to")


def instance_url(instance_id: str) -> str | None:
    """The instance page (流程图) when the app has it, else None (the list then shows the id without a link)."""
    if "monitor.instance" not in current_app.view_functions:
        return None
    return url_for("monitor.instance", instance_id=instance_id)


@bp.get("/instances", endpoint="instances")
def instances_page() -> ResponseReturnValue:
    """Search instances in the viewer's reach, newest first, one page after the `after` cursor."""
    args = {name: request.args.get(name, "") for name in (*FILTERS, "after")}
    try:
        filters = instances.parse(args)
    except instances.BadFilter as bad:
        abort(400, description=gettext("筛选条件不正确：%(fields)s", fields=gettext(FIELD_LABELS[bad.field])))
    with runtime().read() as db:
        page = instances.search(db, filters, viewer())
        keys = instances.process_keys(db)
    kept: dict[str, Any] = {name: args[name] for name in FILTERS if args[name]}
    return render_template("monitor/instances.html", page=page, filters=args, keys=keys, statuses=STATUS_LABELS,
                           instance_url=instance_url, first_url=url_for("monitor.instances", **kept),
                           next_url=url_for("monitor.instances", **kept, after=page.next_after)
                           if page.next_after else None, paged=bool(args["after"]))
