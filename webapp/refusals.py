"""Refused requests audited in one place (拒绝访问审计, issue 16): the permission table, object rules and CSRF.

Every refusal ends in an answer: the permission hook's 403 or login redirect (it marks its reason with `refuse`),
a view's 404 for an object outside the user's reach (processes/cases/access.py filters, another unit's export or
report …), a 403 a view raises, and a failed CSRF check (the error handler is wrapped to mark it). One
after-request hook turns each of those answers into an audit row (`processes.audit.refusals`: at most
REFUSAL_AUDIT_PER_MINUTE rows per actor and minute, the rest counted and summarised, an alert to the security
administrators), so no view needs its own audit code for a refusal.

Not audited: answers on paths that match no route (404 without an endpoint) and missing static files. They touch
no object and no rule; scanners request thousands of them, which would bury real refusals (the access log keeps
them). Anonymous requests to real routes are audited (actor `anonymous`, counted per source IP).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError

from processes.audit import record as audit
from processes.audit import refusals
from webapp.context import now
from webapp.context import request_id
from webapp.context import runtime
from webapp.context import source_ip

log = logging.getLogger("hotline.refusals")
AUDITED_STATUS = {401: "login", 403: "role", 404: "object"}  # the reason when nobody marked one


def refuse(reason: str) -> None:
    """Mark this request as refused for `reason` (role, login, csrf, object …); the answer is audited."""
    g.refusal_reason = reason


def _object() -> tuple[str | None, str | None]:
    """Return the type and id of the object the route names (its first URL argument), if any."""
    for name, value in (request.view_args or {}).items():
        kind = name.removesuffix("_id")[:32]
        try:
            return kind, audit.clean(str(value)[:64], "object_id")
        except audit.AuditRefused:  # e.g. a phone number typed into a URL: the row says so, not the value
            return kind, "(withheld)"
    return None, None


def _refusal(reason: str, status: int) -> refusals.Refusal:
    """Describe this request's refusal for the audit trail."""
    signed_in = bool(current_user.is_authenticated)
    kind, object_id = _object()
    detail: dict[str, Any] = {"endpoint": request.endpoint, "method": request.method, "status": status}
    return refusals.Refusal(
        actor=current_user.username if signed_in else "anonymous",
        source="" if signed_in else (source_ip() or "")[:45], reason=reason, detail=detail,
        role=(current_user.role_label or None) if signed_in else None,
        user_id=current_user.id if signed_in else None, source_ip=source_ip(),
        session_hash=current_user.session_hash if signed_in else None, request_id=request_id(),
        object_type=kind, object_id=object_id)


def audit_refusal(response: Response) -> Response:
    """After every request: audit a refused answer (see the module docstring for what counts)."""
    reason = g.pop("refusal_reason", None)
    if reason is None:
        reason = AUDITED_STATUS.get(response.status_code)
        if reason is None or request.url_rule is None or request.endpoint == "static":
            return response
        if getattr(current_app.view_functions.get(request.endpoint or ""), "api_scope", None) is not None:
            return response  # the API (webapp/api) audits each of its calls, refusals included, as api:NAME
    limit = int(current_app.config["REFUSAL_AUDIT_PER_MINUTE"])
    try:
        with runtime().writer.begin() as conn:
            refusals.refuse(conn, _refusal(reason, response.status_code), now=now(), limit=limit)
    except (SQLAlchemyError, audit.AuditRefused) as exc:
        # The request is refused either way; a failed audit write must not turn the refusal into a 500.
        log.error("refusal not audited: %s (%s %s)", type(exc).__name__, request.method, request.endpoint)
    return response


def init_app(app: Flask) -> None:
    """Audit refused answers; mark CSRF failures (call after webapp.errors has registered its handlers)."""
    handlers = app.error_handler_spec[None][400]
    answer = handlers.get(CSRFError)

    def csrf_refused(error: CSRFError) -> Any:
        refuse("csrf")
        return answer(error) if answer is not None else error

    app.register_error_handler(CSRFError, csrf_refused)
    app.after_request(audit_refusal)
