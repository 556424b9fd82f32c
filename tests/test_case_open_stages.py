"""hotline_case.open_stages follows the open tasks through claim, complete and return (退单), and the board's stage
counts read it (issue 13, migration 0026)."""

from __future__ import annotations

import sqlalchemy as sa

from processes.runtime import assignment
from processes.runtime import commands
from processes.runtime.models import HumanTask
from tests.workspace_support import Workspace


def stored(ws: Workspace, case: commands.Started) -> set[str]:
    """The stages the case row holds."""
    return set((ws.office.case(case).open_stages or "").split())


def truth(ws: Workspace, case: commands.Started) -> set[str]:
    """The BPMN ids of the case's open tasks, from the task rows."""
    with ws.office.rt.read() as db:
        return set(db.scalars(sa.select(HumanTask.bpmn_id).where(HumanTask.case_id == case.case_id,
                                                                 HumanTask.status == "open")))


def test_the_stages_follow_claim_complete_and_return(ws: Workspace) -> None:
    office, case = ws.office, ws.dispatched("sthj")
    sign = office.task(case, "sign_for")
    assert stored(ws, case) == truth(ws, case) == {"sign_for"}
    assignment.claim(office.rt, case.instance_id, sign.id, actor="h1")
    assert stored(ws, case) == {"sign_for"}
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    assert stored(ws, case) == truth(ws, case) == {"reply"}
    returned = ws.dispatched("sthj")
    office.complete(returned, "sign_for", {"sign_decision": "return", "return_reason": "不属于本单位职责"},
                    department="sthj", actor="h1")
    assert stored(ws, returned) == truth(ws, returned) and "sign_for" not in stored(ws, returned)


def test_the_board_counts_each_stage_as_the_search_does(ws: Workspace) -> None:
    office, signing, replying = ws.office, ws.dispatched("sthj"), ws.dispatched("sthj")
    office.complete(replying, "sign_for", {"sign_decision": "sign"}, department="sthj", actor="h1")
    client = ws.user("stage-sup", "supervisor")
    page = client.get("/monitor?department=sthj").get_data(as_text=True)
    for stage, case, other in (("sign_for", signing, replying), ("reply", replying, signing)):
        found = client.get(f"/search?status=open&stage={stage}&department=sthj").get_data(as_text=True)
        assert case.case_id in found and other.case_id not in found
        assert f"stage={stage}" in page
