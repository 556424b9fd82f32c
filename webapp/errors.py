"""Error pages in Chinese (错误页): 4xx answers as a page, or JSON when the client asked for JSON."""

from __future__ import annotations

from flask import Flask
from flask import jsonify
from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from processes.errors import FormDataInvalid
from processes.errors import RuntimeErrorBase
from webapp import messages
from webapp.casework import runtime_message
from webapp.permissions import wants_json


def _answer(status: int, message: str) -> ResponseReturnValue:
    if wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("error.html", status=status, message=message), status


def http_error(error: HTTPException) -> ResponseReturnValue:
    """Answer an HTTP error with its Chinese message (or the Chinese description a view gave)."""
    status = error.code or 500
    # A view's own text: one of webapp.messages (lazy, English when the page is), or any Chinese sentence.
    own = isinstance(error.description, LazyString) or not str(error.description or "").isascii()
    described = error.description if error.description and own else None
    return _answer(status, described or messages.ERRORS.get(status, messages.ERRORS[400]))


def csrf_error(_error: CSRFError) -> ResponseReturnValue:
    """Answer a missing or stale CSRF token with 400 and a hint to reload the form."""
    return _answer(400, messages.CSRF_FAILED)


def runtime_error(error: RuntimeErrorBase) -> ResponseReturnValue:
    """Answer a runtime error a view did not handle itself with its status (409 for lost races) and message."""
    if wants_json() and isinstance(error, FormDataInvalid):
        return jsonify({"error": runtime_message(error), "fields": error.errors, "status": 400}), 400
    return _answer(error.http_status, runtime_message(error))


def init_app(app: Flask) -> None:
    """Register the handlers for the 4xx errors users can meet, and for runtime errors."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(RuntimeErrorBase, runtime_error)
    for status in messages.ERRORS:
        app.register_error_handler(status, http_error)
