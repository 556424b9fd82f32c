"""The case page (工单详情), the audited reveal of the requester (查看完整信息) and attachment downloads.

A case id the user may not open answers 404 like an absent one (no IDOR, no hint it exists). Case pages are never
cached (`no-store`). Revealing needs a reason and a role; the reveal, granted or refused, is an audit row committed
before the answer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import IO

from flask import Blueprint
from flask import Response
from flask import abort
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from processes.cases import access
from processes.cases import attachments
from processes.cases import disclosure
from processes.cases.models import Attachment
from processes.cases.numbers import mask_numbers
from processes.cases.sealing import AttachmentUnreadable
from processes.errors import FormDataInvalid
from webapp import labels
from webapp.cases import detail
from webapp.cases import files
from webapp.casework import record
from webapp.casework import viewer
from webapp.context import audit_context
from webapp.context import now
from webapp.context import runtime
from webapp.messages import _l
from webapp.timefmt import local_time
from webapp.workspace import countdown_words
from webapp.workspace import is_htmx

bp = Blueprint("cases", __name__, url_prefix="/cases")
REVEAL_REFUSED = _l("您无权查看完整信息，此次请求已记录。")
ATTACHMENT_UNREADABLE = _l("附件文件校验未通过（可能已被改动或密钥不符），无法下载，请联系系统管理员。")
REVEAL_SECONDS = 60  # revealed values are masked again after this long (S4.3)


@bp.after_request
def never_cache(response: Response) -> Response:
    """Case pages carry personal data: browsers and proxies must not keep them."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.app_template_filter("ws_time")
def ws_time(value: object) -> str:
    """Show an aware time as Beijing wall-clock text."""
    return local_time(value) if isinstance(value, datetime) else ""


@bp.get("/<case_id>")
def show(case_id: str) -> ResponseReturnValue:
    """Show a case the user may open: fields, requester, deadlines, tasks, texts, history, attachments, links."""
    who, rt = viewer(), runtime()
    with rt.read() as db:
        case = access.visible_case(db, who, case_id)
        if case is None:
            abort(404)
        view = detail.full(db, rt, who, case, now())
    return render_template("cases/detail.html", view=view, labels=labels, words=countdown_words())


@bp.get("/<case_id>/requester")
def requester(case_id: str) -> ResponseReturnValue:
    """Return the requester block as this user sees it by default (masked again after a reveal)."""
    who = viewer()
    with runtime().read() as db:
        case = access.visible_case(db, who, case_id)
        if case is None:
            abort(404)
        view = detail.summary(db, who, case, now())
    return render_template("cases/_requester.html", view=view)


@bp.post("/<case_id>/reveal")
def reveal(case_id: str) -> ResponseReturnValue:
    """Show the requester's values in full to a supervisor or leader who gives a reason (audited either way)."""
    who, rt = viewer(), runtime()
    reason = request.form.get("reason", "")
    values: dict[str, str] | None = None
    try:
        with rt.write() as db, db.begin():
            case = access.visible_case(db, who, case_id)
            visible = case is not None
            if case is None:
                # the id is whatever was in the address: a number typed there is masked, not refused
                record(db, "pii.reveal", object_type="case", object_id=mask_numbers(case_id)[:64], result="denied",
                       reason="not_visible")
            else:
                values = disclosure.reveal(db, who, case, reason, now=now(),
                                           audit_context=audit_context(current_user.session_hash))
    except FormDataInvalid as error:
        return _requester_answer(case_id, error=str(error.errors.get("reason") or error), status=400)
    if not visible:
        abort(404)
    if values is None:
        return _requester_answer(case_id, error=REVEAL_REFUSED, status=403)
    return _requester_answer(case_id, revealed=values)


def _requester_answer(case_id: str, *, revealed: dict[str, str] | None = None, error: str | None = None,
                      status: int = 200) -> ResponseReturnValue:
    """Answer a reveal: the requester fragment for htmx, else the whole case page with the fragment in it."""
    who, rt = viewer(), runtime()
    with rt.read() as db:
        case = access.visible_case(db, who, case_id)
        if case is None:
            abort(404)
        view = detail.summary(db, who, case, now()) if is_htmx() else detail.full(db, rt, who, case, now())
    context = {"view": view, "revealed": revealed, "reveal_error": error, "remask_seconds": REVEAL_SECONDS}
    if is_htmx():
        return render_template("cases/_requester.html", **context), status
    return render_template("cases/detail.html", labels=labels, words=countdown_words(), **context), status


@bp.get("/<case_id>/attachments/<attachment_id>")
def attachment(case_id: str, attachment_id: str) -> ResponseReturnValue:
    """Send an attachment of a case the user may open (404 for anything else: no IDOR), audited; a file that fails
    its seal (altered, or under a key not configured) is refused with 409 and audited as failed."""
    who = viewer()
    if not attachments.is_attachment_id(attachment_id):
        abort(404)
    opened: tuple[IO[bytes], int] | None = None
    refused: AttachmentUnreadable | None = None
    with runtime().write() as db, db.begin():
        case = access.visible_case(db, who, case_id)
        row = db.get(Attachment, attachment_id) if case is not None else None
        if case is not None and row is not None and row.case_id == case.id:
            try:
                opened = attachments.open_stored(files.folder(), attachment_id)
            except FileNotFoundError:
                pass
            except AttachmentUnreadable as exc:
                refused = exc
        if row is None or case is None or (opened is None and refused is None):
            # audited as a denial, answered like an absent file: another unit's ids tell nothing
            record(db, "attachment.download", object_type="attachment", object_id=attachment_id, result="denied")
        else:
            record(db, "attachment.download", object_type="attachment", object_id=row.id, case=case.number,
                   sha256=row.sha256, result="failure" if refused else "success")
            sent = (row.original_name, row.content_type)
    if refused is not None:
        logging.getLogger(__name__).warning("attachment %s refused: %s", attachment_id, refused)
        abort(409, description=ATTACHMENT_UNREADABLE)
    if opened is None:
        abort(404)
    return files.download(*opened, *sent)
