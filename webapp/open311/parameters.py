"""The GET requests filters of GeoReport v2, read from the query string and checked (Chinese messages).

`service_request_id` (comma list) overrides every other filter; `service_code` and `status` are comma lists;
`start_date` / `end_date` are W3C times (a time without an offset is Beijing time) no more than 90 days apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext

from webapp.messages import N_
from webapp.open311.listing import MAX_IDS
from webapp.open311.listing import OFFICE_TZ
from webapp.open311.listing import WINDOW
from webapp.open311.listing import Filters

CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
STATUSES = ("open", "closed")
BAD_IDS = N_("service_request_id 须是逗号分隔的诉求编号（最多 %(limit)d 个）。")
BAD_CODES = N_("service_code 须是逗号分隔的服务代码。")
BAD_STATUS = N_("status 只能是 open 或 closed（可逗号分隔）。")
BAD_DATE = N_("%(name)s 须是 W3C 时间格式，例如 2026-11-25T09:00:00+08:00。")
DATE_ORDER = N_("start_date 不能晚于 end_date。")
TOO_WIDE = N_("start_date 与 end_date 相隔不能超过 90 天。")


def _items(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.strip() for i in (text or "").split(",") if i.strip()))


def _moment(args: Mapping[str, str], name: str, problems: list[str]) -> datetime | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(gettext(BAD_DATE, name=name))
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=OFFICE_TZ)


def filters_of(args: Mapping[str, str]) -> tuple[Filters, list[str]]:
    """Return the filters of a GET requests call and every problem found (empty when they may be used)."""
    problems: list[str] = []
    ids = _items(args.get("service_request_id"))
    if len(ids) > MAX_IDS or any(not CODE_RE.match(i) for i in ids):
        problems.append(gettext(BAD_IDS, limit=MAX_IDS))
    codes = _items(args.get("service_code"))
    if any(not CODE_RE.match(c) for c in codes):
        problems.append(gettext(BAD_CODES))
    statuses = _items(args.get("status"))
    if any(s not in STATUSES for s in statuses):
        problems.append(gettext(BAD_STATUS))
    start, end = _moment(args, "start_date", problems), _moment(args, "end_date", problems)
    if start and end and start > end:
        problems.append(gettext(DATE_ORDER))
    elif start and end and end - start > WINDOW:
        problems.append(gettext(TOO_WIDE))
    if start and not end:
        end = start + WINDOW  # a start alone opens a 90-day window from it
    return Filters(ids, codes, statuses, start, end), problems
