"""Authentication of the open interfaces (接口鉴权): API keys, scopes, a per-key rate limit, one audit row per call.

How to protect a route (H17's Open311 and H18's platform/110 endpoints use the same three steps):

1. name it in webapp/permissions.py RULES with `api_rule("<scope>")` (deny by default, as for pages);
2. wrap the view in `@require_scope("<scope>")`: it reads `Authorization: Bearer <key>` (or `X-API-Key`), or, for a
   protocol that passes the key as a parameter (Open311's `api_key`), wrap it in `@keyed("<scope>")` and call
   `authenticate(raw_key, "<scope>")` in the view; `permissions.enforce` refuses a view whose guard and rule differ;
3. give the blueprint `init_blueprint(bp)`: no CSRF (no cookies are used) and the audit row of every call.

The session cookie is never read: a browser signed in as a supervisor gets 401 here like anyone without a key.
A refused key raises `KeyRefused` (401 no or bad key, 403 scope, 429 rate limit with `retry_after`); the REST API
answers it as problem details, another protocol in its own error format. Every call is an audit row with actor
`api:<name>` (`api:anonymous` for no or an unknown key): refusals 'denied', 4xx answers 'failure'.
The limit is API_RATE_LIMIT calls per API_RATE_WINDOW_SECONDS per key, counted on the key's row in the database
(`keys.count_call`), so it holds across every app node, like the login limit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from typing import TypeVar
from typing import cast

import sqlalchemy as sa
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from sqlalchemy.orm import Session

from processes.audit import record as audit
from processes.cases.access import Viewer
from processes.integration import keys
from processes.integration.keys import ApiKeyIdentity
from processes.reference.models import Department
from webapp.context import audit_context
from webapp.context import now
from webapp.context import runtime
from webapp.messages import _l

F = TypeVar("F", bound=Callable[..., Any])
ANONYMOUS = "api:anonymous"
NO_KEY = _l("缺少接口密钥：请在请求头 Authorization: Bearer <密钥> 中提供。")
BAD_KEY = _l("接口密钥无效或已吊销。")
NO_SCOPE = _l("该接口密钥没有调用此接口的权限。")
TOO_MANY = _l("调用过于频繁，请稍后再试。")
# A key without a unit is the office's own integration: it sees every case, masked as an office clerk sees it.
OFFICE_KEY_ROLES = frozenset({"transcriber"})


class KeyRefused(Exception):
    """A call refused before its view: no or a bad key (401), a missing scope (403), too many calls (429)."""

    def __init__(self, status: int, message: str, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.message = message
        self.reason = reason
        self.retry_after = retry_after


def presented_key() -> str:
    """Return the key sent with the request (Bearer token, else X-API-Key), '' when none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-Key", "").strip()


def _limit() -> tuple[int, int]:
    """Return the calls a key may make per window and the window in seconds (webapp.config)."""
    config = current_app.config
    return int(config["API_RATE_LIMIT"]), int(config["API_RATE_WINDOW_SECONDS"])


def _refuse(db: Session, identity: ApiKeyIdentity | None, raw: str, scope: str, reason: str) -> None:
    """Write the audit row of a refused call in the caller's transaction."""
    audit.record(db, action="api.call", actor=identity.actor if identity else ANONYMOUS, role="api",
                 result="denied", at=now(), object_type="api_key",
                 object_id=keys.prefix_of(raw) if raw else None,
                 detail={"reason": reason, "scope": scope, "endpoint": request.endpoint, "method": request.method},
                 **audit_context())


def authenticate(raw: str, scope: str) -> ApiKeyIdentity:
    """Return who the key is when it may call with this scope now; else audit the refusal and raise KeyRefused."""
    limit, window = _limit()
    refused: KeyRefused | None = None
    with runtime().write() as db, db.begin():
        identity = keys.verify(db, raw) if raw else None
        if identity is None:
            refused = KeyRefused(401, NO_KEY if not raw else BAD_KEY, "no_key" if not raw else "bad_key")
        elif scope not in identity.scopes:
            refused = KeyRefused(403, NO_SCOPE, "scope")
        elif keys.count_call(db, identity.key_id, now=now(), window_seconds=window) > limit:
            refused = KeyRefused(429, TOO_MANY, "rate_limited", keys.window_end(now(), window))
        if refused is not None:
            _refuse(db, identity, raw, scope, refused.reason)
    if refused is not None or identity is None:
        raise refused or KeyRefused(401, BAD_KEY, "bad_key")
    g.api_identity = identity
    return identity


def current_identity() -> ApiKeyIdentity:
    """Return the key of this request (the guard ran before the view)."""
    identity: ApiKeyIdentity = g.api_identity
    return identity


def require_scope(scope: str) -> Callable[[F], F]:
    """Guard a view: the request's key (Bearer or X-API-Key) must hold `scope` (401/403/429 otherwise)."""
    def wrap(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            authenticate(presented_key(), scope)
            return view(*args, **kwargs)

        guarded.api_scope = scope  # type: ignore[attr-defined]  # read by permissions.enforce
        guarded.api_key_in_header = True  # type: ignore[attr-defined]  # read by tests/test_api_scopes.py
        return cast(F, guarded)
    return wrap


def keyed(scope: str) -> Callable[[F], F]:
    """Mark a view that authenticates itself with `authenticate(raw, scope)` (a key passed as a parameter)."""
    def wrap(view: F) -> F:
        view.api_scope = scope  # type: ignore[attr-defined]  # read by permissions.enforce
        return view
    return wrap


def audit_call(response: Response) -> Response:
    """After a call that passed the guard: its audit row (success, or failure for a 4xx/5xx answer)."""
    identity: ApiKeyIdentity | None = g.get("api_identity")
    if identity is None:
        return response
    with runtime().write() as db, db.begin():
        audit.record(db, action="api.call", actor=identity.actor, role="api",
                     result="success" if response.status_code < 400 else "failure", at=now(),
                     object_type="api", object_id=request.endpoint,
                     detail={"method": request.method, "status": response.status_code}, **audit_context())
    return response


def init_blueprint(bp: Blueprint) -> None:
    """Make a blueprint an open interface: exempt from CSRF (keys, not cookies) and every call audited."""
    from webapp.extensions import csrf

    csrf.exempt(bp)
    bp.after_request(audit_call)


def viewer_of(db: Session, identity: ApiKeyIdentity) -> Viewer:
    """Return the key as the object rules see it: a unit's handler, a township's reporter, or the office."""
    if identity.department is None:
        return Viewer(identity.actor, OFFICE_KEY_ROLES, None)
    kind = db.scalar(sa.select(Department.kind).where(Department.code == identity.department))
    roles = frozenset({"township_reporter"}) if kind == "township" else frozenset({"handler"})
    return Viewer(identity.actor, roles, identity.department)
