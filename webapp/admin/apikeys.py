"""Integration keys on the web (接口密钥, system administrator): list, create (the key shown once), revoke.

The same functions as `hotline api-key` (processes/integration/keys.py), each in its own audited transaction
(api_key.create / api_key.revoke, actor the administrator); bad input answers 400 with the message by its field.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from processes.errors import FormDataInvalid
from processes.integration import keys
from processes.integration.models import ApiKey
from webapp.admin import bp
from webapp.auth.forms import ActionForm
from webapp.context import audit_context
from webapp.context import now
from webapp.context import runtime
from webapp.schemaforms.choices import pairs


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    with runtime().read() as db:
        rows = keys.list_keys(db)
        units = pairs(db, "departments")
    return render_template("admin/apikeys.html", rows=rows, units=units, scopes=keys.SCOPES, form=ActionForm(),
                           typed=context.pop("typed", {}), errors=context.pop("errors", {}), **context), status


@bp.get("/api-keys")
def api_keys() -> ResponseReturnValue:
    """List the integration keys and offer a new one."""
    return _page()


@bp.post("/api-keys")
def api_key_create() -> ResponseReturnValue:
    """Make a key and show it once."""
    if not ActionForm().validate_on_submit():
        abort(400)
    form = request.form
    name, scopes, unit = form.get("name", ""), form.getlist("scopes"), form.get("department", "")
    try:
        with runtime().write() as db, db.begin():
            made = keys.create(db, name, scopes, department=unit or None, actor=current_user.username, now=now(),
                               audit_context=audit_context(current_user.session_hash))
            shown = {"name": made.row.name, "raw": made.raw}
    except FormDataInvalid as error:
        return _page(400, typed={"name": name, "scopes": scopes, "department": unit}, errors=error.errors)
    return _page(201, created=shown)


@bp.post("/api-keys/<key_id>/revoke")
def api_key_revoke(key_id: str) -> ResponseReturnValue:
    """Revoke a key at once: its next call answers 401."""
    if not ActionForm().validate_on_submit():
        abort(400)
    with runtime().write() as db, db.begin():
        name = db.scalar(sa.select(ApiKey.name).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))
        if name is None:
            abort(404)
        keys.revoke(db, name, actor=current_user.username, now=now(),
                    audit_context=audit_context(current_user.session_hash))
    flash(gettext("接口密钥 %(name)s 已吊销。", name=name), "success")
    return redirect(url_for("admin.api_keys"), code=303)
