"""Case search (工单查询): find cases by number, phone, place, text, dates and state, within the user's reach."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/search")

from webapp.search import exports  # noqa: E402, F401  (registers the routes on bp)
from webapp.search import views  # noqa: E402, F401
