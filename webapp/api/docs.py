"""The API's document (/api/openapi.json, built from the views) and its reading page (/api/docs)."""

from __future__ import annotations

from flask import current_app
from flask import jsonify
from flask.typing import ResponseReturnValue

from webapp.api import docs_bp
from webapp.api import spec


@docs_bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """Answer the OpenAPI 3.1 document of the REST API."""
    return jsonify(spec.document(current_app))
