"""Intake screens (登记): each channel starts its process from the bundle's start form, audited, encrypted, masked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from processes.cases.models import Requester
from processes.db.schema import METADATA
from processes.errors import FormDataInvalid
from tests.intake_support import CALL
from tests.intake_support import PHONE
from tests.intake_support import case_by_number
from tests.intake_support import cases
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_tasks
from tests.intake_support import register
from tests.intake_support import signed_in
from tests.web_support import audit_rows
from tests.web_support import location
from tests.web_support import post
from webapp import runtime_of

PLATFORM = {**CALL, "upstream_order_id": "ZJ2026112500123", "upstream_deadline": "2026-11-30T12:00"}
POLICE = {"upstream_order_id": "110-20261125-0042", "urgency": "urgent", "content": "商铺音响扰民",
          "township": "beiao", "category": "噪音扰民", "requester_phone": PHONE}
TOWNSHIP = {"urgency": "normal", "category": "供水", "title": "东臼村供水不足", "content": "鹿西岛东臼村夏季供水不足",
            "location": "鹿西乡东臼村"}
# channel → (roles, unit, form, first task of its process)
SCREENS = {
    "phone": (("operator",), None, CALL, "triage"),
    "visit": (("operator",), None, CALL, "triage"),
    "platform": (("transcriber",), None, PLATFORM, "triage"),
    "township": (("township_reporter",), "luxi", TOWNSHIP, "district_review"),
    "police110": (("dispatcher",), None, POLICE, "accept_110"),
}


@pytest.fixture
def app(office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from office_app(office_url("sqlite", office_template, tmp_path))


@pytest.fixture
def both(db_url: str, office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """The app on a prepared office on SQLite and on PostgreSQL."""
    yield from office_app(office_url(db_url, office_template, tmp_path))


def plaintext_count(app: Flask, needle: str) -> int:
    """How many places in the raw database hold the text in clear (SQLite: the files; PostgreSQL: every row)."""
    url = str(app.config["DATABASE_URL"])
    if url.startswith("sqlite"):
        base = Path(url.removeprefix("sqlite:///"))
        return sum(p.read_bytes().count(needle.encode()) for p in (base, Path(f"{base}-wal")) if p.exists())
    with runtime_of(app).db.connect() as conn:
        return sum(int(conn.execute(sa.text(f'SELECT count(*) FROM "{t.name}" r WHERE r::text LIKE :n'),  # noqa: S608
                                    {"n": f"%{needle}%"}).scalar() or 0) for t in METADATA.sorted_tables)


def registered_number(client: FlaskClient, channel: str, form: dict[str, str]) -> str:
    """Register through a screen and return the new case number from the flash."""
    response = register(client, channel, **form)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    page = client.get(location(response)).get_data(as_text=True)
    start = page.index("工单 DT") + 3
    return page[start:start + 15]


@pytest.mark.parametrize("channel", sorted(SCREENS))
def test_each_screen_starts_its_process_audited_and_encrypted(app: Flask, channel: str) -> None:
    roles, unit, form, first_task = SCREENS[channel]
    client = signed_in(app, f"u-{channel}", *roles, department=unit)
    assert client.get(f"/intake/{channel}").status_code == 200
    response = register(client, channel, **form)
    assert response.status_code == 302
    after = client.get(location(response)).get_data(as_text=True)
    [case] = cases(app)
    assert case.number in after and "已登记" in after
    assert PHONE not in after and "王小明" not in after  # the page after shows masked data only
    assert case.channel == ("police110" if channel == "police110" else channel)
    assert open_tasks(app, case.id) == [first_task]
    [row] = audit_rows(app, "case.register")
    assert (row["object_id"], row["actor"], row["result"]) == (case.number, f"u-{channel}", "success")
    assert PHONE not in json.dumps(row, default=str) and "王小明" not in json.dumps(row, default=str)
    for secret in (PHONE, "王小明", "中心街88号"):
        assert plaintext_count(app, secret) == 0, secret


def test_phone_intake_on_both_databases(both: Flask) -> None:
    client = signed_in(both, "op1", "operator")
    number = registered_number(client, "phone", CALL)
    case = case_by_number(both, number)
    assert open_tasks(both, case.id) == ["triage"]
    assert (case.request_type, case.category, case.township, case.content) == (
        "complaint", "噪音扰民", "beiao", CALL["content"])
    with runtime_of(both).read() as db:
        requester = db.get(Requester, case.requester_id)
    assert requester is not None and requester.phone is not None and requester.phone.startswith("v1:")
    assert requester.phone_last4 == "5678" and requester.caller_type == "person"
    assert plaintext_count(both, PHONE) == 0
    page = client.get(f"/intake/registered/{number}").get_data(as_text=True)
    assert "138****5678" in page and "王*" in page and PHONE not in page
    lookup = post(client, "/intake/lookup", {"requester_phone": "138 1234 5678"}).get_data(as_text=True)
    assert number in lookup and "可能重复" in lookup
    [row] = audit_rows(both, "case.lookup_by_phone")
    assert row["detail"] == {"count": 1} and row["object_id"] is None


def test_missing_content_is_refused_with_the_field_message_and_typed_values_kept(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    response = register(client, "phone", **{**CALL, "content": "  ", "title": "路灯<坏了>"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="e-content">此项必填' in html
    assert 'value="路灯&lt;坏了&gt;"' in html and f'value="{PHONE}"' in html  # typed values stay, escaped
    assert cases(app) == [] and audit_rows(app, "case.register") == []


def test_platform_needs_the_upstream_order_and_a_readable_deadline(app: Flask) -> None:
    client = signed_in(app, "tr1", "transcriber")
    missing = register(client, "platform", **{**PLATFORM, "upstream_deadline": ""})
    assert missing.status_code == 400 and 'id="e-upstream_deadline">此项必填' in missing.get_data(as_text=True)
    garbled = register(client, "platform", **{**PLATFORM, "upstream_deadline": "下周一"})
    assert garbled.status_code == 400 and 'id="e-upstream_deadline">日期格式不正确' in garbled.get_data(as_text=True)
    bad_order = register(client, "platform", **{**PLATFORM, "upstream_order_id": "ZJ 1/2"})
    assert bad_order.status_code == 400 and 'id="e-upstream_order_id">' in bad_order.get_data(as_text=True)
    assert cases(app) == []
    number = registered_number(client, "platform", PLATFORM)
    case = case_by_number(app, number)
    assert (case.upstream_order_id, case.upstream_deadline.isoformat() if case.upstream_deadline else None) == (
        "ZJ2026112500123", "2026-11-30T04:00:00+00:00")  # 12:00 Beijing time


@pytest.mark.parametrize("field", ["category", "title"])
def test_a_phone_number_in_a_routing_field_or_the_title_is_refused_clearly(app: Flask, field: str) -> None:
    client = signed_in(app, "op1", "operator")
    response = register(client, "phone", **{**CALL, field: "联系13912345678"})
    assert response.status_code == 400
    assert f'id="e-{field}">不要在此填写电话号码或身份证号' in response.get_data(as_text=True)
    id_number = register(client, "phone", **{**CALL, field: "11010119900307123X"})
    assert id_number.status_code == 400 and cases(app) == []


def test_choices_outside_the_lists_are_refused(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    response = register(client, "phone", **{**CALL, "township": "atlantis", "request_type": "rant",
                                            "urgency": "now", "confidential": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for field in ("township", "request_type", "urgency"):
        assert f'id="e-{field}">请从列表中选择' in html
    assert 'name="confidential" value="true" checked' in html


def test_confidential_reports_are_flagged(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    number = registered_number(client, "phone", {**CALL, "request_type": "report", "confidential": "on"})
    assert case_by_number(app, number).flags == {"confidential": True}


def test_script_strings_are_stored_as_typed_and_shown_escaped(app: Flask) -> None:
    client = signed_in(app, "op1", "operator", "supervisor")
    attack = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    number = registered_number(client, "phone", {**CALL, "category": attack[:60], "content": attack})
    case = case_by_number(app, number)
    assert case.content == attack and case.category == attack[:60]
    for page in (client.get(f"/intake/registered/{number}"), post(client, "/search", {"number": number}),
                 post(client, "/intake/lookup", {"requester_phone": PHONE})):
        html = page.get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_township_report_is_for_the_reporters_own_township(app: Flask) -> None:
    client = signed_in(app, "rep-luxi", "township_reporter", department="luxi")
    form = client.get("/intake/township").get_data(as_text=True)
    assert "鹿西乡" in form and 'name="township"' not in form  # shown, not a choice
    number = registered_number(client, "township", {**TOWNSHIP, "township": "beiao"})
    case = case_by_number(app, number)
    assert (case.township, case.channel, case.requester_id) == ("luxi", "township", None)
    assert open_tasks(app, case.id) == ["district_review"]


def test_screens_follow_the_permission_table(app: Flask) -> None:
    operator = signed_in(app, "op1", "operator")
    transcriber = signed_in(app, "tr1", "transcriber")
    handler = signed_in(app, "h1", "handler", department="zjj")
    assert operator.get("/intake/platform").status_code == 403
    assert operator.get("/intake/township").status_code == 403
    assert transcriber.get("/intake/phone").status_code == 403
    assert handler.get("/intake").status_code == 403
    assert register(transcriber, "phone", **CALL).status_code == 403 and cases(app) == []
    menu = operator.get("/intake").get_data(as_text=True)
    assert "来电登记" in menu and "110 非警务警情接收" in menu and "受理件转录" not in menu


def test_the_registered_page_of_a_case_out_of_reach_is_not_found(app: Flask) -> None:
    operator = signed_in(app, "op1", "operator")
    number = registered_number(operator, "phone", CALL)
    reporter = signed_in(app, "rep-luxi", "township_reporter", department="luxi")
    assert reporter.get(f"/intake/registered/{number}").status_code == 404
    assert operator.get("/intake/registered/DT20991231-9999").status_code == 404


def test_no_case_is_registered_when_its_audit_row_cannot_be_written(app: Flask,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    client = signed_in(app, "op1", "operator")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("webapp.intake.views.casework.record", broken)
    with pytest.raises(RuntimeError, match="audit store unavailable"):
        register(client, "phone", **CALL)
    assert cases(app) == [] and audit_rows(app, "case.register") == []  # one transaction: both or neither


def test_a_refusal_by_the_runtime_shows_beside_its_field(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = signed_in(app, "op1", "operator")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise FormDataInvalid("text longer than 20000 characters or containing NUL", field="content")

    monkeypatch.setattr("webapp.intake.views.commands.open_case", refuse)
    response = register(client, "phone", **CALL)
    assert response.status_code == 400 and 'id="e-content">格式不正确' in response.get_data(as_text=True)


def test_a_110_incident_registered_twice_names_the_case_that_has_it(app: Flask) -> None:
    client = signed_in(app, "dp1", "dispatcher")
    number = registered_number(client, "police110", POLICE)
    again = register(client, "police110", **POLICE)
    assert again.status_code == 409
    assert f"该警情编号已登记为工单 {number}" in again.get_data(as_text=True)
    assert [case.number for case in cases(app)] == [number]  # the repeat registered nothing
