"""The supervisor's console (督办): the office board (督办台) of open cases by light, department and stage."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("monitor", __name__, url_prefix="/monitor")

from webapp.monitor import absence  # noqa: E402, F401
from webapp.monitor import incidents  # noqa: E402, F401
from webapp.monitor import instances_list  # noqa: E402, F401
from webapp.monitor import interventions  # noqa: E402, F401
from webapp.monitor import outbox  # noqa: E402, F401
from webapp.monitor import views  # noqa: E402, F401  (registers the routes on bp)
from webapp.monitor import instance  # noqa: E402, F401
from webapp.monitor import heatmap  # noqa: E402, F401
