"""The open REST API (开放接口) under /api/v1 and its document (/api/openapi.json, /api/docs).

JSON in and out; a key in `Authorization: Bearer <key>` (webapp/api/auth.py); errors as problem details
(webapp/api/problems.py); every operation declared for the OpenAPI document (webapp/api/spec.py). Other modules of
this package add their routes to `bp` (cases, tasks, instances, definitions, reference, metrics; the platform and
110 exchanges too) and are imported at the end of this file.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Flask

from processes.errors import RuntimeErrorBase
from webapp.api import problems
from webapp.api.auth import KeyRefused
from webapp.api.auth import init_blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
docs_bp = Blueprint("apidocs", __name__, url_prefix="/api")
init_blueprint(bp)
# Code by code: a blueprint's class-wide handler would lose to the app's per-code error pages.
for _status in (400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429, 500):
    bp.register_error_handler(_status, problems.http_error)
bp.register_error_handler(KeyRefused, problems.key_refused)
bp.register_error_handler(RuntimeErrorBase, problems.runtime_error)


def init_app(app: Flask) -> None:
    """Register the API and its document."""
    app.register_blueprint(bp)
    app.register_blueprint(docs_bp)


# The modules that add routes, imported last: they need `bp` and `docs_bp` above.
from webapp.api import cases  # noqa: E402, F401
from webapp.api import definitions  # noqa: E402, F401
from webapp.api import docs  # noqa: E402, F401
from webapp.api import instances  # noqa: E402, F401
from webapp.api import intake  # noqa: E402, F401
from webapp.api import metrics  # noqa: E402, F401
from webapp.api import platform  # noqa: E402, F401
from webapp.api import police110  # noqa: E402, F401
from webapp.api import reference  # noqa: E402, F401
from webapp.api import tasks  # noqa: E402, F401
