"""Retention of closed cases' personal data (个人信息保存期限): what the scheduler's nightly job and
`hotline pii retention` share: the office's setting and one run of processes/cases/retention.py."""

from __future__ import annotations

from flask import Flask

from handlers.reference.settings import get_setting
from processes.cases import retention
from processes.runtime.core import Runtime
from webapp import runtime_of
from webapp.cases import files


def retention_days(rt: Runtime) -> int:
    """Return the office's retention of closed cases' personal data in days (0: keep)."""
    with rt.read() as session:
        return int(get_setting(session, retention.SETTING))


def run_retention(app: Flask, *, actor: str, dry_run: bool = False, days: int | None = None) -> retention.Counts:
    """De-identify the closed cases past the retention period (or count them); return the counts."""
    rt = runtime_of(app)
    wanted = retention_days(rt) if days is None else days
    if dry_run:
        with rt.read() as session:
            return retention.count_due(session, now=rt.clock(), days=wanted, attachments=files.folder(app))
    return retention.apply_all(rt, days=wanted, actor=actor, attachments=files.folder(app))
