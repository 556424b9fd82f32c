"""Direct answers at intake (直接答复): register a consultation answered on the spot and close it, in one command.

The phone and visit screens offer it. One submit checks the intake fields and the answer (the bundle's
direct_answer form), then opens the case with `answered_at_intake`: the channel diagram routes it straight to
直接答复 → 办结 → 归档 (no 初审, no 派单, no dispatcher task; domain.md §2: 3a → 13). The answer text is free text,
so it lands in `case_text` with the registration, never in workflow data. The same transaction writes the audit
rows and checks that the diagram did close the case: a version that would leave it waiting, or a failing step,
rolls everything back, so no half-registered case remains.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from processes.cases import forms
from processes.cases.models import Case
from processes.errors import RuntimeErrorBase
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from webapp import schemaforms
from webapp.casework import record
from webapp.messages import _l

# Only a consultation (咨询) is answered on the spot: complaints, reports, help requests and suggestions need a
# unit to act, so they go through 初审 and 派单 (domain.md §2 3a, §4).
ANSWERABLE = frozenset({"consult"})
ANSWER_FIELD = "direct_answer"
ANSWERED_STATUS = "archived"  # where the channel diagram's direct-answer branch ends (办结, then 归档)
ONLY_CONSULT = _l("只有咨询类诉求可以当场直接答复并办结；投诉、举报、求助、建议等须登记后经初审派单办理。"
                  "可取消勾选“直接答复”后登记。")
NO_ANSWER_FORM = _l("该渠道的流程没有直接答复表单，不能当场办结。请取消勾选“直接答复”后登记。")


class NotClosed(RuntimeErrorBase):
    """The published process did not close the case answered at intake; nothing was registered (503)."""

    http_status = 503

    def __init__(self) -> None:
        super().__init__(str(_l("当前发布的流程未能当场办结这件直接答复，本次没有登记任何内容。"
                                "请取消勾选“直接答复”按一般工单登记，并联系系统管理员。")))


def read_answer(form: schemaforms.FormData, schema: Mapping[str, Any] | None,
                request_type: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (answer data, errors) of the direct-answer part of an intake form (the bundle's direct_answer form)."""
    errors: dict[str, str] = {}
    if request_type not in ANSWERABLE:
        errors["request_type"] = ONLY_CONSULT
    if schema is None:
        errors[ANSWER_FIELD] = NO_ANSWER_FORM
        return {}, errors
    answer, problems = schemaforms.read(schemaforms.describe(schema), form)
    errors.update(problems)
    for name, message in forms.errors_of(schema, answer).items():
        errors.setdefault(name, message)
    return answer, errors


def start_data(intake: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """Return the start data of a case answered at intake: the intake, the answer and the routing switch."""
    return {**intake, **answer, "answered_at_intake": True}


def closing(register: Also, answer: Mapping[str, Any], intake: Mapping[str, Any]) -> Also:
    """Return the writer that checks the case was closed by its diagram, then writes both audit rows."""
    def write(conn: Connection, opened: CommandSummary) -> None:
        row = conn.execute(sa.select(Case.status, Case.direct_answer, Case.closed_at)
                           .where(Case.id == opened.case_id)).first()
        if opened.status != "completed" or row is None or row.status != ANSWERED_STATUS \
                or not row.direct_answer or row.closed_at is None:
            raise NotClosed()  # the whole registration rolls back: no case, requester, answer or audit row
        register(conn, opened)  # the case.register row
        record(conn, "case.direct_answer", object_type="case", object_id=opened.case_number,
               fields=sorted(answer), request_type=intake.get("request_type"),
               answer_source=answer.get("answer_source"), after={"status": row.status, "direct_answer": True})
    return write
