"""The dashboard (数据看板): volumes and the office's rates from the rollup, charts, and the cases behind a figure."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

# The modules below register their routes on bp.
from webapp.dashboard import views  # noqa: E402, F401
