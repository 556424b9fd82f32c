"""Upstream platform exchange (上级平台工单导入): order files imported by transcribers, row by row with a report."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("platform", __name__, url_prefix="/platform")

from webapp.platform import views  # noqa: E402, F401  (registers the routes on bp)
