"""Errors of the REST API as RFC 9457 problem details (`application/problem+json`), in Chinese or English.

Every refusal carries `type`, `title`, `status`, `detail` and `instance`, plus `errors` (one entry per field, with
a JSON pointer into the request body or the query parameter's name) when input was refused. The texts are the
ones the pages show; `Accept-Language: en` gives English (the pages take their language from the user's choice,
an integrator from its request).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Response
from flask import current_app
from flask import request
from flask_babel import force_locale
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from processes.errors import FormDataInvalid
from processes.errors import RuntimeErrorBase
from webapp import messages
from webapp.api.auth import KeyRefused
from webapp.casework import runtime_message
from webapp.messages import N_

MEDIA_TYPE = "application/problem+json"
TITLES = {400: N_("请求有误"), 401: N_("未认证"), 403: N_("无权访问"), 404: N_("未找到"), 405: N_("不支持的请求方法"),
          406: N_("无法提供所需格式"), 409: N_("冲突"), 413: N_("请求过大"), 415: N_("不支持的内容类型"),
          422: N_("无法处理"), 429: N_("请求过多"), 500: N_("服务器内部错误"), 503: N_("暂不可用")}
# Field messages the runtime and the forms give in Chinese (processes/cases/forms.py, webapp/search/criteria.py);
# marked here so an English caller reads them in English.
FIELD_TEXTS = (N_("此项必填"), N_("请从列表中选择"), N_("请从列表中选择。"), N_("格式不正确"), N_("表单中没有这一项"),
               N_("日期格式不正确"), N_("不能重复选择"), N_("不要在此填写电话号码或身份证号。"),
               N_("工单编号只含字母、数字和连字符（最多 32 个字符）。"), N_("不能包含控制字符。"),
               N_("日期格式不正确，应为 2026-11-25。"), N_("开始日期不能晚于结束日期。"), N_("最多 100 个字。"),
               N_("按电话查询请用页面上的查询按钮提交，号码不能出现在网址中。"), N_("请输入完整号码，或号码后四位。"))
NUMBERED = ((re.compile(r"^不能超过 (\d+) 个字$"), N_("不能超过 %(n)s 个字")),
            (re.compile(r"^至少 (\d+) 个字$"), N_("至少 %(n)s 个字")),
            (re.compile(r"^不能大于 (\S+)$"), N_("不能大于 %(n)s")),
            (re.compile(r"^不能小于 (\S+)$"), N_("不能小于 %(n)s")),
            (re.compile(r"^最多选择 (\d+) 项$"), N_("最多选择 %(n)s 项")),
            (re.compile(r"^至少选择 (\d+) 项$"), N_("至少选择 %(n)s 项")))
INVALID = N_("请求内容有误，请按 errors 中的提示修改。")
# The pages' runtime sentences (webapp/casework.py), marked here too so an English caller reads them in English.
RUNTIME_TEXTS = (N_("该任务已由他人办理或已不在待办中，请刷新待办列表。"), N_("该工单刚被他人修改，请刷新页面后重试。"),
                 N_("工单或任务不存在，或您无权查看。"), N_("工单当前状态不允许此操作。"))


def locale() -> str:
    """Return the language of an API answer: English when the caller asks for it first, else Chinese."""
    return request.accept_languages.best_match(["zh", "en"], default="zh") or "zh"


def said(text: str) -> str:
    """Return a Chinese message in the caller's language (texts without a translation as they are)."""
    for pattern, template in NUMBERED:
        match = pattern.match(text)
        if match:
            return str(gettext(template, n=match.group(1)))
    return str(gettext(text))


def problem(status: int, detail: str, *, errors: Mapping[str, str] | None = None, where: str = "body",
            code: str | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """Return a problem-details answer; `errors` by field, `where` says whether fields are body or query."""
    with force_locale(locale()):
        body: dict[str, Any] = {
            "type": f"/api/docs#problem-{code or status}", "title": gettext(TITLES.get(status, TITLES[400])),
            "status": status, "detail": said(str(detail)), "instance": request.path}
        if errors:
            body["errors"] = [{"field": name, "detail": said(str(text)),
                               **({"pointer": f"#/{name}"} if where == "body" else {"parameter": name})}
                              for name, text in errors.items()]
    response = Response(current_app.json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def invalid(errors: Mapping[str, str], where: str = "body") -> Response:
    """Return a 400 naming every refused field."""
    return problem(400, INVALID, errors=errors, where=where, code="validation")


def key_refused(error: KeyRefused) -> Response:
    """Answer a refused key: 401 with a WWW-Authenticate challenge, 403, or 429 with Retry-After."""
    headers = {"WWW-Authenticate": 'Bearer realm="hotline"'} if error.status == 401 else {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return problem(error.status, error.message, code=error.reason, headers=headers)


def under_api() -> bool:
    """Return whether the request is for the open REST API (/api/…), routed or not: it answers problem details."""
    return request.path == "/api" or request.path.startswith("/api/")


def http_error(error: HTTPException) -> Response:
    """Answer an HTTP error under /api (404, 405 with Allow, 413, 400 …) as problem details.

    Registered on the blueprint for its views, and called by the app's handlers (webapp/errors.py) for paths under
    /api that match no route or no method, which no blueprint handler sees.
    """
    status = error.code or 500
    own = error.description if error.description and not str(error.description).isascii() else None
    allow = {name: value for name, value in error.get_headers() if name.lower() == "allow"}
    return problem(status, own or str(messages.ERRORS.get(status, messages.ERRORS[400])), headers=allow)


def runtime_error(error: RuntimeErrorBase) -> Response:
    """Answer a runtime error (409 lost race, 404, 400 bad form data) with the pages' sentence."""
    if isinstance(error, FormDataInvalid) and error.errors:
        return invalid(error.errors)
    return problem(error.http_status, runtime_message(error), code=type(error).__name__)
