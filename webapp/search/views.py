"""Case search (工单查询): every query inside the user's reach, phones by POST only; exports in exports.py."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import abort
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from processes.accounts import pii
from processes.cases.numbers import has_number
from processes.reports.tables import neutral  # noqa: F401  (the cell rule, where tests and pages knew it)
from webapp import casework
from webapp import labels
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.permissions import RULES
from webapp.permissions import allowed
from webapp.schemaforms.choices import pairs
from webapp.search import bp
from webapp.search import keyset
from webapp.search import query
from webapp.search.criteria import FIELDS
from webapp.search.criteria import Criteria
from webapp.search.criteria import read_criteria
from webapp.search.lights import LIGHT_LABELS
from webapp.search.lights import SORT_LABELS
from webapp.search.lights import SOURCE_LABELS
from webapp.search.lights import TASK_STAGES
from webapp.workspace import unit_names

GROUP_LABELS = {"open": N_("办理中（全部未办结）"), "finished": N_("已办结（全部）")}


SEALED = "phone_sealed"  # the searched number, encrypted, so paging keeps it without the page showing it


def _values() -> Mapping[str, str]:
    """The submitted criteria; a sealed phone from the previous page counts as typed when the field is empty."""
    values = request.form if request.method == "POST" else request.args
    if request.method != "POST" or values.get("phone") or not values.get(SEALED):
        return values
    try:
        phone = pii.cipher().decrypt(SEALED, values[SEALED]) or ""
    except (ValueError, pii.PiiKeyError):
        phone = ""  # altered or from another key: as if no number was given
    return {**values.to_dict(), "phone": phone}


def _phone_echo(typed: dict[str, str]) -> dict[str, str]:
    """Keep a full number out of the page (S4.3): the field stays empty, a sealed copy and a mask stand in."""
    phone = pii.normalise_phone(typed.get("phone"))
    if len(phone) <= 4:
        return {}
    typed["phone"] = ""
    return {"sealed": pii.cipher().encrypt(SEALED, phone) or "", "masked": pii.mask_phone(phone)}


def _choices() -> dict[str, Any]:
    """The select lists of the search form and the unit names of the results."""
    with runtime().read() as db:
        return {"townships": pairs(db, "townships"), "departments": pairs(db, "departments"),
                "units": unit_names(db)}


def _read(choices: dict[str, Any]) -> tuple[Criteria, dict[str, str]]:
    return read_criteria(_values(), phone_allowed=request.method == "POST",
                         townships={code for code, _ in choices["townships"]},
                         departments={code for code, _ in choices["departments"]})


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    typed = {name: str(_values().get(name, "")) for name in FIELDS}
    for name in ("text", "address"):  # a refused number is not shown back either
        typed[name] = "" if has_number(typed[name]) else typed[name]
    searched_phone = _phone_echo(typed)
    stage = typed["stage"]
    may_export = allowed(RULES.get("search.export"), signed_in=True, roles=current_user.roles)
    return render_template("search/index.html", typed=typed, may_export=may_export, labels=labels,
                           groups=GROUP_LABELS, lights=LIGHT_LABELS, sorts=SORT_LABELS, sources=SOURCE_LABELS,
                           stage_label=gettext(TASK_STAGES.get(stage, "")) if stage in TASK_STAGES else "",
                           searched_phone=searched_phone, **context), status


@bp.route("", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    """Show the search form and, once asked, one page of matching cases (20 a page)."""
    choices = _choices()
    if request.method == "GET" and not any(request.args.get(name) for name in (*FIELDS, "page")):
        return _page(errors={}, searched=False, **choices)
    criteria, errors = _read(choices)
    if errors:
        return _page(400, errors=errors, searched=False, **choices)
    viewer = casework.viewer()
    after = keyset.read(_values().get("after")) if query.keyset_paged(criteria) else None
    criteria = replace(criteria, page=after.page) if after else criteria  # 下一页 by cursor (keyset.py)
    with runtime().read() as db:
        if criteria.phone_mode and casework.phone_lookups_exhausted(db):
            abort(429)
        at = now()
        total = query.count(db, criteria, viewer, at)
        found = query.cases(db, criteria, viewer, limit=query.PAGE_SIZE,
                            offset=(criteria.page - 1) * query.PAGE_SIZE, now=at, after=after)
        rows = query.rows(db, viewer, found, choices["units"], at)
        following = keyset.token(criteria.page + 1, found[-1]) if found and query.keyset_paged(criteria) else ""
    if criteria.phone_mode:  # who searched by phone and how much they found; never the number
        with runtime().write() as db, db.begin():
            casework.record(db, "case.search_by_phone", object_type="case", object_id=None, count=total,
                            mode=criteria.phone_mode, criteria=criteria.used())
    pages = max(1, math.ceil(total / query.PAGE_SIZE))
    return _page(errors={}, searched=True, rows=rows, total=total, page=criteria.page, pages=pages,
                 following=following, **choices)
