"""Phone search by URL (issue 16, finding 4): `GET /search?text=13912345678` found cases by a number in their text,
past the POST-only phone lookup, its audit row and its rate limit, with the number in the address and access log.
Now a number in 内容 or 地址, in any spelling, is refused with a pointer to the 电话 field and never searched."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from processes.cases.numbers import find_numbers
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text

FULL_WIDTH = "".join(chr(ord(d) + 0xFEE0) for d in "13912345678")  # what a Chinese IME types
SPELLINGS = ["13912345678", "139 1234 5678", "+86 139-1234-5678", FULL_WIDTH, "139\u200b1234\u200b5678",
             "330302 19900101 1234"]


@pytest.mark.parametrize("typed", SPELLINGS)
def test_a_number_in_the_text_of_a_get_search_is_refused_and_never_searched(ws: Workspace, typed: str) -> None:
    case = ws.dispatched("sthj", content=f"请回电 {typed} 噪音扰民")
    number = ws.office.case(case).number
    supervisor = ws.user("sup.s", "supervisor")
    for field in ("text", "address"):
        response = supervisor.get("/search?" + urlencode({field: typed}))
        body = text(response)
        assert response.status_code == 400 and "内容和地址中不能按电话号码或身份证号查找" in body, field
        assert "「电话」一栏" in body and number not in body and find_numbers(body) == []  # not searched, not echoed
    posted = post_form(supervisor, "/search", {"text": typed}, page="/search")
    assert posted.status_code == 400 and number not in text(posted)
    assert audit_rows(ws.app, "case.search_by_phone") == []  # nothing was looked up


def test_text_without_a_number_still_searches_and_the_phone_field_stays_post_only(ws: Workspace) -> None:
    case = ws.dispatched("sthj", content="2026-12-07 夜间施工噪音扰民，工单 DT20261125-0001 的后续")
    number = ws.office.case(case).number
    supervisor = ws.user("sup.t", "supervisor")
    found = supervisor.get("/search?" + urlencode({"text": "夜间施工"}))
    assert found.status_code == 200 and number in text(found)
    dated = supervisor.get("/search?" + urlencode({"text": "2026-12-07"}))  # a date is not a phone number
    assert dated.status_code == 200 and number in text(dated)
    by_url = supervisor.get("/search?phone=13812345678")
    assert by_url.status_code == 400 and "号码不能出现在网址中" in text(by_url)
    looked_up = post_form(supervisor, "/search", {"phone": "13812345678"}, page="/search")
    assert looked_up.status_code == 200 and [r["detail"]["mode"] for r in audit_rows(ws.app, "case.search_by_phone")
                                             ] == ["exact"]
