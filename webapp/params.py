"""Whole numbers from addresses, query strings and forms (页码、编号、版本), read in one place.

`str.isdigit()` is true for `²` and `٣`, which `int()` then refuses or reads as 3, and a 20-digit id overflows the
database's 64-bit integers: both were 500s. A number is ASCII digits only, within the range the caller gives (at
most a SQL bigint; processes.parsing.whole_number), or it is refused: None for the caller to answer, 400 for a page
number, 404 for an id in the address (the `int` URL converter, which every `<int:…>` route uses).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import abort
from flask import request
from flask_babel import gettext
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError

from processes.parsing import MAX_BIGINT
from processes.parsing import whole_number
from webapp.permissions import RULES
from webapp.permissions import api_scope

__all__ = ["MAX_BIGINT", "MAX_INT32", "BigIntConverter", "page_number", "positive_int", "whole_number"]

MAX_PAGE = 10_000
MAX_INT32 = 2**31 - 1
MAX_JSON_DEPTH = 32  # the modeler posts two levels ({"forms": {name: text}}); views walk what they get


def positive_int(text: str | None, high: int = MAX_BIGINT) -> int | None:
    """Return a positive whole number (an id, a version, a count) or None."""
    return whole_number(text, low=1, high=high)


def page_number(text: str | None, high: int = MAX_PAGE) -> int:
    """Return a page number (1 when not given); answer 400 with a Chinese message when it is not 1..high."""
    if text is None or text == "":
        return 1
    page = positive_int(text, high)
    if page is None:
        abort(400, description=gettext("页码无效：请填写 1 到 %(n)s 之间的整数。", n=high))
    return page


class BigIntConverter(BaseConverter):
    """`<int:…>` in a route: ASCII digits up to a 32-bit integer; anything else is no match (404), never an overflow.

    Most tables' ids are PostgreSQL `integer` (outbox, definitions, jobs), where a larger number is a database error,
    not "not found"; the bigint audit ids never reach 2^31 in a district office.
    """

    regex = r"[0-9]{1,10}"
    weight = 50  # as Werkzeug's own number converters: a fixed path segment wins over a number

    def to_python(self, value: str) -> int:
        """Return the id, or refuse the match when it is beyond a 32-bit integer."""
        number = whole_number(value, high=MAX_INT32)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: int) -> str:
        """Write the id into a URL."""
        return str(int(value))


def refuse_nul() -> None:
    """Answer 400 for a NUL character in the path, the query string, a form, a file name or a page's JSON body.

    PostgreSQL refuses NUL in text, lxml in element text. Every value of a name counts (`.values()` gives only the
    first, and getlist() reads them all), names and JSON object keys too.
    """
    pairs = [*request.args.items(multi=True), *request.form.items(multi=True)]
    files = [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
    values = [request.path, *(text for pair in [*pairs, *files] for text in pair), *json_strings()]
    if any("\x00" in value for value in values):
        abort(400, description=gettext("请求中含有无效字符。"))


def json_strings() -> list[str]:
    """Return every string (object keys too) of a JSON body the pages post; any JSON body nested past
    MAX_JSON_DEPTH answers 400 (the open interfaces too, in their problem shape).

    The open interfaces refuse a NUL in a value with their own field messages, so their strings are not returned.
    """
    if not request.is_json:
        return []
    try:
        body = request.get_json(silent=True)  # cached: the view's own get_json() reads the same value
    except RecursionError:  # json.loads recurses once per level; silent= only catches ValueError
        abort(400, description=gettext("请求内容嵌套过深。"))
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:  # a loop, not recursion: a deep body must not exhaust the stack here either
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            abort(400, description=gettext("请求内容嵌套过深。"))
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            found.extend(str(key) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return found if api_scope(RULES.get(request.endpoint or "")) is None else []


def init_app(app: Flask) -> None:
    """Make every `<int:…>` route read its id with BigIntConverter (before the blueprints add their routes);
    refuse NUL characters before any view (or the sign-in check) sees them."""
    app.url_map.converters["int"] = BigIntConverter
    app.before_request(refuse_nul)
