"""Error pages in Chinese (错误页): 4xx and 500 answers as a page, or JSON when the client asked for JSON.

An unexpected failure shows the office's page with the request id (错误编号), and the log line of the exception
carries the same id, so the office can find it. Log lines of the app, the development server and gunicorn have
phone and ID numbers masked (a number typed into a query string would otherwise reach the access log).
"""

from __future__ import annotations

import logging
from html import escape
from urllib.parse import unquote_plus

from flask import Flask
from flask import has_request_context
from flask import jsonify
from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from processes.audit.record import AuditRefused
from processes.cases.numbers import has_number
from processes.cases.numbers import mask_numbers
from processes.errors import FormDataInvalid
from processes.errors import RuntimeErrorBase
from webapp import messages
from webapp import params
from webapp.api import problems as api_problems
from webapp.casework import runtime_message
from webapp.context import request_id
from webapp.messages import N_
from webapp.permissions import wants_json

AUDIT_REFUSED = N_("填写的内容含有电话号码、身份证号等个人信息（或过长），不能记入审计日志，操作未执行；请删去后重试。")
SERVER_ERROR = N_("系统出错了，请稍后再试。如问题持续，请将错误编号 %(id)s 告知系统管理员。")
SCRUBBED_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")
PLAIN = '<!doctype html><html lang="zh"><meta charset="utf-8"><title>500</title><p>{message}</p></html>'


def _answer(status: int, message: str, **extra: str) -> ResponseReturnValue:
    if wants_json():
        return jsonify({"error": message, "status": status, **extra}), status
    return render_template("error.html", status=status, message=message, **extra), status


def http_error(error: HTTPException) -> ResponseReturnValue:
    """Answer an HTTP error with its Chinese message (or the Chinese description a view gave)."""
    if api_problems.under_api():  # /api answers problem details even where no API route matched (404, 405)
        return api_problems.http_error(error)
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


def audit_refused(_error: AuditRefused) -> ResponseReturnValue:
    """Answer typed text the audit trail must not hold (a number in a reason …): 400, nothing was changed.

    The change and its audit row share one transaction, which the exception rolled back (AUD-04: fail closed).
    """
    logging.getLogger(__name__).warning("audit row refused: the request changed nothing")
    return _answer(400, gettext(AUDIT_REFUSED))


def server_error(_error: InternalServerError) -> ResponseReturnValue:
    """Answer an unexpected failure with the office's page and the request id (Flask has logged the exception)."""
    rid = request_id()
    message = gettext(SERVER_ERROR, id=rid)
    try:
        return _answer(500, message, request_id=rid)
    except Exception:  # the page itself failed (the database is gone): still Chinese, still the id
        logging.getLogger(__name__).exception("error page failed")
        return PLAIN.format(message=escape(message)), 500, {"Content-Type": "text/html; charset=utf-8"}


class LogScrubber(logging.Filter):
    """Mask phone and ID numbers in a log line and its traceback; tag errors inside a request with its id."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place (the line is kept)."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if record.levelno >= logging.ERROR and has_request_context():
            message += f" [request_id={request_id()}]"
        if "%" in message and has_number(unquote_plus(message)):  # a request line: GET /search?text=139%20…
            message = unquote_plus(message)
        record.msg, record.args = mask_numbers(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_numbers(logging.Formatter().formatException(record.exc_info))
        return True


def _scrub(logger: logging.Logger) -> None:
    if not any(isinstance(f, LogScrubber) for f in logger.filters):
        logger.addFilter(LogScrubber())


def init_app(app: Flask) -> None:
    """Register the error handlers, the bounded `int` URL converter and the log scrubber."""
    params.init_app(app)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(RuntimeErrorBase, runtime_error)
    app.register_error_handler(AuditRefused, audit_refused)
    for status in messages.ERRORS:
        app.register_error_handler(status, http_error)
    app.register_error_handler(InternalServerError, server_error)
    for logger in (app.logger, *map(logging.getLogger, SCRUBBED_LOGGERS)):
        _scrub(logger)
