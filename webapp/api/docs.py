"""The API's document (/api/openapi.json, built from the views) and its reading page (/api/docs).

The page is drawn on the server from the same document rather than by a JavaScript docs viewer: the strict CSP
(no inline script or style) holds, and there is nothing to vendor.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue

from webapp.api import docs_bp
from webapp.api import spec


@docs_bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """Answer the OpenAPI 3.1 document of the REST API."""
    return jsonify(spec.document(current_app))


def _grouped(document: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Return the operations by tag, in document order, each with its method and path."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ok = next(iter(op["responses"].items()))
            groups.setdefault(op["tags"][0], []).append({
                **op, "method": method.upper(), "path": path, "body": _pretty(body) if body else "",
                "ok_status": ok[0], "ok_schema": _pretty(ok[1]["content"]["application/json"]["schema"]),
                "errors": [s for s in op["responses"] if s != ok[0]]})
    return list(groups.items())


def _pretty(schema: Any) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2)


@docs_bp.get("/docs")
def docs() -> ResponseReturnValue:
    """Show the API's reference page, drawn on the server from the same document (no script, no CDN)."""
    document = spec.document(current_app)
    return render_template("apidocs/docs.html", info=document["info"], groups=_grouped(document),
                           problem=_pretty(spec.PROBLEM), errors=spec.ERROR_TEXTS,
                           base=request.host_url.rstrip("/"))
