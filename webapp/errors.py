"""Error pages in Chinese (错误页): 4xx answers as a page, or JSON when the client asked for JSON."""

from __future__ import annotations

from flask import Flask
from flask import jsonify
from flask import render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp import messages
from webapp.permissions import wants_json


def _answer(status: int, message: str) -> ResponseReturnValue:
    if wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("error.html", status=status, message=message), status


def http_error(error: HTTPException) -> ResponseReturnValue:
    """Answer an HTTP error with its Chinese message (or the Chinese description a view gave)."""
    status = error.code or 500
    described = error.description if error.description and not error.description.isascii() else None
    return _answer(status, described or messages.ERRORS.get(status, messages.ERRORS[400]))


def csrf_error(_error: CSRFError) -> ResponseReturnValue:
    """Answer a missing or stale CSRF token with 400 and a hint to reload the form."""
    return _answer(400, messages.CSRF_FAILED)


def init_app(app: Flask) -> None:
    """Register the handlers for the 4xx errors users can meet."""
    app.register_error_handler(CSRFError, csrf_error)
    for status in messages.ERRORS:
        app.register_error_handler(status, http_error)
