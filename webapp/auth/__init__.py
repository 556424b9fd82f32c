"""Sign-in area (登录与账户安全): login, second factor, logout, password change, login history."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from webapp.auth import totp_views  # noqa: E402,F401  (registers routes on bp)
from webapp.auth import views  # noqa: E402,F401
