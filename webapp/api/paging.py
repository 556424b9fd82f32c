"""Cursor paging (游标分页) for API lists: an opaque `cursor` naming the last row seen, and a `next` link.

A cursor is the sort key of the last row of a page (base64url JSON); the next page continues strictly after it, so
rows added meanwhile never shift a page the way an offset does. A cursor that does not decode is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import request
from flask import url_for

from processes.parsing import whole_number
from webapp.api.spec import Param
from webapp.messages import N_

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
BAD_CURSOR = N_("分页游标无效，请使用上一页回答中的 next 链接。")
BAD_LIMIT = N_("每页条数应为 1 至 100。")  # MAX_LIMIT
PARAMS = (Param("cursor", {"type": "string", "maxLength": 400}, "上一页回答的 next 中的游标"),
          Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                "每页条数"))
PAGE: dict[str, Any] = {"type": "object", "required": ["items", "next"],
        "properties": {"next": {"type": ["string", "null"], "description": "下一页的链接；没有更多时为 null"}}}


def page_schema(item: dict[str, Any]) -> dict[str, Any]:
    """Return the schema of a page of items."""
    return {**PAGE, "properties": {**PAGE["properties"], "items": {"type": "array", "items": item}}}


def encode(values: list[Any]) -> str:
    """Return the opaque cursor of a sort key."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(text: str, size: int) -> list[Any] | None:
    """Return the sort key of a cursor of `size` values, None when it is not one of ours."""
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(values, list) or len(values) != size or not all(isinstance(v, str | int) for v in values):
        return None
    return values


def read(errors: dict[str, str], size: int) -> tuple[list[Any] | None, int]:
    """Return the request's cursor (None for the first page) and limit; problems go into `errors`."""
    limit = DEFAULT_LIMIT
    raw = request.args.get("limit", "")
    if raw:
        parsed = whole_number(raw, low=1, high=MAX_LIMIT)  # ², ٣ and huge numbers are refused, never int()'d
        if parsed is None:
            errors["limit"] = BAD_LIMIT
        else:
            limit = parsed
    cursor = request.args.get("cursor", "")
    after = decode(cursor, size) if cursor else None
    if cursor and after is None:
        errors["cursor"] = BAD_CURSOR
    return after, limit


def next_link(last: list[Any] | None, limit: int) -> str | None:
    """Return the link to the page after the row whose key is `last` (None: this was the last page)."""
    if last is None:
        return None
    values: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("cursor", "limit")}
    values.update(request.view_args or {}, cursor=encode(last), limit=limit)
    return url_for(request.endpoint or "", **values)
