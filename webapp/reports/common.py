"""What the report pages share: the user's reach (the office, or one unit), code names, the PDF font."""

from __future__ import annotations

from collections.abc import Collection

from flask import abort
from flask import current_app
from flask_login import current_user
from sqlalchemy.orm import Session

from processes.reports.content import OFFICE
from processes.reports.content import Names
from processes.reports.pdf import find_font
from webapp import labels
from webapp.workspace import unit_names

OFFICE_READERS = frozenset({"supervisor", "leader", "duty_leader", "analyst"})
WEIGHT_EDITORS = frozenset({"supervisor", "leader"})


def scopes() -> Collection[str] | None:
    """Return the report scopes the user may read: None for the office's readers (all), else their own unit."""
    if current_user.roles & OFFICE_READERS:
        return None
    if current_user.department:
        return (current_user.department,)
    abort(403)  # a handler without a unit has no figures to see


def may_read(scope: str) -> bool:
    """Return whether the user may read (or make) a report of this scope."""
    reach = scopes()
    return reach is None or scope in reach


def names(db: Session) -> Names:
    """Return the Chinese names a report shows (reports are written in Chinese, the office's language)."""
    return Names(unit_names(db), labels.CHANNELS, labels.REQUEST_TYPES, labels.STATUSES)


def font() -> tuple[str, int]:
    """Return the CJK font the PDF embeds (REPORT_FONT, else the usual places); ReportFontMissing if none."""
    return find_font(str(current_app.config.get("REPORT_FONT") or ""))


def default_scope() -> str:
    """Return the scope a user's page starts on: the office, or their unit."""
    return OFFICE if scopes() is None else str(current_user.department)
