"""Audit log pages: the filtered list (newest first), one row, the chain's status with an on-demand verify, and
the CSV export."""

from __future__ import annotations

import csv
import io

from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Connection

from processes.accounts.roles import ROLES
from processes.audit.chain import verify as verify_chain
from processes.audit.export import EXPORT_COLUMNS
from processes.audit.export import cell
from processes.audit.record import RESULTS
from webapp.auditlog import bp
from webapp.auditlog import queries
from webapp.auditlog import texts
from webapp.auth.forms import ActionForm
from webapp.casework import record
from webapp.config import ConfigError
from webapp.config import audit_key
from webapp.context import now
from webapp.context import runtime
from webapp.params import whole_number
from webapp.timefmt import LOCAL

EXPORT_LIMIT = 100_000  # rows per export; narrow the filters (e.g. the dates) for more
_ANCHOR_HEX = frozenset("0123456789abcdef")


def _read() -> Connection:
    """Open a connection for queries (Core: rows are plain mappings)."""
    return runtime().reader.connect()


@bp.get("")
def index() -> ResponseReturnValue:
    """List audit rows, newest first, 50 a page (keyset on id), with filters and the chain's status.

    Viewing is a sensitive read: each page writes one `audit.view` row naming the filters used (not their values).
    """
    flt = queries.parse_filter(request.args)
    with _read() as conn:
        rows, cursor = ([], None) if flt.errors else queries.page(conn, flt)
        status = queries.chain_status(conn)
    with runtime().write() as db, db.begin():
        record(db, "audit.view", object_type="audit_log", object_id=None,
               result="failure" if flt.errors else "success", filters=flt.used(), rows=len(rows),
               page="next" if flt.before is not None else "first")
    page = render_template("auditlog/index.html", rows=rows, cursor=cursor, flt=flt, status=status,
                           results=RESULTS, form=ActionForm(), roles=ROLES)
    return page, 400 if flt.errors else 200


@bp.get("/<int:row_id>")
def detail(row_id: int) -> ResponseReturnValue:
    """Show one audit row in full: before, after and detail as indented JSON (escaped, masked)."""
    with _read() as conn:
        row = queries.one(conn, row_id)
    if row is None:
        abort(404)
    with runtime().write() as db, db.begin():
        record(db, "audit.view", object_type="audit_log", object_id=str(row_id))
    return render_template("auditlog/detail.html", row=row)


def _anchor(text: str) -> tuple[int, str] | str | None:
    """Parse an optional SEQ:HASH anchor; return the error text when malformed."""
    if not text:
        return None
    seq, sep, value = text.partition(":")
    value = value.lower()
    number = whole_number(seq)
    if not sep or number is None or len(value) != 64 or not set(value) <= _ANCHOR_HEX:
        return str(texts.ANCHOR_INVALID)
    return number, value


@bp.post("/verify")
def verify() -> ResponseReturnValue:
    """Verify the whole chain now (`hotline audit verify`), optionally against an anchor; audited with its result."""
    anchor = _anchor(request.form.get("anchor", "").strip())
    if isinstance(anchor, str):
        with runtime().write() as db, db.begin():
            record(db, "audit.verify", object_type="audit_log", object_id=None, result="failure", reason="bad_anchor")
        abort(400, description=anchor)
    try:
        key, _warning = audit_key(current_app)
    except ConfigError:
        with runtime().write() as db, db.begin():
            record(db, "audit.verify", object_type="audit_log", object_id=None, result="failure", reason="no_key")
        abort(503, description=str(texts.NO_KEY))
    report = verify_chain(runtime().db, key, anchor=anchor)
    problem = report.problem
    with runtime().write() as db, db.begin():
        record(db, "audit.verify", object_type="audit_log", object_id=None,
               result="success" if problem is None else "failure", checked=report.checked,
               first_seq=report.first_seq, last_seq=report.last_seq, head_seq=report.head_seq,
               unsealed=report.unsealed, anchored=anchor is not None,
               problem=problem.kind if problem is not None else None,
               problem_seq=problem.seq if problem is not None else None)
    if problem is None:
        flash(texts.INTACT.format(checked=report.checked, unsealed=report.unsealed), "success")
    else:
        flash(texts.BROKEN.format(kind=texts.PROBLEMS.get(problem.kind, problem.kind), seq=problem.seq), "error")
    return redirect(url_for("auditlog.index"))


@bp.get("/export")
def export() -> ResponseReturnValue:
    """Export the rows the filters match as CSV (UTF-8 with BOM, oldest first; formulas neutralised, masked).

    An export is a sensitive read: one `audit.export` row with the row count and the filters used.
    """
    flt = queries.parse_filter(request.args)
    if flt.errors:
        abort(400, description=str(texts.FILTER_INVALID))
    with _read() as conn:
        rows = list(conn.execute(queries.filtered(flt).order_by(queries.LOG.c.id).limit(EXPORT_LIMIT + 1))
                    .mappings())
    if len(rows) > EXPORT_LIMIT:
        with runtime().write() as db, db.begin():
            record(db, "audit.export", object_type="audit_log", object_id=None, result="failure",
                   reason="too_many", filters=flt.used(), limit=EXPORT_LIMIT)
        abort(400, description=str(texts.TOO_MANY).format(limit=EXPORT_LIMIT))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([cell(queries.mask(row[name])) for name in EXPORT_COLUMNS])
    with runtime().write() as db, db.begin():
        record(db, "audit.export", object_type="audit_log", object_id=None, rows=len(rows), filters=flt.used())
    name = f"audit-{now().astimezone(LOCAL):%Y%m%d-%H%M%S}.csv"
    return ("\ufeff" + buffer.getvalue(), 200, {"Content-Type": "text/csv; charset=utf-8",
                                                 "Content-Disposition": f"attachment; filename={name}"})
