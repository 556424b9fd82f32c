"""The analyst's workbench (流程设计): process versions, diagrams, visual diff, upload, publish, retire, migration.

The in-browser modeler (`edit`: the edit page, validation, saving; `props`: what its properties panel asks) saves
through the upload path (`processes.modeling.versions.upload_draft`), so the four-eyes publication stays the one
way live.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("modeler", __name__, url_prefix="/modeler")

from webapp.modeler import actions  # noqa: E402, F401  (registers the routes on bp)
from webapp.modeler import edit  # noqa: E402, F401
from webapp.modeler import migrate  # noqa: E402, F401
from webapp.modeler import props  # noqa: E402, F401
from webapp.modeler import views  # noqa: E402, F401
