"""Incidents (故障): instances in error with their readable cause; retry one or many after the cause is fixed.

Each retry is its own audited command (control.retry_instance with `also=`); the answer says, per instance, whether
it runs again or is still in error, and with which cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext

from processes.cases.models import Case
from processes.errors import NotFound
from processes.errors import RuntimeErrorBase
from processes.monitoring import incidents
from processes.runtime import control
from processes.runtime.models import ProcessInstance
from webapp.auth.forms import ActionForm
from webapp.casework import record
from webapp.casework import runtime_message
from webapp.casework import viewer
from webapp.context import runtime
from webapp.monitor import bp
from webapp.monitor.instances_list import instance_url
from webapp.permissions import wants_json
from webapp.workspace import audit_failure

MAX_MANY = 100


@dataclass(frozen=True)
class Outcome:
    """What one retry came to: the instance, its case number, the new status and, still in error, the cause."""

    instance_id: str
    case_number: str | None
    status: str
    message: str


def _labels() -> dict[str, str]:
    """Labels of the service operators in the page's language, to name them in causes."""
    return {name: spec.label(str(get_locale() or "zh")) for name, spec in runtime().handlers.items()}


@bp.get("/incidents", endpoint="incidents")
def incidents_page() -> ResponseReturnValue:
    """List the instances in error: cause, failing element, case, since when, automatic retries."""
    with runtime().read() as db:
        found = incidents.listing(db, viewer(), _labels())
    return render_template("monitor/incidents.html", incidents=found, form=ActionForm(), instance_url=instance_url,
                           limit=incidents.LIMIT)



def _retry(instance_id: str) -> Outcome:
    """Retry one instance in the viewer's reach, audited; a refusal is audited as a failure."""
    rt = runtime()
    with rt.read() as db:
        row = db.execute(sa.select(ProcessInstance.id, Case.number).outerjoin(Case, Case.id == ProcessInstance.case_id)
                         .where(ProcessInstance.id == instance_id)).one_or_none()
    number = row.number if row is not None else None
    try:
        if row is None:
            raise NotFound("instance")
        status = control.retry_instance(rt, instance_id, actor=viewer().username, also=lambda conn, done: record(
            conn, "instance.retry", object_type="instance", object_id=instance_id, case=number,
            after={"status": done.status}))
    except RuntimeErrorBase as error:
        with rt.write() as db:
            audit_failure(db, "instance.retry", "instance", instance_id, type(error).__name__, case=number)
        return Outcome(instance_id, number, "refused", runtime_message(error))
    if status != "error":
        return Outcome(instance_id, number, status, gettext("已恢复运行"))
    with rt.read() as db:
        again = incidents.listing(db, viewer(), _labels(), only=[instance_id])
    cause = again[0].cause if again else ""
    return Outcome(instance_id, number, status, gettext("仍然故障：%(cause)s", cause=cause))


def _answer(outcomes: list[Outcome]) -> ResponseReturnValue:
    """Answer JSON callers with every outcome; pages get one flash per instance and go back to the list."""
    if wants_json():
        return jsonify({"results": [o.__dict__ for o in outcomes]})
    for o in outcomes:
        who = o.case_number or o.instance_id[:8]
        flash(f"{who}：{o.message}", "success" if o.status not in ("error", "refused") else "error")
    return redirect(url_for("monitor.incidents"), code=303)


@bp.post("/incidents/<instance_id>/retry")
def incident_retry(instance_id: str) -> ResponseReturnValue:
    """Retry one instance in error (重试) after its cause was fixed."""
    outcome = _retry(instance_id)
    if outcome.status == "refused" and not _exists(instance_id):
        abort(404)
    return _answer([outcome])


@bp.post("/incidents/retry")
def incidents_retry() -> ResponseReturnValue:
    """Retry every checked instance (批量重试), each in its own transaction."""
    chosen = list(dict.fromkeys(request.form.getlist("instance_id")))
    if not chosen:
        abort(400, description=gettext("请至少勾选一个故障实例。"))
    if len(chosen) > MAX_MANY or any(not i or len(i) > 36 for i in chosen):
        abort(400, description=gettext("勾选的实例不正确（一次最多 %(n)s 个）。", n=MAX_MANY))
    return _answer([_retry(instance_id) for instance_id in chosen])


def _exists(instance_id: str) -> bool:
    """Return whether the instance exists in the viewer's reach (else the answer is 404)."""
    with runtime().read() as db:
        return db.scalar(sa.select(ProcessInstance.id).where(ProcessInstance.id == instance_id)) is not None
