"""Audit log for auditors (审计日志查阅): list, one row, chain status and verify, CSV export — `auditor` only.

Nothing here changes an audit row: there is no such route at all (AC-04, S4.4); administrators cannot open these
pages. Reading is itself audited: each list or row view writes `audit.view` (the names of the filters used, never
their values), a verify `audit.verify` with its result, an export `audit.export` with the row count. Values that
look like full phone or ID numbers are masked on the pages and in the export, although the trail refuses them.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auditlog", __name__, url_prefix="/audit")

from webapp.auditlog import views  # noqa: E402,F401  (registers routes on bp)
