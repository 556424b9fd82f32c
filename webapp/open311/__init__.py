"""Open311 GeoReport v2 (开放诉求接口, /open311/v2): discovery, services, service requests and tokens, JSON and XML.

Reading is public (GeoReport v2 has no key for it, and nothing personal is shown); submitting needs an API key with
the `open311` scope, passed as the `api_key` parameter as the specification says. The blueprint takes no session
cookie and no CSRF token; every submission is audited as the key (webapp/api/auth.py).
"""

from __future__ import annotations

from flask import Blueprint

from webapp.api.auth import init_blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
init_blueprint(bp)

# The module below registers its routes on bp.
from webapp.open311 import views  # noqa: E402, F401
