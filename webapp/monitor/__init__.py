"""The supervisor's console (督办): office board, instances and diagrams, heat maps, incidents, interventions,
hand-overs and the outbox."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("monitor", __name__, url_prefix="/monitor")

# The modules below register their routes on bp.
from webapp.monitor import absence  # noqa: E402, F401
from webapp.monitor import heatmap  # noqa: E402, F401
from webapp.monitor import incidents  # noqa: E402, F401
from webapp.monitor import instance  # noqa: E402, F401
from webapp.monitor import instances_list  # noqa: E402, F401
from webapp.monitor import interventions  # noqa: E402, F401
from webapp.monitor import outbox  # noqa: E402, F401
from webapp.monitor import views  # noqa: E402, F401
