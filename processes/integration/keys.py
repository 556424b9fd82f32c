"""API keys (接口密钥): make one (the secret shown once), check a presented key, revoke, list, count calls.

A key reads `hk_<prefix>_<secret>`: the prefix (12 hex digits) finds the row, the secret (32 random bytes,
base64url) is checked against its SHA-256 with a constant-time compare. Only the hash is stored, so a copy of the
database yields no usable key. A secret of 256 random bits needs no slow hash: nobody can guess it offline.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.audit import record as audit
from processes.errors import FormDataInvalid
from processes.integration.models import ApiKey
from processes.reference.models import Department

# What a key may do (权限范围); webapp/permissions.py names one of these for every API route.
SCOPES: dict[str, str] = {
    "cases:read": "读取工单",
    "cases:write": "登记工单",
    "tasks": "认领、办理任务",
    "open311": "Open311 诉求上报",
    "platform": "民呼我为 / 12345 平台交换",
    "police110": "110 警情交换",
    "metrics:read": "读取统计指标",
    "reference:read": "读取基础数据",
    "definitions:read": "读取流程定义",
}
PREFIX = "hk"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,47}$")
KEY_RE = re.compile(r"^hk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
BAD_NAME = "名称由字母、数字、点、下划线或连字符组成（2 至 48 个字符）。"
NAME_TAKEN = "该名称已有接口密钥。"
BAD_SCOPE = "请从列表中选择权限范围。"
NO_SCOPE = "请至少选择一项权限范围。"
BAD_DEPARTMENT = "单位不存在或已停用。"


@dataclass(frozen=True)
class ApiKeyIdentity:
    """Who a presented key is (接口调用方): its name, scopes and unit; the audit actor is `api:<name>`."""

    key_id: str
    name: str
    scopes: frozenset[str]
    department: str | None

    @property
    def actor(self) -> str:
        """Return the audit actor of this key's calls."""
        return f"api:{self.name}"


@dataclass(frozen=True)
class CreatedKey:
    """A key just made: its row and the full key, which is never shown again."""

    row: ApiKey
    raw: str


def secret_hash(secret: str) -> str:
    """Return the stored form of a key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_new(session: Session, name: str, scopes: list[str], department: str | None) -> dict[str, str]:
    """Return what is wrong with a new key's name, scopes and unit, by field (empty when acceptable)."""
    errors: dict[str, str] = {}
    if not NAME_RE.match(name):
        errors["name"] = BAD_NAME
    elif session.scalar(sa.select(ApiKey.id).where(ApiKey.name == name)) is not None:
        errors["name"] = NAME_TAKEN
    if not scopes:
        errors["scopes"] = NO_SCOPE
    elif any(scope not in SCOPES for scope in scopes):
        errors["scopes"] = BAD_SCOPE
    if department and session.scalar(sa.select(Department.code).where(
            Department.code == department, Department.active.is_(True))) is None:
        errors["department"] = BAD_DEPARTMENT
    return errors


def create(session: Session, name: str, scopes: list[str], *, department: str | None, actor: str, now: datetime,
           audit_context: dict[str, Any] | None = None) -> CreatedKey:
    """Make a key in the caller's transaction with its audit row; raise FormDataInvalid for bad input."""
    name, department = name.strip(), (department or "").strip() or None
    chosen = sorted(set(scopes))
    errors = check_new(session, name, chosen, department)
    if errors:
        first = next(iter(errors))
        raise FormDataInvalid(errors[first], field=first, errors=errors)
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(prefix=prefix, name=name, secret_hash=secret_hash(secret), scopes=chosen, department=department,
                 created_by=actor, created_at=now, window_calls=0)
    session.add(row)
    session.flush()
    audit.record(session, action="api_key.create", actor=actor, at=now, object_type="api_key", object_id=prefix,
                 after={"name": name, "scopes": chosen, "department": department}, **(audit_context or {}))
    return CreatedKey(row, f"{PREFIX}_{prefix}_{secret}")


def parse(raw: str) -> tuple[str, str] | None:
    """Return (prefix, secret) of a key in the right shape, else None."""
    match = KEY_RE.match(raw.strip())
    return (match.group(1), match.group(2)) if match else None


def prefix_of(raw: str) -> str | None:
    """Return the public prefix of a presented key (for audit rows of refused calls), else None."""
    parsed = parse(raw)
    return parsed[0] if parsed else None


def verify(session: Session, raw: str) -> ApiKeyIdentity | None:
    """Return who a presented key is, or None when it is malformed, unknown, wrong or revoked."""
    parsed = parse(raw)
    if parsed is None:
        return None
    row = session.scalar(sa.select(ApiKey).where(ApiKey.prefix == parsed[0]))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, secret_hash(parsed[1])):
        return None
    return ApiKeyIdentity(row.id, row.name, frozenset(row.scopes), row.department)


def count_call(session: Session, key_id: str, *, now: datetime, window_seconds: int) -> int:
    """Count one call in the key's current window and return the calls so far (the caller commits).

    One UPDATE on the key's row: it locks the row, so calls on several nodes count one after another.
    """
    start = datetime.fromtimestamp(now.timestamp() // window_seconds * window_seconds, UTC)
    session.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(
        window_calls=sa.case((ApiKey.window_start == start, ApiKey.window_calls + 1), else_=1),
        window_start=start, last_used_at=now))
    return int(session.scalar(sa.select(ApiKey.window_calls).where(ApiKey.id == key_id)) or 0)


def window_end(now: datetime, window_seconds: int) -> int:
    """Return the seconds until the current window ends (the Retry-After of a refused call)."""
    return max(1, window_seconds - int(now.timestamp()) % window_seconds)


def revoke(session: Session, name: str, *, actor: str, now: datetime,
           audit_context: dict[str, Any] | None = None) -> ApiKey | None:
    """Revoke a key by name in the caller's transaction (audited); None when no live key has that name."""
    row = session.scalar(sa.select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    if row is None:
        return None
    row.revoked_at, row.revoked_by = now, actor
    audit.record(session, action="api_key.revoke", actor=actor, at=now, object_type="api_key", object_id=row.prefix,
                 before={"name": row.name, "scopes": row.scopes}, **(audit_context or {}))
    return row


def list_keys(session: Session) -> list[ApiKey]:
    """Return every key, live ones first, newest first."""
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(),
                                                           ApiKey.name)))
