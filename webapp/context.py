"""What a request handler needs from the app: runtime, clock, policy and the audit context of the request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import current_app
from flask import g
from flask import request

from processes.accounts.passwords import AccountPolicy
from processes.accounts.passwords import policy_from_config
from processes.clock import wall_clock
from processes.runtime.core import Runtime


def runtime() -> Runtime:
    """Return the runtime wired into the current app."""
    rt: Runtime = current_app.extensions["hotline.runtime"]
    return rt


def now() -> datetime:
    """Return the current time from the runtime's clock (tests freeze and move it)."""
    return runtime().clock()


def wall_now() -> datetime:
    """Return real time even under the demo clock: for what a person's own clock measures (idle sessions, TOTP)."""
    return wall_clock(runtime().clock)()


def policy() -> AccountPolicy:
    """Return the account policy from the app's settings."""
    return policy_from_config(current_app.config)


def source_ip() -> str | None:
    """Return the client's address (from the trusted proxy hop only, see TRUSTED_PROXY_HOPS)."""
    return request.remote_addr


def request_id() -> str:
    """Return this request's id, made on first use; audit rows of one request share it."""
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex
    rid: str = g.request_id
    return rid


def audit_context(session_hash: str | None = None) -> dict[str, Any]:
    """Return the request's part of an audit row: source IP, session hash and request id."""
    return {"source_ip": source_ip(), "session_hash": session_hash, "request_id": request_id()}
