"""Issue 16, finding 2: refused access is audited (result `denied`), a flood is capped at REFUSAL_AUDIT_PER_MINUTE
rows a minute plus one summary row, and repeated refusals alert the security administrators."""

from __future__ import annotations

import sqlalchemy as sa

from processes.audit.models import RefusalCount
from processes.runtime.models import OutboxMessage
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from webapp import runtime_of
from webapp.scheduler import summarise_refusals

DENIED = ("access.denied", "access.denied_summary", "access.refusal_alert")


def refused(ws: Workspace) -> list[dict[str, object]]:
    """The refusal audit rows, oldest first."""
    return [r for r in audit_rows(ws.app) if r["action"] in DENIED]


def test_refusals_by_role_object_csrf_and_anonymous_callers_are_audited(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    outsider = ws.user("h9", "handler", department="zjj")
    assert outsider.get(f"/cases/{case.case_id}").status_code == 404  # another unit's case (object rule)
    assert outsider.get("/admin/users").status_code == 403  # the permission table
    assert outsider.post("/auth/sessions/end-all").status_code == 400  # no CSRF token
    anonymous = ws.app.test_client()
    assert anonymous.get("/search").status_code == 302  # a protected page: sent to the login form
    assert anonymous.get("/no/such/page").status_code == 404  # no route: not audited
    assert anonymous.get("/static/no-such.js").status_code == 404  # no file: not audited
    rows = refused(ws)
    got = [(r["actor"], r["result"], r["detail"]["reason"], r["detail"]["endpoint"], r["detail"]["method"])
           for r in rows]
    assert got == [("h9", "denied", "object", "cases.show", "GET"),
                   ("h9", "denied", "role", "admin.users", "GET"),
                   ("h9", "denied", "csrf", "auth.end_all", "POST"),
                   ("anonymous", "denied", "login", "search.index", "GET")]
    assert (rows[0]["object_type"], rows[0]["object_id"]) == ("case", case.case_id)
    assert rows[0]["role"] and rows[0]["session_hash"] and rows[0]["request_id"]
    assert rows[3]["source_ip"] == "127.0.0.1" and rows[3]["session_hash"] is None
    assert outsider.get(f"/cases/{case.case_id}/requester").status_code == 404  # still answered the same way


def test_a_flood_is_capped_summarised_once_and_alerts_the_security_administrators(ws: Workspace) -> None:
    prober = ws.user("h8", "handler", department="zjj")
    for n in range(25):
        assert prober.get(f"/cases/00000000-0000-4000-8000-{n:012d}").status_code == 404
    rows = refused(ws)
    assert [r["action"] for r in rows] == ["access.denied"] * 20 + ["access.refusal_alert"]
    assert rows[-1]["result"] == "alert" and rows[-1]["detail"]["refusals_this_minute"] == 21
    with runtime_of(ws.app).read() as db:
        alerts = list(db.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "security.repeated_refusals")))
        assert db.scalar(sa.select(RefusalCount.refused)) == 25  # counted outside the audit table
    assert len(alerts) == 1 and alerts[0].channel == "internal" and alerts[0].payload["target"] == "secadmin"
    ws.office.clock.advance(minutes=1)
    assert summarise_refusals(ws.app) == 1  # the scheduler closes the ended minute
    assert summarise_refusals(ws.app) == 0  # once
    [summary] = [r for r in refused(ws) if r["action"] == "access.denied_summary"]
    assert summary["actor"] == "h8" and summary["result"] == "denied"
    assert (summary["detail"]["refused"], summary["detail"]["not_audited"]) == (25, 5)
    with runtime_of(ws.app).read() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(RefusalCount)) == 0


def test_the_next_refusal_after_the_minute_writes_the_summary(ws: Workspace) -> None:
    prober = ws.user("h7", "handler", department="zjj")
    for _ in range(22):
        prober.get("/admin/users")
    ws.office.clock.advance(seconds=61)
    prober.get("/admin/users")
    actions = [r["action"] for r in refused(ws)]
    assert actions == ["access.denied"] * 20 + ["access.refusal_alert", "access.denied_summary", "access.denied"]
    assert refused(ws)[-2]["detail"]["not_audited"] == 2
