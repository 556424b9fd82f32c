"""Migration pages (实例迁移): the dry run of one version's instances onto the published one, and applying it.

Each moved instance writes its `instance.migrate` audit row in its own command's transaction; each refused one a
`failure` row with the reasons, in a transaction of its own (nothing of the refused move was saved).
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import Connection

from processes.cases.numbers import mask_numbers
from processes.errors import InvalidState
from processes.errors import NotFound
from processes.errors import RuntimeErrorBase
from processes.modeling import diff as diffing
from processes.modeling import migration
from processes.modeling import versions
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from webapp.casework import record
from webapp.context import runtime
from webapp.modeler import bp
from webapp.modeler import texts
from webapp.modeler.views import find
from webapp.modeler.views import may
from webapp.modeler.views import summary
from webapp.params import MAX_INT32
from webapp.params import whole_number

INSTANCE_ID = re.compile(r"[0-9a-f-]{1,36}")
MAX_REASON = 500


def _pair(process: versions.ProcessSummary, values: Any) -> tuple[int, int]:
    """The source and target versions (?from=&to=); defaults: the oldest version with instances, the published."""
    target_default = process.published.definition.version if process.published else 0
    sources = [v.definition.version for v in process.versions if v.active and v.definition.version < target_default]
    return _version(values.get("from"), min(sources) if sources else 0), _version(values.get("to"), target_default)


def _version(text: str | None, default: int) -> int:
    """Return a version number from the form or query (default when empty); `٣` or 20 digits answer 400."""
    if not text:
        return default
    version = whole_number(text, high=MAX_INT32)  # int() took `٣` as 3, and 20 digits overflowed the database
    if version is None:
        abort(400, description=gettext(texts.BAD_VERSION))
    return version


def _plans(key: str, source: int, target: int) -> list[migration.InstancePlan] | str:
    """The dry run of a pair of versions, or the message refusing the pair (not newer, not published)."""
    try:
        return migration.plan(runtime(), key, source, target)
    except NotFound:
        abort(404)
    except InvalidState:
        return str(gettext(texts.BAD_PAIR))


def step_names(key: str, source: int) -> dict[str, str]:
    """The names of the source version's elements by BPMN id, to show a step as people know it."""
    try:
        row = find(key, source)
        return {i: e.name for i, e in diffing.elements({k: str(v) for k, v in row.files.items()}).items() if e.name}
    except RuntimeErrorBase:  # a stored file the hardened parser refuses: the ids still say where it stands
        return {}


def reason_text(reason: migration.Reason) -> str:
    """Say in Chinese why an instance cannot move."""
    element = reason.element
    if reason.code == "status" and element in texts.INSTANCE_STATUS:  # a state in words, not its code
        element = str(gettext(texts.INSTANCE_STATUS[element]))
    return str(gettext(texts.REASONS.get(reason.code, reason.code), element=element))


def _page(key: str, source: int, target: int, *, results: list[migration.Moved] | None = None,
          error: str | None = None, status: int = 200) -> ResponseReturnValue:
    process = summary(key)
    found = _plans(key, source, target) if source and target else []
    if isinstance(found, str):  # a pair the form offers but cannot move between: say so on the page
        error, status, found = error or found, 400 if status == 200 else status, []
    elif not (source and target) and error is None:
        error = gettext(texts.NOTHING_TO_MIGRATE)
    return render_template("modeler/migration.html", process=process, source=source, target=target, plans=found,
                           results=results, error=error, reason_text=reason_text, may=may,
                           names=step_names(key, source) if found else {}, statuses=texts.INSTANCE_STATUS), status


@bp.get("/<key>/migrate")
def migration_plan(key: str) -> ResponseReturnValue:
    """Dry run: each instance of the source version, whether it can move to the target and why not."""
    source, target = _pair(summary(key), request.args)
    return _page(key, source, target)


def _audit_move(key: str, source: int, target: int, reason: str) -> Also:
    def write(conn: Connection, done: CommandSummary) -> None:
        record(conn, "instance.migrate", object_type="process_instance", object_id=done.instance_id, key=key,
               from_version=source, to_version=target, reason=reason)

    return write


@bp.post("/<key>/migrate")
def migrate(key: str) -> ResponseReturnValue:
    """Move the chosen instances to the target version, each in its own transaction, and show what happened."""
    source, target = _pair(summary(key), request.form)
    reason = request.form.get("reason", "").strip()
    chosen = [i for i in request.form.getlist("instance") if INSTANCE_ID.fullmatch(i)][:migration.MAX_LISTED]
    if not reason or len(reason) > MAX_REASON:
        return _page(key, source, target, error=gettext(texts.REASON_REQUIRED), status=400)
    if not chosen:
        return _page(key, source, target, error=gettext(texts.NO_INSTANCES), status=400)
    masked = mask_numbers(reason)[:200]
    try:
        results = migration.apply(runtime(), key, source, target, chosen, actor=current_user.username, reason=reason,
                                  also_for=lambda _i: _audit_move(key, source, target, masked))
    except NotFound:
        abort(404)
    except InvalidState:
        return _page(key, source, target, error=gettext(texts.BAD_PAIR), status=400)
    refused = [m for m in results if not m.ok]
    if refused:
        with runtime().write() as db, db.begin():
            for moved in refused:
                why = ", ".join(f"{r.code}:{r.element}" for r in moved.reasons) or moved.error
                record(db, "instance.migrate", object_type="process_instance", object_id=moved.instance_id,
                       result="failure", key=key, from_version=source, to_version=target,
                       refused=mask_numbers(why)[:300])
    return _page(key, source, target, results=results, status=409 if refused and len(refused) == len(results)
                 else 200)
