"""The duty roster on the web (值班表, issue 15): the duty leader edits it, gaps and people without the role are
refused in Chinese, every change is audited, and a 110 hand-over at night goes to whoever it names (SQLite,
PostgreSQL)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from processes.runtime import commands
from tests.admin_support import sign_in
from tests.lifecycle_support import at
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text

DAY = "2026-11-25"  # a Wednesday, a working day: only its night is duty time
VERSION_RE = re.compile(r'name="version" value="([0-9a-f]+)"')


def night_roster(client: FlaskClient, evening: str, *, morning: str = "night.a",
                 late: tuple[str, str] = ("17:30", "08:30")) -> tuple[int, str]:
    """Save the dispatchers' shifts of DAY: the early morning and the evening-to-morning night shift."""
    page = text(client.get(f"/reference/roster/{DAY}?role=dispatcher"))
    found = VERSION_RE.search(page)
    assert found, page[:300]
    form = {"role": "dispatcher", "version": found.group(1), "username": [morning, evening],
            "shift_start": ["00:00", late[0]], "shift_end": ["08:30", late[1]]}
    response = post_form(client, f"/reference/roster/{DAY}", form, page="/reference/")  # type: ignore[arg-type]
    return response.status_code, text(response)


def handoff_110(ws: Workspace, number: str) -> commands.Started:
    """A 110 hand-over arriving now."""
    return ws.office.open("case_110", "police110", upstream_order_id=f"110-20261125-{number}")


def people(ws: Workspace) -> FlaskClient:
    """The duty leader and two night dispatchers (and one operator, who may not take a dispatcher's shift), signed
    in at 21:00 of DAY (the clock moves little from there: sessions end after idle time)."""
    ws.office.clock.now = at(f"{DAY}T21:00:00")
    for name, real in (("night.a", "夜班甲"), ("night.b", "夜班乙")):
        ws.user(name, "dispatcher", real_name=real)
    ws.user("op.c", "operator")
    return sign_in(ws.app, ws.office.clock, "dl1", "duty_leader")  # with the second factor its role requires


def test_a_110_case_at_night_goes_to_the_new_person_on_duty_after_an_edit(ws: Workspace) -> None:
    leader = people(ws)
    assert night_roster(leader, "night.a")[0] == 303
    ws.office.clock.now = at(f"{DAY}T21:05:00")
    first = handoff_110(ws, "0101")
    assert ws.office.task(first, "accept_110").assignee == "night.a"  # not the dispatcher group: the roster's
    ws.office.clock.now = at(f"{DAY}T21:10:00")
    assert night_roster(leader, "night.b")[0] == 303
    ws.office.clock.now = at(f"{DAY}T21:15:00")
    second = handoff_110(ws, "0102")
    assert ws.office.task(second, "accept_110").assignee == "night.b"
    assert ws.office.task(first, "accept_110").assignee == "night.a"  # work already given stays where it is
    row = audit_rows(ws.app, "reference.roster")[-1]
    assert (row["actor"], row["object_id"]) == ("dl1", f"roster:{DAY}/dispatcher")
    assert row["before"] == {"shifts": ["night.a 00:00-08:30", "night.a 17:30-08:30"]}
    assert row["after"] == {"shifts": ["night.a 00:00-08:30", "night.b 17:30-08:30"]}
    home = text(ws.user("sv1", "supervisor").get("/"))
    panel = home.split('data-duty-role="dispatcher"')[1].split("</li>")[0]
    assert "值班审核派单员" in panel and "<strong>夜班乙</strong>" in panel  # who is on duty now, on the home page


def test_daytime_on_a_working_day_still_goes_to_the_group(ws: Workspace) -> None:
    leader = people(ws)
    assert night_roster(leader, "night.a")[0] == 303
    ws.office.clock.now = at(f"{DAY}T10:00:00")
    assert ws.office.task(handoff_110(ws, "0103"), "accept_110").assignee is None


def test_gaps_and_people_without_the_role_are_refused_and_audited(ws: Workspace) -> None:
    leader = people(ws)
    status, page = night_roster(leader, "night.a", late=("17:30", "23:00"))
    assert status == 400 and "值班有空档：11-25 23:00-24:00 无人值班" in page
    status, page = night_roster(leader, "op.c")
    assert status == 400 and "op.c 不能值这个班：须为启用的账户并持有该岗位角色" in page
    status, page = night_roster(leader, "night.b", late=("17:30", "8点"))
    assert status == 400 and "结束时间须为 HH:MM" in page
    failures = [r for r in audit_rows(ws.app, "reference.roster") if r["result"] == "failure"]
    assert len(failures) == 3 and failures[0]["detail"]["problems"] == ["gap"]
    assert "night.a" not in text(leader.get("/reference/roster?month=2026-11"))  # nothing was written


def test_only_the_duty_leader_edits_and_the_month_shows_gaps(ws: Workspace) -> None:
    leader = people(ws)
    operator = ws.clients["op.c"]
    assert operator.get("/reference/roster?month=2026-11").status_code == 200  # the office reads who is on duty
    refused = post_form(operator, f"/reference/roster/{DAY}", {"role": "dispatcher", "version": "0"},
                        page="/reference/")
    assert refused.status_code == 403
    month = text(leader.get("/reference/roster?month=2026-11"))
    assert f'data-day="{DAY}"' in month and 'data-gap="dispatcher"' in month  # the seeded roster ends in February
    assert night_roster(leader, "night.a")[0] == 303
    month = text(leader.get("/reference/roster?month=2026-11"))
    cell = month.split(f'data-day="{DAY}"')[1].split("</td>")[0]
    assert 'data-user="night.a"' in cell and 'data-gap="dispatcher"' not in cell
    assert leader.get("/reference/roster?month=2026-13").status_code == 400
    assert leader.get("/reference/roster/2026-02-30").status_code == 400


def test_emergency_mode_is_switched_by_the_duty_leader(ws: Workspace) -> None:
    leader = people(ws)
    page = text(leader.get("/reference/roster"))
    version = VERSION_RE.search(page).group(1)  # type: ignore[union-attr]
    on = post_form(leader, "/reference/roster/emergency", {"value": "true", "version": version}, page="/reference/",
                   follow_redirects=True)
    assert 'data-emergency="on"' in text(on)
    row = audit_rows(ws.app, "reference.settings")[-1]
    assert (row["actor"], row["before"], row["after"]) == (
        "dl1", {"name": "emergency_mode", "value": "false"}, {"name": "emergency_mode", "value": "true"})
    stale = post_form(leader, "/reference/roster/emergency", {"value": "false", "version": version},
                      page="/reference/")
    assert stale.status_code == 409
