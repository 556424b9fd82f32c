"""hotline_case.open_task_due and next_timer_due follow the task and timer rows through every command (issue 13)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from handlers.casework import FINISHED
from processes.cases.models import FINISHED_STATUSES
from processes.cases.models import Case
from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from processes.runtime.models import TimerJob
from processes.runtime.reassign import Seen
from processes.runtime.reassign import reassign_task
from tests.workspace_support import Workspace


def columns(ws: Workspace, case: commands.Started) -> tuple[object, object]:
    """The case's stored columns."""
    found = ws.office.case(case)
    return found.open_task_due, found.next_timer_due


def truth(ws: Workspace, case: commands.Started) -> tuple[object, object]:
    """What the rows say: the earliest open task's due time and the earliest pending timer."""
    with ws.office.rt.read() as db:
        task = db.scalar(sa.select(sa.func.min(HumanTask.due_at)).where(
            HumanTask.case_id == case.case_id, HumanTask.status == "open"))
        timer = db.scalar(sa.select(sa.func.min(TimerJob.due_at)).join(
            ProcessInstance, ProcessInstance.id == TimerJob.instance_id).where(
            ProcessInstance.case_id == case.case_id, TimerJob.status == "pending", TimerJob.kind == "timer"))
    return task, timer


def test_the_columns_follow_claim_complete_reschedule_reassign_suspend_and_terminate(ws: Workspace) -> None:
    office, case = ws.office, ws.dispatched("sthj")
    sign = office.task(case, "sign_for")
    assert sign.due_at is not None and columns(ws, case) == truth(ws, case) == (sign.due_at, columns(ws, case)[1])
    assignment.claim(office.rt, case.instance_id, sign.id, actor="h1")
    assert columns(ws, case) == truth(ws, case)
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    reply = office.task(case, "reply")
    assert reply.due_at is not None and reply.due_at != sign.due_at
    assert columns(ws, case) == truth(ws, case) and columns(ws, case)[0] == reply.due_at
    moved = reply.due_at + timedelta(days=3)
    with office.rt.read() as db:
        red = db.scalar(sa.select(TimerJob.task_id).where(
            TimerJob.instance_id == case.instance_id, TimerJob.bpmn_id == "red_timer", TimerJob.status == "pending"))
    assert red is not None
    control.reschedule_timers(office.rt, case.instance_id, actor="sup", reason="延期", new_due={red: moved})
    assert office.task(case, "reply").due_at == moved
    assert columns(ws, case) == truth(ws, case) and columns(ws, case)[0] == moved
    with office.rt.read() as db:
        version = db.get(ProcessInstance, case.instance_id).version  # type: ignore[union-attr]
    reassign_task(office.rt, case.instance_id, reply.id, actor="sup", reason="改派", seen=Seen(version, None),
                  department="zjj")
    assert columns(ws, case) == truth(ws, case) and columns(ws, case)[0] == moved
    control.suspend(office.rt, case.instance_id, actor="sup", reason="挂起")
    assert columns(ws, case) == truth(ws, case)
    control.resume(office.rt, case.instance_id, actor="sup", reason="恢复")
    control.terminate(office.rt, case.instance_id, actor="sup", reason="终止")
    assert columns(ws, case) == truth(ws, case) == (None, None)


def test_the_search_and_board_read_the_column_as_the_rows_do(ws: Workspace) -> None:
    office, case = ws.office, ws.dispatched("sthj")
    sign = office.task(case, "sign_for")
    with office.rt.write() as db, db.begin():  # a stale column would show here: the lists read only the column
        db.execute(sa.update(Case).where(Case.id == case.case_id).values(deadline=None, upstream_deadline=None))
    client = ws.user("due-sup", "supervisor")
    page = client.get("/search?status=open&sort=deadline&department=sthj")
    assert page.status_code == 200 and case.case_id in page.get_data(as_text=True)
    assert columns(ws, case)[0] == sign.due_at


def test_the_open_index_names_the_finished_statuses() -> None:
    assert FINISHED_STATUSES == FINISHED
