"""Reference data pages (基础数据): holiday calendar, time-limit rules, units and townships, 派单目录, settings and
the duty roster, edited on the web by the roles that own them (webapp/permissions.py) instead of CSV imports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reference", __name__, url_prefix="/reference")

# The modules below register their routes and template helpers on bp.
from webapp.reference import calendar as calendar  # noqa: E402
from webapp.reference import office as office  # noqa: E402
from webapp.reference import roster as roster  # noqa: E402
from webapp.reference import tables as tables  # noqa: E402
from webapp.reference import units as units  # noqa: E402
