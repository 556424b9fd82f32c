"""Reports (报表): the weekly and monthly reports to download or make on demand, and 部门考评 with its weights."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

# The modules below register their routes on bp.
from webapp.reports import evaluation  # noqa: E402, F401
from webapp.reports import views  # noqa: E402, F401
