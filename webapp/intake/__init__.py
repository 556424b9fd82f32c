"""Intake (登记): the screens that register cases by channel and start their processes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/intake")

from webapp.intake import views  # noqa: E402, F401  (registers the routes on bp)
