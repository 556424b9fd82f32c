"""Odd POSTed values never answer 500 (issue 16, finding 3): every form of every POST route, as a role reaching it."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest

from tests.form_fuzz_support import Caller
from tests.workspace_support import Workspace
from tests.workspace_support import text


@pytest.mark.parametrize("version", ["٣", "99999999999999999999", "-1", "1e3"])
def test_a_migration_version_in_other_digits_or_beyond_the_database_answers_400(ws_lite: Workspace,
                                                                                version: str) -> None:
    supervisor = Caller(ws_lite.app, ws_lite.office.clock, "fz.mig", "supervisor", None)
    posted = supervisor.post("/modeler/case_phone/migrate", {"from": version, "to": "1", "reason": "迁移",
                                                             "instance": "abc"})
    asked = supervisor.client.get(f"/modeler/case_phone/migrate?to={quote(version)}")
    for response in (posted, asked):
        assert response.status_code == 400 and "版本号不正确" in text(response), response.status_code


@pytest.mark.parametrize("day", ["", "²", "2026-02-30"])
def test_a_calendar_day_left_empty_or_odd_answers_400(ws_lite: Workspace, day: str) -> None:
    admin = Caller(ws_lite.app, ws_lite.office.clock, "fz.cal", "sysadmin", None)
    response = admin.post("/reference/calendar/day", {"day": day, "kind": "holiday", "version": "x"})
    assert response.status_code == 400 and "日期无效" in text(response)


@pytest.mark.parametrize("value", ["\x00", "a\x00"])
def test_a_nul_anywhere_in_a_form_is_refused_in_chinese(ws_lite: Workspace, value: str) -> None:
    operator = Caller(ws_lite.app, ws_lite.office.clock, "fz.nul", "operator", None)
    response = operator.post("/search", {"text": ["噪音", value]})
    assert response.status_code == 400 and "请求中含有无效字符" in text(response)


def test_a_nul_in_an_uploaded_file_name_is_refused_in_chinese(ws_lite: Workspace) -> None:
    transcriber = Caller(ws_lite.app, ws_lite.office.clock, "fz.nulfile", "transcriber", None)
    response = transcriber.post("/platform/imports", {"file": (io.BytesIO(b"a,b\r\n"), "orders\x00.csv")})
    assert response.status_code == 400 and "请求中含有无效字符" in text(response)
