"""The office board (督办台) and its rows partial, refreshed in the background every 60 s, counted ≤ 30 s ago."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext

from webapp import casework
from webapp import labels
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_
from webapp.monitor import board
from webapp.monitor import bp
from webapp.monitor import cache
from webapp.monitor.cache import Codec
from webapp.monitor.cache import Counted
from webapp.schemaforms.choices import pairs
from webapp.search.criteria import NO_DEPARTMENT
from webapp.search.criteria import Criteria
from webapp.search.criteria import read_criteria
from webapp.search.lights import LIGHT_LABELS
from webapp.search.lights import SOURCE_LABELS
from webapp.search.lights import TASK_STAGES
from webapp.timefmt import local_time
from webapp.workspace import countdown
from webapp.workspace import countdown_words
from webapp.workspace import unit_names

POLL_SECONDS = 60
FILTERS = ("channel", "request_type", "township", "department", "urgency", "source", "date_from", "date_to", "light",
           "sort")
NO_UNIT = N_("（未派单）")
ORDER_LABELS = {"": N_("按件数（最多在前）"), "deadline": N_("按最紧时限（最紧在前）")}


def _load_choices(data: dict[str, Any]) -> dict[str, Any]:
    """The choices back from JSON: code and name pairs as tuples again."""
    return {**data, "townships": [tuple(p) for p in data["townships"]],
            "departments": [tuple(p) for p in data["departments"]]}


BOARD: Codec[board.Board] = Codec(board.dump, board.load)
CHOICES: Codec[dict[str, Any]] = Codec(dict, _load_choices)


def _choices() -> Counted[dict[str, Any]]:
    """The filters' choices and the names of units and stages (the same for every viewer)."""
    with runtime().read() as db:
        found = {"townships": pairs(db, "townships"), "departments": pairs(db, "departments"),
                 "units": unit_names(db), "tasks": board.task_names(db)}
    return Counted(found, now())


def _read() -> tuple[Criteria, dict[str, Any]]:
    """The board's filters from the address; a value the search would refuse answers 400."""
    choices = cache.of(current_app).get(("choices",), _choices, CHOICES).value
    values = {name: request.args.get(name, "") for name in FILTERS}
    criteria, errors = read_criteria(values, phone_allowed=False, townships={c for c, _ in choices["townships"]},
                                     departments={c for c, _ in choices["departments"]})
    if errors:
        abort(400, description=gettext("筛选条件不正确：%(fields)s", fields="、".join(sorted(errors))))
    return replace(criteria, status="open"), choices


def drill(criteria: Criteria, **more: str) -> str:
    """The case search listing the cases behind a count: the board's filters and the count's own, by deadline."""
    return _linker(url_for("search.index"), criteria)(criteria, **more)


def _linker(prefix: str, criteria: Criteria) -> Callable[..., str]:
    """drill() for one page's ~200 links: the board's filters and the search address written once, not per link."""
    fixed: dict[str, str] = {}
    for name in FILTERS:
        value = getattr(criteria, name)
        fixed[name] = value.isoformat() if hasattr(value, "isoformat") else str(value or "")

    def link(_: Criteria, **more: str) -> str:
        args = {**fixed, **more}
        wanted = {"status": "open", "sort": "deadline", **{k: v for k, v in args.items() if v}}
        return f"{prefix}?{urlencode(wanted)}"
    return link


def _render(template: str) -> ResponseReturnValue:
    criteria, choices = _read()
    stage_names = {**choices["tasks"], **{k: gettext(v) for k, v in TASK_STAGES.items()}}
    who = casework.viewer()

    def count() -> Counted[board.Board]:
        at = now()
        with runtime().read() as db:
            return Counted(board.build(db, criteria, who, at, choices["units"], stage_names, criteria.sort), at)

    # one count per filters, reach and language (the stage names) serves this node's supervisors for ≤ 30 s
    counted = cache.of(current_app).get(("board", cache.scope(who), criteria, str(get_locale())), count, BOARD)
    shown, at, current = counted.value, counted.at, now()
    filters: dict[str, Any] = {name: request.args.get(name, "") for name in FILTERS}
    return render_template(template, board=shown, criteria=criteria, filters=filters,
                           drill=_linker(url_for("search.index"), criteria),
                           lights=board.LIGHTS, light_labels=LIGHT_LABELS, labels=labels, poll=POLL_SECONDS,
                           sources=SOURCE_LABELS, orders=ORDER_LABELS, words=countdown_words(),
                           countdown=lambda due: countdown(due, current),
                           no_unit=gettext(NO_UNIT), no_department=NO_DEPARTMENT, updated=local_time(at, "%H:%M:%S"),
                           rows_url=url_for("monitor.counts", **{k: v for k, v in filters.items() if v}), **choices)


@bp.get("")
def index() -> ResponseReturnValue:
    """The office board: open cases by light, lead unit and stage, within the viewer's reach and the filters."""
    return _render("monitor/index.html")


@bp.get("/counts")
def counts() -> ResponseReturnValue:
    """The board's counts alone: the page polls this every 60 s (X-Background-Refresh: 1)."""
    return _render("monitor/_counts.html")
