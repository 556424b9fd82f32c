"""While registering: earlier cases by the caller's phone, possible duplicates, and pasting a 民呼我为 order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.intake_support import CALL
from tests.intake_support import PHONE
from tests.intake_support import cases
from tests.intake_support import dispatch
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_case
from tests.intake_support import signed_in
from tests.web_support import audit_rows
from tests.web_support import post

ORDER_TEXT = """民呼我为统一平台 交办单
工单编号：ZJ2026112500777
诉求人：李四
联系电话：139-1234-5678
诉求内容：小区门口路灯损坏多日，
晚上出行很不方便。
发生地址：洞头区东屏街道东沙村
办结时限：2026年12月1日 17:30
"""


@pytest.fixture
def app(office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from office_app(office_url("sqlite", office_template, tmp_path))


def test_earlier_cases_of_the_phone_show_while_typing_without_personal_data(app: Flask) -> None:
    old = open_case(app, requester_phone=PHONE, requester_name="王小明", category="市政设施", township="niyu")
    other = open_case(app, requester_phone="13900001111", category="供水", township="damen")
    client = signed_in(app, "op1", "operator")
    html = post(client, "/intake/lookup", {"requester_phone": "+86 138-1234-5678"}).get_data(as_text=True)
    assert old.case_number in html and other.case_number not in html
    assert "市政设施" in html and "霓屿街道" in html and "已登记" in html and "可能重复" in html
    assert "王" not in html and "5678" not in html  # nothing personal comes back
    [row] = audit_rows(app, "case.lookup_by_phone")
    assert row["detail"] == {"count": 1} and "13812345678" not in str(row)


def test_short_numbers_are_not_looked_up_nor_audited(app: Flask) -> None:
    open_case(app, requester_phone=PHONE)
    client = signed_in(app, "op1", "operator")
    html = post(client, "/intake/lookup", {"requester_phone": "1381"}).get_data(as_text=True)
    assert "DT" not in html and audit_rows(app, "case.lookup_by_phone") == []


def test_same_category_and_township_in_the_last_30_days_is_a_possible_duplicate(app: Flask) -> None:
    near = open_case(app, requester_phone="13900001111", category="噪音扰民", township="beiao")
    elsewhere = open_case(app, requester_phone="13900002222", category="噪音扰民", township="damen")
    client = signed_in(app, "op1", "operator")
    html = post(client, "/intake/lookup", {"category": "噪音扰民", "township": "beiao"}).get_data(as_text=True)
    assert near.case_number in html and elsewhere.case_number not in html and "同地同类" in html
    assert audit_rows(app, "case.lookup_by_phone") == []  # no phone: nothing to audit


def test_finished_cases_are_history_not_duplicates(app: Flask) -> None:
    done = open_case(app, requester_phone=PHONE)
    dispatch(app, str(done.case_id), "sthj")
    client = signed_in(app, "op1", "operator")
    html = post(client, "/intake/lookup", {"requester_phone": PHONE}).get_data(as_text=True)
    assert done.case_number in html and "已派单" in html


def test_the_same_upstream_order_is_flagged_on_the_transcription_screen(app: Flask) -> None:
    first = open_case(app, "case_platform", "platform", upstream_order_id="ZJ2026112500777",
                      upstream_deadline="2026-12-01T17:30:00+08:00")
    client = signed_in(app, "tr1", "transcriber")
    html = post(client, "/intake/lookup", {"upstream_order_id": "ZJ2026112500777"}).get_data(as_text=True)
    assert first.case_number in html and "相同上级工单编号" in html


def test_the_lookup_is_post_only_with_csrf_and_for_intake_roles(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    assert client.get(f"/intake/lookup?requester_phone={PHONE}").status_code == 405
    assert client.post("/intake/lookup", data={"requester_phone": PHONE}).status_code == 400  # no CSRF token
    reporter = signed_in(app, "rep", "township_reporter", department="luxi")
    assert post(reporter, "/intake/lookup", {"requester_phone": PHONE}).status_code == 403
    assert audit_rows(app, "case.lookup_by_phone") == []


def test_the_phone_screen_asks_for_earlier_cases_as_the_phone_is_typed(app: Flask) -> None:
    client = signed_in(app, "op1", "operator")
    html = client.get("/intake/phone").get_data(as_text=True)
    assert 'hx-post="/intake/lookup"' in html
    assert "input changed delay:500ms from:#f-requester_phone" in html and 'id="f-requester_phone"' in html


def test_pasting_an_order_fills_the_form_and_registers_nothing(app: Flask) -> None:
    client = signed_in(app, "tr1", "transcriber")
    response = post(client, "/intake/platform", {"action": "parse", "paste": ORDER_TEXT, "urgency": "urgent"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and cases(app) == []
    assert 'value="ZJ2026112500777"' in html and 'value="李四"' in html and 'value="139-1234-5678"' in html
    assert 'value="2026-12-01T17:30:00"' in html and "小区门口路灯损坏多日，\n晚上出行很不方便。</textarea>" in html
    assert 'value="urgent" selected' in html  # what was chosen before pasting stays
    assert "有 1 行未能识别" in html and "已识别并填入" in html


def test_a_bad_paste_says_what_failed_and_never_errors(app: Flask) -> None:
    client = signed_in(app, "tr1", "transcriber")
    for paste in ("", '{"gdbh": ', "\x01garbage", "[1, 2]", "截止时间：三个工作日内", "x" * 60_000):
        response = post(client, "/intake/platform", {"action": "parse", "paste": paste})
        assert response.status_code == 200, paste[:20]
        assert "未找到，请手工填写" in response.get_data(as_text=True)
    nul = post(client, "/intake/platform", {"action": "parse", "paste": "\x00garbage"})  # refused for the request
    assert nul.status_code == 400 and "请求中含有无效字符" in nul.get_data(as_text=True)
    assert cases(app) == []


def test_a_pasted_and_checked_order_registers(app: Flask) -> None:
    client = signed_in(app, "tr1", "transcriber")
    filled = {"upstream_order_id": "ZJ2026112500777", "upstream_deadline": "2026-12-01T17:30:00",
              "requester_name": "李四", "requester_phone": "139-1234-5678", "request_type": "help",
              "urgency": "normal", "content": "小区门口路灯损坏", "location": "东屏街道东沙村", "paste": ORDER_TEXT}
    assert post(client, "/intake/platform", {**filled, "action": "register"}).status_code == 302
    [case] = cases(app)
    assert case.upstream_order_id == "ZJ2026112500777" and case.channel == "platform"


def test_the_operator_typed_phone_is_the_only_phone_on_the_screen(app: Flask) -> None:
    open_case(app, requester_phone=PHONE)
    client = signed_in(app, "op1", "operator")
    html = client.get("/intake/phone").get_data(as_text=True)
    assert PHONE not in html and CALL["requester_name"] not in html
