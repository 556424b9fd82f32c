"""Direct answers in one step (直接答复): a consultation answered at the phone or visit desk is registered and
closed by one submit, counted for 直办率, its answer kept out of workflow state, atomic and audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.runtime.handler_api import HandlerError
from processes.runtime.handler_api import HandlerSpec
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from tests.intake_support import CALL
from tests.intake_support import WEDNESDAY_MORNING
from tests.intake_support import case_by_number
from tests.intake_support import cases
from tests.intake_support import complete
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_tasks
from tests.intake_support import register
from tests.intake_support import signed_in
from tests.lifecycle_support import at
from tests.web_support import audit_rows
from tests.web_support import location
from webapp import runtime_of

ANSWER = "社保卡补办请到区行政服务中心一楼社保窗口，工作日 9:00-17:00，带身份证；也可拨打 13912345678 预约。"
CONSULT = {**CALL, "request_type": "consult", "category": "社会保障", "title": "社保卡补办",
           "content": "社保卡丢失，问在哪里补办"}
ANSWERED = {**CONSULT, "answer_now": "true", "direct_answer": ANSWER, "answer_source": "policy"}
REFUSED_TYPES = ("complaint", "report", "help", "suggestion", "praise", "other")


@pytest.fixture
def app(db_url: str, office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """The web app on a prepared office, on SQLite and on PostgreSQL."""
    yield from office_app(office_url(db_url, office_template, tmp_path))


def rows(app: Flask, model: Any, case_id: str | None = None) -> list[Any]:
    """Every row of a table (of one case when `case_id` is given)."""
    query = sa.select(model)
    if case_id is not None:
        query = query.where(model.case_id == case_id)
    with runtime_of(app).read() as db:
        return list(db.scalars(query))


def nothing_stored(app: Flask) -> None:
    """Assert that no trace of a registration is left: case, requester, text, instance, history, jobs, audit."""
    for model in (Case, Requester, CaseText, ProcessInstance, HistoryEvent, HumanTask, TimerJob):
        assert rows(app, model) == [], model.__tablename__
    assert audit_rows(app, "case.register") == [] and audit_rows(app, "case.direct_answer") == []


@pytest.mark.parametrize("channel", ["phone", "visit"])
def test_one_submit_registers_answers_and_closes_the_case(app: Flask, channel: str) -> None:
    client = signed_in(app, "op1", "operator")  # an operator only: no dispatcher role is needed, none is asked
    response = register(client, channel, **ANSWERED)
    assert response.status_code == 302 and location(response).startswith("/cases/")
    page = client.get(location(response)).get_data(as_text=True)
    [case] = cases(app)
    assert f"工单 {case.number} 已登记并办结（直接答复），已归档。" in page
    assert (case.channel, case.request_type, case.status) == (channel, "consult", "archived")
    assert case.direct_answer is True and case.closed_at == at(WEDNESDAY_MORNING)
    [instance] = rows(app, ProcessInstance, case.id)
    assert (instance.process_key, instance.status) == (f"case_{channel}", "completed")
    assert rows(app, HumanTask, case.id) == []  # no task was ever created: no 初审, no 派单, no 挂网审核
    assert rows(app, TimerJob) == []
    history = [(e.kind, e.actor) for e in rows(app, HistoryEvent, case.id)]
    assert history[0] == ("started", "op1") and history[-1] == ("completed", "op1")
    assert {kind for kind, _ in history} <= {"started", "status_changed", "completed"}  # no task, no error
    assert {actor for _, actor in history} == {"op1"}
    [text] = rows(app, CaseText, case.id)
    assert (text.field, text.value, text.task_id, text.created_by) == ("direct_answer", ANSWER, None, "op1")


def test_the_case_page_shows_the_closed_case_and_its_answer_masked(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    page = client.get(location(register(client, "phone", **ANSWERED))).get_data(as_text=True)
    assert "已归档" in page and "答复内容" in page and "区行政服务中心一楼社保窗口" in page
    assert "139****5678" in page and "13912345678" not in page  # no contact task: numbers in free text masked
    assert "138****5678" in page and CALL["requester_phone"] not in page
    supervisor = signed_in(app, "sv1", "supervisor")
    number = cases(app)[0].number
    found = supervisor.get(f"/cases/{cases(app)[0].id}").get_data(as_text=True)
    assert number in found and "139****5678" in found and "13912345678" not in found
    timeline = page.split("办理过程", 1)[1].split("</table>", 1)[0]
    [step] = [row for row in timeline.split("<tr") if "直接答复办结" in row]
    assert "答复内容：" in step and "区行政服务中心一楼社保窗口" in step  # the answer is on its own step
    assert "139****5678" in step and "13912345678" not in step


def test_both_audit_rows_in_the_registration_and_no_personal_values(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    register(client, "phone", **ANSWERED)
    [case] = cases(app)
    [registered] = audit_rows(app, "case.register")
    [answered] = audit_rows(app, "case.direct_answer")
    assert (registered["object_id"], registered["actor"], registered["result"]) == (case.number, "op1", "success")
    assert (answered["object_id"], answered["actor"], answered["result"]) == (case.number, "op1", "success")
    assert answered["detail"] == {"fields": ["answer_source", "direct_answer"], "request_type": "consult",
                                  "answer_source": "policy"}
    assert answered["after"] == {"status": "archived", "direct_answer": True}
    for row in (registered, answered):
        dumped = json.dumps(row, default=str, ensure_ascii=False)
        assert "社保窗口" not in dumped and CALL["requester_phone"] not in dumped and "王小明" not in dumped


def test_the_answer_never_enters_workflow_state(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    register(client, "phone", **ANSWERED)
    [case] = cases(app)
    [instance] = rows(app, ProcessInstance, case.id)
    for stored in (instance.snapshot, instance.projection):
        assert "社保窗口" not in stored and "13912345678" not in stored and CALL["requester_phone"] not in stored
    data = json.loads(instance.snapshot)["data"]
    assert data["answered_at_intake"] is True and "direct_answer" not in data  # the diagram gets the switch only
    for event in rows(app, HistoryEvent, case.id):
        assert "社保窗口" not in json.dumps([event.fields, event.detail], ensure_ascii=False)
    [started] = [e for e in rows(app, HistoryEvent, case.id) if e.kind == "started"]
    assert "direct_answer" in started.fields  # history names the field, never its value


def test_counted_as_a_direct_answer_by_what_the_metric_reads(app: Flask) -> None:
    """直办率 = answered directly ÷ accepted (§7): `direct_answer` over accepted cases; `closed_at` dates it."""
    client = signed_in(app, "op1", "operator")
    register(client, "phone", **ANSWERED)
    register(client, "visit", **{**ANSWERED, "requester_phone": "13700001111"})
    register(client, "phone", **{**CONSULT, "requester_phone": "13600002222"})  # registered for triage
    register(client, "phone", **{**CALL, "requester_phone": "13500003333"})  # a complaint
    triaged = next(c for c in cases(app) if c.status == "registered" and c.request_type == "consult")
    complete(app, triaged.id, "triage", {"request_type": "consult", "urgency": "normal",
                                         "triage_result": "direct_answer"})
    complete(app, triaged.id, "direct_answer", {"direct_answer": "告知补办地点"}, actor="op1")
    with runtime_of(app).read() as db:
        answered = db.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.direct_answer.is_(True)))
        accepted = db.scalar(sa.select(sa.func.count()).select_from(Case).where(
            Case.status.not_in(("merged", "rejected", "transferred", "returned_to_110"))))
        closed = list(db.scalars(sa.select(Case.closed_at).where(Case.direct_answer.is_(True))))
    assert (answered, accepted) == (3, 4)  # both intake answers and the one answered after triage
    assert closed == [at(WEDNESDAY_MORNING)] * 3
    assert case_by_number(app, triaged.number).status == "closed"  # that one still waits for 挂网审核


@pytest.mark.parametrize("request_type", REFUSED_TYPES)
def test_other_request_types_are_refused_with_the_typed_values_kept(app: Flask, request_type: str) -> None:
    client = signed_in(app, "op1", "operator")
    response = register(client, "phone", **{**ANSWERED, "request_type": request_type})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="e-request_type">只有咨询类诉求可以当场直接答复并办结' in html
    assert f'value="{request_type}" checked' in html or f'value="{request_type}" selected' in html
    assert f'value="{CALL["requester_phone"]}"' in html and CONSULT["content"] in html
    assert f">{ANSWER}</textarea>" in html and 'id="answer-now" name="answer_now" value="true" checked' in html
    assert '<option value="policy" selected>' in html
    nothing_stored(app)


def test_an_empty_answer_is_refused_and_nothing_registered(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    response = register(client, "phone", **{**ANSWERED, "direct_answer": "   "})
    assert response.status_code == 400 and "此项必填" in response.get_data(as_text=True)
    bad_source = register(client, "phone", **{**ANSWERED, "answer_source": "guess"})
    assert bad_source.status_code == 400 and "请从列表中选择" in bad_source.get_data(as_text=True)
    nothing_stored(app)


def test_an_earlier_open_case_of_the_caller_does_not_hold_the_answer_for_a_merge(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    register(client, "phone", **CALL)  # the same caller's complaint, still open
    register(client, "phone", **ANSWERED)
    complaint, consult = cases(app)
    assert open_tasks(app, complaint.id) == ["triage"]
    assert consult.status == "archived" and open_tasks(app, consult.id) == []  # no 并单确认 first


def test_a_step_that_fails_leaves_no_half_registered_case(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runtime_of(app).handlers["case.set_status"]

    def failing(ctx: Any, status: str) -> Any:
        if status == "archived":
            raise HandlerError("case store unavailable")
        return real.fn(ctx, status=status)

    monkeypatch.setitem(runtime_of(app).handlers, "case.set_status",
                        HandlerSpec(real.operator_id, failing, real.label_zh, real.params))
    client = signed_in(app, "op1", "operator")
    response = register(client, "phone", **ANSWERED)
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "本次没有登记任何内容" in html
    assert f">{ANSWER}</textarea>" in html and f'value="{CALL["requester_phone"]}"' in html
    nothing_stored(app)  # not an instance in error with a retry job: nothing at all


def test_a_process_that_would_not_close_the_case_registers_nothing(app: Flask,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """As with a published version that knows no direct answer at intake: the case would wait for 初审."""
    monkeypatch.setattr("webapp.intake.direct.start_data", lambda intake, answer: {**intake, **answer})
    client = signed_in(app, "op1", "operator")
    response = register(client, "visit", **ANSWERED)
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "当前发布的流程未能当场办结这件直接答复" in html
    assert f">{ANSWER}</textarea>" in html
    nothing_stored(app)


def test_an_audit_row_that_cannot_be_written_rolls_the_answer_back(app: Flask,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client = signed_in(app, "op1", "operator")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("webapp.intake.direct.record", broken)
    with pytest.raises(RuntimeError, match="audit store unavailable"):
        register(client, "phone", **ANSWERED)
    nothing_stored(app)


def test_without_the_tick_the_answer_box_is_ignored_and_the_case_goes_to_triage(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    register(client, "phone", **{**ANSWERED, "answer_now": ""})
    [case] = cases(app)
    assert case.status == "registered" and case.direct_answer is False and case.closed_at is None
    assert open_tasks(app, case.id) == ["triage"] and rows(app, CaseText, case.id) == []
    assert audit_rows(app, "case.direct_answer") == []
