"""Routes of the dashboard: the page (数据看板), its numbers as JSON, and the cases behind a figure (下钻)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from sqlalchemy.orm import Session

from processes.metrics import METRICS
from processes.metrics import MetricSettings
from processes.metrics import read_settings
from processes.metrics import rollup
from processes.metrics.periods import office_day
from webapp import casework
from webapp import labels
from webapp.context import now
from webapp.context import runtime
from webapp.dashboard import bp
from webapp.dashboard import cache
from webapp.dashboard import figures
from webapp.dashboard.criteria import Ask
from webapp.dashboard.criteria import choices
from webapp.dashboard.criteria import read_ask
from webapp.dashboard.criteria import read_part
from webapp.params import positive_int
from webapp.timefmt import local_time

PAGE_SIZE = 50
MAX_PAGE = 200


def _payload(db: Session, ask: Ask) -> dict[str, Any]:
    """Return everything the page draws, as JSON-ready data: kept per rollup run (webapp/dashboard/cache.py)."""
    named = figures.names(db)
    unit = casework.viewer().department or ""
    reading = read_settings(db)
    # every input of the answer besides the rollup: the question, who may see it, the language and the names shown
    question = ("payload", tuple(sorted(ask.args().items())), ask.scope, unit if ask.scope == "unit" else None,
                str(get_locale()), tuple((d, tuple(sorted(n.items()))) for d, n in sorted(named.items())))
    return cache.answer(db, reading, question, lambda: _counted(db, ask, named, unit, reading))


def _counted(db: Session, ask: Ask, named: dict[str, dict[str, str]], unit: str,
             reading: MetricSettings) -> dict[str, Any]:
    """Count the page's figures from the rollup."""
    run = rollup.last_run(db)
    figures.prime_drills(db, ask, reading)
    return {
        "ask": ask.args(), "scope": ask.scope,
        "reading": [{"name": n, "value": v} for n, v in reading.lines()],
        "rollup": {"at": local_time(run.finished_at) if run else None, "reading": run.reading if run else None},
        "totals": figures.totals(db, ask), "metric": figures.describe(ask.metric),
        "breakdown": figures.breakdown(db, ask, named), "trend": figures.trend(db, ask),
        "daily": figures.volume(db, ask, "day", "channel", named),
        "weekly": figures.volume(db, ask, "week", "request_type", named),
        "place": figures.place(db, ask, unit) if ask.scope == "unit" else [],
    }


@bp.get("/")
def index() -> ResponseReturnValue:
    """Show the dashboard: rates with formulas, breakdown, trends and volumes, each figure a link to its cases."""
    with runtime().read() as db:
        ask = read_ask(db, casework.viewer(), office_day(now()))
        data = _payload(db, ask)
        options = choices(db)
    return render_template("dashboard/index.html", ask=ask, data=data, options=options,
                           rates=[figures.describe(code) for code in METRICS if METRICS[code].rate])


@bp.get("/data")
def data() -> ResponseReturnValue:
    """Answer the dashboard's numbers as JSON (the same the page draws)."""
    with runtime().read() as db:
        ask = read_ask(db, casework.viewer(), office_day(now()))
        return jsonify(_payload(db, ask))


@bp.get("/cases")
def cases() -> ResponseReturnValue:
    """List the cases behind one side of a figure (counted from the cases, no personal data)."""
    number = positive_int(request.args.get("page"), MAX_PAGE) or 1
    with runtime().read() as db:
        ask = read_ask(db, casework.viewer(), office_day(now()), metrics=tuple(METRICS))
        part = read_part()
        reading, moment = read_settings(db), now()
        total, counted_at = figures.behind_total(db, ask, part, reading, moment)
        lines = figures.lines_behind(db, ask, part, reading, moment, number, PAGE_SIZE)
        named = figures.names(db)
    if request.args.get("format") == "json":
        return jsonify({"total": total, "counted_at": counted_at, "numbers": [line.number for line in lines]})
    return render_template("dashboard/cases.html", ask=ask, part=part, metric=figures.describe(ask.metric),
                           total=total, lines=lines, page=number, pages=max(1, -(-total // PAGE_SIZE)),
                           named=named, label=figures.label, statuses=labels.STATUSES, local_time=local_time,
                           reading=reading.lines(), counted_at=counted_at)
