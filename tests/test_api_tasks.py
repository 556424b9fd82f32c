"""Tasks over the REST API (SQLite and PostgreSQL): a unit's key lists, claims and completes its unit's tasks with
the task page's validation; lost races answer 409; another unit's task is absent; instances and definitions."""

from __future__ import annotations

import sqlalchemy as sa

from processes.audit.models import AuditLog
from tests.api_support import bearer
from tests.api_support import make_key
from tests.workspace_support import Workspace
from webapp import runtime_of


def test_a_unit_key_claims_and_completes_its_units_task(ws: Workspace) -> None:
    ours, theirs = ws.dispatched("sthj"), ws.dispatched("zjj")
    key = make_key(ws.app, "sthj-oa", "tasks", department="sthj")
    client = ws.app.test_client()
    listed = client.get("/api/v1/tasks", headers=bearer(key)).get_json()
    assert [(t["bpmn_id"], t["case_id"]) for t in listed["items"]] == [("sign_for", ours.case_id)]
    task = listed["items"][0]
    form = client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(key)).get_json()["form_schema"]
    assert "sign_decision" in form["properties"]
    other = ws.office.task(theirs, "sign_for")
    for path in (f"/api/v1/tasks/{other.id}", f"/api/v1/tasks/{other.id}/claim"):
        method = client.post if path.endswith("claim") else client.get
        assert method(path, headers=bearer(key)).status_code == 404  # another unit's task does not exist here
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=bearer(key))
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "api:sthj-oa"
    bad = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"sign_decision": "maybe"}},
                      headers=bearer(key))
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "data/sign_decision"
    returned = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"sign_decision": "return"}},
                           headers=bearer(key))
    assert returned.status_code == 400  # a return needs its reason (the form's if/then), as on the page
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"sign_decision": "sign"}},
                       headers=bearer(key))
    assert done.status_code == 200 and done.get_json()["instance_status"] in ("waiting", "running")
    again = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"sign_decision": "sign"}},
                        headers=bearer(key))
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert "刷新" in again.get_json()["detail"]
    with runtime_of(ws.app).read() as db:
        actions = list(db.scalars(sa.select(AuditLog.action).where(AuditLog.actor == "api:sthj-oa",
                                                                   AuditLog.action.like("task.%"))))
    assert sorted(actions) == ["task.claim", "task.complete"]


def test_a_task_claimed_by_someone_else_is_a_conflict(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    first, second = (make_key(ws.app, name, "tasks", department="sthj") for name in ("sthj-a", "sthj-b"))
    client = ws.app.test_client()
    task = ws.office.task(case, "sign_for")
    assert client.post(f"/api/v1/tasks/{task.id}/claim", headers=bearer(first)).status_code == 200
    lost = client.post(f"/api/v1/tasks/{task.id}/claim", headers=bearer(second))
    assert lost.status_code == 409
    taken = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"sign_decision": "sign"}},
                        headers=bearer(second))
    assert taken.status_code == 409 and "认领" in taken.get_json()["detail"]


def test_task_lists_page_by_cursor(ws: Workspace) -> None:
    made = [ws.dispatched("sthj") for _ in range(3)]
    key = make_key(ws.app, "sthj-oa", "tasks", department="sthj")
    client = ws.app.test_client()
    first = client.get("/api/v1/tasks?limit=2", headers=bearer(key)).get_json()
    rest = client.get(first["next"], headers=bearer(key)).get_json()
    ids = [t["case_id"] for t in first["items"] + rest["items"]]
    assert sorted(ids) == sorted(c.case_id for c in made) and rest["next"] is None


def test_definitions_reference_and_metrics_read_with_their_scopes(ws: Workspace) -> None:
    key = make_key(ws.app, "analytics", "definitions:read", "reference:read", "metrics:read")
    client = ws.app.test_client()
    listed = client.get("/api/v1/definitions", headers=bearer(key)).get_json()["items"]
    phone = next(d for d in listed if d["key"] == "case_phone")
    assert phone["published_version"] is not None
    version = client.get(f"/api/v1/definitions/case_phone/versions/{phone['published_version']}",
                         headers=bearer(key)).get_json()
    intake = next(name for name in version["files"] if name.endswith("intake.schema.json"))
    text = client.get(f"/api/v1/definitions/case_phone/versions/{phone['published_version']}/files/{intake}",
                      headers=bearer(key)).get_json()["text"]
    assert "request_type" in text
    assert client.get("/api/v1/definitions/nothing/versions", headers=bearer(key)).status_code == 404
    assert client.get("/api/v1/definitions/case_phone/versions/x", headers=bearer(key)).status_code == 404
    assert client.get("/api/v1/reference/categories", headers=bearer(key)).status_code == 200
    figures = client.get("/api/v1/metrics?from=2026-11-01&to=2026-11-30&group_by=channel", headers=bearer(key))
    assert figures.status_code == 200 and figures.get_json()["from"] == "2026-11-01"
    for query in ("from=2026-11-30&to=2026-11-01", "from=x&to=2026-11-01", "from=2026-11-01&to=2026-11-02&metric=x"):
        assert client.get(f"/api/v1/metrics?{query}", headers=bearer(key)).status_code == 400
