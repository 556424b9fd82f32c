"""Case search (工单查询): every criterion, the user's reach (no IDOR), masked rows, checked parameters, export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from handlers.cases import CASE_STATUSES
from processes.clock import FrozenClock
from tests.intake_support import PHONE
from tests.intake_support import dispatch
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_case
from tests.intake_support import signed_in
from tests.lifecycle_support import at
from tests.web_support import audit_rows
from tests.web_support import post
from webapp import labels
from webapp import runtime_of
from webapp.search.views import neutral


@pytest.fixture
def app(office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from office_app(office_url("sqlite", office_template, tmp_path))


@pytest.fixture
def both(db_url: str, office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from office_app(office_url(db_url, office_template, tmp_path))


def numbers(html: str) -> set[str]:
    """Case numbers in a result table."""
    found = set()
    start = html.find('<table class="results">')
    body = html[start:html.find("</table>", start)] if start >= 0 else ""
    for part in body.split("DT")[1:]:
        found.add("DT" + part[:13])
    return found


def search(client: FlaskClient, **criteria: str) -> tuple[int, str]:
    """POST a search (as the page does) and return status and page."""
    response = post(client, "/search", criteria)
    return response.status_code, response.get_data(as_text=True)


def at_time(app: Flask, text: str) -> None:
    """Move the app's clock (cases registered next get this time)."""
    clock = runtime_of(app).clock
    assert isinstance(clock, FrozenClock)
    clock.now = at(text)


def test_search_by_number_phone_last4_address_text_and_dates(app: Flask) -> None:
    at_time(app, "2026-11-20T10:00:00")
    a = open_case(app, requester_phone=PHONE, requester_name="王小明", location="北岙街道东岙路100%工地",
                  title="工地夜间施工", category="噪音扰民", township="beiao")
    at_time(app, "2026-11-24T23:30:00")  # late evening, Beijing time: still the 24th
    b = open_case(app, requester_phone="13900005678", location="东屏街道东沙村", content="路灯_损坏",
                  category="市政设施", township="dongping")
    at_time(app, "2026-11-25T09:00:00")
    c = open_case(app, "case_platform", "platform", upstream_order_id="ZJ9", requester_phone="13700001111",
                  upstream_deadline="2026-11-30T12:00:00+08:00", content="占道经营", township="yuanjue")
    client = signed_in(app, "op1", "operator")
    assert numbers(search(client, number=str(a.case_number))[1]) == {a.case_number}
    assert numbers(search(client, number="dt20261124")[1]) == {b.case_number}  # a prefix, any case
    assert numbers(search(client, number="DT2026112")[1]) == {a.case_number, b.case_number, c.case_number}
    assert numbers(search(client, phone="138 1234 5678")[1]) == {a.case_number}
    assert numbers(search(client, phone="5678")[1]) == {a.case_number, b.case_number}  # 尾号
    assert numbers(search(client, address="100%")[1]) == {a.case_number}
    assert numbers(search(client, address="%")[1]) == {a.case_number}  # % is literal, not a wildcard
    assert numbers(search(client, text="_损坏")[1]) == {b.case_number}
    assert numbers(search(client, text="_")[1]) == {b.case_number}
    assert numbers(search(client, text="夜间施工")[1]) == {a.case_number}
    assert numbers(search(client, date_from="2026-11-24", date_to="2026-11-24")[1]) == {b.case_number}
    assert numbers(search(client, date_from="2026-11-25")[1]) == {c.case_number}
    assert numbers(search(client, date_to="2026-11-20")[1]) == {a.case_number}
    assert numbers(search(client, channel="platform")[1]) == {c.case_number}
    assert numbers(search(client, township="dongping")[1]) == {b.case_number}
    assert numbers(search(client, phone="5678", township="beiao")[1]) == {a.case_number}  # criteria AND


def test_status_and_department_and_the_row_shown(app: Flask) -> None:
    led = open_case(app, requester_phone=PHONE, requester_name="王小明", category="噪音扰民", township="beiao")
    dispatch(app, str(led.case_id), "sthj")
    waiting = open_case(app, requester_phone="13900001111")
    client = signed_in(app, "op1", "operator")
    assert numbers(search(client, status="dispatched")[1]) == {led.case_number}
    assert numbers(search(client, status="registered")[1]) == {waiting.case_number}
    assert numbers(search(client, status="open")[1]) == {led.case_number, waiting.case_number}
    assert numbers(search(client, status="finished")[1]) == set()
    status, html = search(client, department="sthj")
    assert status == 200 and numbers(html) == {led.case_number}
    row = html[html.index(led.case_number):html.index("</tr>", html.index(led.case_number))]
    shown = ("2026-11-25 09:00", "来电", "噪音扰民", "北岙街道", "已派单", "区生态环境分局", "剩余 1天",
             "王** 138****5678")
    for text in shown:
        assert text in row, text
    assert PHONE not in html and "王小明" not in html


def test_a_unit_finds_only_its_own_cases_and_never_a_confidential_reporter_by_phone(both: Flask) -> None:
    mine = open_case(both, requester_phone=PHONE, category="噪音扰民")
    dispatch(both, str(mine.case_id), "sthj")
    secret = open_case(both, requester_phone=PHONE, request_type="report", confidential=True)
    dispatch(both, str(secret.case_id), "sthj")
    theirs = open_case(both, requester_phone=PHONE)
    dispatch(both, str(theirs.case_id), "zjj")
    unit = signed_in(both, "h-sthj", "handler", department="sthj")
    assert numbers(search(unit)[1]) == {mine.case_number, secret.case_number}
    assert numbers(search(unit, number=str(theirs.case_number))[1]) == set()  # another unit's case: absent
    assert numbers(search(unit, phone=PHONE)[1]) == {mine.case_number}  # not who reported the confidential one
    assert numbers(search(unit, phone="5678")[1]) == {mine.case_number}
    status, html = search(unit, number=str(secret.case_number))
    assert status == 200 and "（保密）" in html and "138****5678" not in html.split(str(secret.case_number))[1]
    office = signed_in(both, "sup1", "supervisor")
    assert numbers(search(office, phone=PHONE)[1]) == {mine.case_number, secret.case_number, theirs.case_number}
    counts = [row["detail"]["count"] for row in audit_rows(both, "case.search_by_phone")]
    assert counts == [1, 1, 3]
    assert all(PHONE not in str(row) for row in audit_rows(both))


def test_a_township_reporter_sees_only_their_townships_reports(app: Flask) -> None:
    ours = open_case(app, "case_township", "township", township="luxi", urgency="normal")
    other_town = open_case(app, "case_township", "township", township="beiao", urgency="normal")
    phone_in_luxi = open_case(app, township="luxi", requester_phone=PHONE)
    reporter = signed_in(app, "rep-luxi", "township_reporter", department="luxi")
    assert numbers(search(reporter)[1]) == {ours.case_number}
    assert numbers(search(reporter, township="beiao")[1]) == set()
    assert other_town.case_number and phone_in_luxi.case_number
    assert reporter.get("/search?channel=township").status_code == 200


@pytest.mark.parametrize(("criteria", "field", "message"), [
    ({"date_from": "2026-13-01"}, "date_from", "日期格式不正确"),
    ({"date_to": "25/11/2026"}, "date_to", "日期格式不正确"),
    ({"date_from": "2026-11-25", "date_to": "2026-11-01"}, "date_to", "开始日期不能晚于结束日期"),
    ({"status": "deleted"}, "status", "请从列表中选择"),
    ({"channel": "fax"}, "channel", "请从列表中选择"),
    ({"township": "atlantis"}, "township", "请从列表中选择"),
    ({"department": "'; drop table x"}, "department", "请从列表中选择"),
    ({"number": "DT%"}, "number", "工单编号只含字母"),
    ({"phone": "12345"}, "phone", "请输入完整号码，或号码后四位"),
    ({"phone": "1381234567x"}, "phone", "请输入完整号码，或号码后四位"),
    ({"text": "x" * 101}, "text", "最多 100 个字"),
    ({"address": "a\x00b"}, "address", "请求中含有无效字符"),  # NUL is refused for the whole request (webapp/params)
    ({"page": "abc"}, "page", "页码不正确"),
    ({"page": "0"}, "page", "页码不正确"),
])
def test_bad_parameters_answer_400_with_a_message(app: Flask, criteria: dict[str, str], field: str,
                                                  message: str) -> None:
    client = signed_in(app, "op1", "operator")
    status, html = search(client, **criteria)
    assert status == 400 and message in html
    query = "&".join(f"{k}={v}" for k, v in criteria.items() if k != "phone" and "\x00" not in v)
    if query:
        assert client.get(f"/search?{query}").status_code == 400


def test_phone_numbers_stay_out_of_addresses(app: Flask) -> None:
    open_case(app, requester_phone=PHONE)
    client = signed_in(app, "op1", "operator")
    response = client.get(f"/search?phone={PHONE}")
    assert response.status_code == 400 and "号码不能出现在网址中" in response.get_data(as_text=True)
    assert audit_rows(app, "case.search_by_phone") == []
    form = client.get("/search").get_data(as_text=True)
    assert 'method="post" action="/search"' in form
    assert numbers(client.get("/search?status=open").get_data(as_text=True))  # the rest may be a link


def test_a_searched_number_is_not_echoed_but_paging_keeps_it(app: Flask) -> None:
    made = [open_case(app, requester_phone=PHONE).case_number for _ in range(22)]
    open_case(app, requester_phone="13900001234")
    client = signed_in(app, "op1", "operator")
    status, first = search(client, phone=PHONE)
    assert status == 200 and "共 22 件" in first and PHONE not in first and "138****5678" in first
    sealed = re.search(r'name="phone_sealed" value="([^"]+)"', first)
    assert sealed is not None and PHONE not in sealed.group(1)
    second = numbers(search(client, phone="", phone_sealed=sealed.group(1), page="2")[1])
    assert second == set(made[:2])
    assert numbers(search(client, phone="", phone_sealed="v1:altered", page="1")[1]) != set(made[:20])


def test_phone_lookups_are_limited_per_user_and_minute(app: Flask) -> None:
    app.config["PHONE_LOOKUP_RATE_LIMIT"] = 3
    open_case(app, requester_phone=PHONE)
    client, other = signed_in(app, "op1", "operator"), signed_in(app, "op2", "operator")
    assert [search(client, phone=PHONE)[0] for _ in range(3)] == [200, 200, 200]
    assert search(client, phone="5678")[0] == 429  # walking numbers through the blind index stops here
    assert post(client, "/intake/lookup", {"requester_phone": PHONE}).status_code == 429  # the same budget
    assert search(client, number="DT")[0] == 200  # searches without a phone are not limited
    assert search(other, phone=PHONE)[0] == 200  # per user
    at_time(app, "2026-11-25T09:01:01")
    assert search(client, phone=PHONE)[0] == 200


def test_results_are_paged(app: Flask) -> None:
    made = [open_case(app, requester_phone=f"139000{i:05d}").case_number for i in range(23)]
    client = signed_in(app, "op1", "operator")
    status, first = search(client, number="DT")
    assert status == 200 and "共 23 件" in first and len(numbers(first)) == 20
    second = numbers(search(client, number="DT", page="2")[1])
    assert second == set(made[:3])  # newest first: the oldest three are on page 2
    assert numbers(search(client, number="DT", page="9")[1]) == set()


def test_export_is_masked_neutralised_and_audited(app: Flask) -> None:
    formula = open_case(app, requester_phone=PHONE, requester_name="王小明", category="=HYPERLINK(\"x\")")
    plain = open_case(app, requester_phone="13900001111", category="@SUM(1)")
    client = signed_in(app, "lead1", "leader")
    response = post(client, "/search/export", {"phone": "5678"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff工单编号") and PHONE not in text and "王小明" not in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][0] == formula.case_number and rows[1][3] == "'=HYPERLINK(\"x\")" and rows[1][9] == "王** 138****5678"
    assert len(rows) == 2 and plain.case_number not in text
    [row] = audit_rows(app, "case.export")
    assert row["detail"] == {"rows": 1, "truncated": False, "criteria": ["phone"], "masked": True, "format": "csv"}
    assert audit_rows(app, "case.search_by_phone") == []  # the export row says it all


def test_export_is_for_supervisors_duty_leaders_and_leaders_only(app: Flask) -> None:
    open_case(app, requester_phone=PHONE)
    for roles in (("operator",), ("dispatcher",), ("handler",)):
        client = signed_in(app, f"u-{roles[0]}", *roles, department="sthj" if "handler" in roles else None)
        assert post(client, "/search/export", {}).status_code == 403
        assert "导出 CSV" not in search(client, number="DT")[1]
    supervisor = signed_in(app, "sup1", "supervisor")
    assert "导出 CSV" in search(supervisor, number="DT")[1]
    assert supervisor.get("/search/export").status_code == 405
    assert audit_rows(app, "case.export") == []


def test_search_is_closed_to_analysts_and_administrators(app: Flask) -> None:
    assert signed_in(app, "an1", "analyst").get("/search").status_code == 403
    assert signed_in(app, "aud1", "auditor").get("/search").status_code == 403


def test_neutral_cells_and_every_status_has_a_label() -> None:
    assert [neutral(v) for v in ("=1+1", "+1", "-1", "@x", "\tx", "\rx", "ok", "")] == [
        "'=1+1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "ok", ""]
    assert set(labels.STATUSES) == CASE_STATUSES
