"""Phone and ID numbers in other spellings (issue 16, finding 1): found, masked where typed, kept out of workflow
state, refused by the audit trail and the command line, and never shown in full on any page a unit reaches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from processes.audit.record import AuditRefused
from processes.audit.record import clean
from processes.cases.numbers import find_numbers
from processes.cases.numbers import has_number
from processes.cases.numbers import mask_numbers
from processes.cases.numbers import scrub_numbers
from processes.cases.personal import split_data
from processes.errors import FormDataInvalid
from processes.runtime.models import ProcessInstance
from tests.lifecycle_support import REPLY
from tests.test_cli import BUNDLE
from tests.test_pii_crawl import crawl
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp.cli import cli


def wide(typed: str) -> str:
    """Return text as a Chinese IME types it in full-width mode (digits, plus, dot, X and an ideographic space)."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) for c in typed)


MOBILE, ID_GROUPS, ID_X, LANDLINE, BEIJING = ("13912345678", "330302199001011234", "33030219900101123X",
                                              "057763481234", "01065529988")
# id: (as typed, the number's digits, how it is masked)
SPELLINGS = {
    "plain": ("13912345678", MOBILE, "139****5678"),
    "spaces": ("139 1234 5678", MOBILE, "139****5678"),
    "hyphens": ("139-1234-5678", MOBILE, "139****5678"),
    "dots": ("139.1234.5678", MOBILE, "139****5678"),
    "slashes and wide gaps": ("139 / 1234 / 5678", MOBILE, "139****5678"),
    "+86": ("+8613912345678", MOBILE, "139****5678"),
    "+86 spaced": ("+86 139 1234 5678", MOBILE, "139****5678"),
    "0086": ("0086 139 1234 5678", MOBILE, "139****5678"),
    "086": ("086-13912345678", MOBILE, "139****5678"),
    "full-width": (wide("13912345678"), MOBILE, "139****5678"),
    "full-width +86 and dots": (wide("+86 139.1234.5678"), MOBILE, "139****5678"),
    "zero-width space": ("139\u200b1234\u200b5678", MOBILE, "139****5678"),
    "joiners and BOM": ("139\u200d1234\ufeff5678", MOBILE, "139****5678"),
    "soft hyphen": ("139\u00ad1234\u00ad5678", MOBILE, "139****5678"),
    "bidi marks": ("139\u200e1234\u202e5678", MOBILE, "139****5678"),
    "arabic-indic digits": ("١٣٩١٢٣٤٥٦٧٨", MOBILE, "139****5678"),
    "id in groups": ("330302 19900101 1234", ID_GROUPS, "330***********1234"),
    "id with x": ("33030219900101123x", ID_X, "330***********123X"),
    "id hyphens and zero-width": ("330302-1990\u200b0101-123X", ID_X, "330***********123X"),
    "id full-width": (wide("33030219900101123X"), ID_X, "330***********123X"),
    "landline": ("0577-6348 1234", LANDLINE, "057*****1234"),
    "landline in brackets": ("（0577）63481234", LANDLINE, "057*****1234"),
    "landline +86": ("+86 577 6348 1234", LANDLINE, "057*****1234"),
    "beijing landline": ("010-6552 9988", BEIJING, "010****9988"),
}
# What the office types every day and must never be taken for a personal number.
OFFICE_TEXT = [
    "2026-12-07", "2026-12-07 13:45:00", "2026.12.07 至 2026.12.08", "2026-12-07 2026-12-08 12",
    "2026年12月07日14时30分",
    "DT20261125-0001", "DT20261125-0001、DT20261125-0002", "DT20261125-0001 DT20261125-0002 DT20261125-0003",
    "金额 12,345.67 元", "罚款 1,234,567,890.00 元", "13:45-17:30", "08:30 - 17:30", "第 3 号楼 2 单元 1203 室",
    "共 25 件，超期 3 件，回访 120 件", "12345 热线", "12345-1", "来电 20261125 0001 2026", "PT72H", "P3D",
    "192.168.10.100", "5f3a9c1e-0b2d-4e6f-8a7b-138123456789", "ab" * 32, "v1.2.3", "0.13 吨", "310 国道 1234 号",
]
ALL = list(SPELLINGS.values())


@pytest.mark.parametrize(("typed", "digits", "masked"), ALL, ids=list(SPELLINGS))
def test_every_spelling_is_found_and_masked_exactly_where_it_was_typed(typed: str, digits: str, masked: str) -> None:
    text_ = f"请回电{typed}，谢谢"
    [found] = find_numbers(text_)
    assert found.digits == digits
    assert text_[:found.start] == "请回电" and text_[found.end:] == "，谢谢"  # exactly the typed span
    assert mask_numbers(text_) == f"请回电{masked}，谢谢"
    assert scrub_numbers(text_, "（已隐去）") == "请回电（已隐去），谢谢"
    assert not has_number(mask_numbers(text_))


def test_two_numbers_side_by_side_are_two_numbers() -> None:
    typed = "电话 138 1234 5678 / 13912345678，座机 0577-6348 1234"
    assert [f.digits for f in find_numbers(typed)] == ["13812345678", MOBILE, LANDLINE]
    assert mask_numbers(typed) == "电话 138****5678 / 139****5678，座机 057*****1234"


@pytest.mark.parametrize("office_text", OFFICE_TEXT)
def test_dates_case_numbers_amounts_and_times_are_not_personal_numbers(office_text: str) -> None:
    assert find_numbers(office_text) == [] and mask_numbers(office_text) == office_text
    assert clean({"note": office_text}) == {"note": office_text}  # the audit trail takes them
    assert split_data({"note": office_text}).routing == {"note": office_text}  # so does workflow state


@pytest.mark.parametrize(("typed", "digits", "masked"), ALL, ids=list(SPELLINGS))
def test_workflow_state_refuses_every_spelling(typed: str, digits: str, masked: str) -> None:
    for data in ({"category": typed}, {"category": f"噪音 {typed}"}, {"tags": ["a", typed]}, {"m": {"k": typed}}):
        with pytest.raises(FormDataInvalid, match="phone or ID number"):
            split_data(data)


@pytest.mark.parametrize(("typed", "digits", "masked"), ALL, ids=list(SPELLINGS))
def test_the_audit_trail_refuses_every_spelling(typed: str, digits: str, masked: str) -> None:
    for value in (typed, {"reason": f"核实 {typed}"}, [f"x{typed}y"]):
        with pytest.raises(AuditRefused, match="phone or ID number"):
            clean(value)


def test_typed_into_a_case_no_spelling_reaches_the_workflow_snapshot(ws: Workspace) -> None:
    typed = " ".join(t for t, _, _ in ALL)
    case = ws.dispatched("sthj", title=f"噪音 {ALL[1][0]}", content=f"请回电 {typed}", location=f"楼下 {ALL[4][0]}")
    ws.office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    ws.office.complete(case, "reply", {**REPLY, "contact_record": f"已联系 {typed}"})
    for _typed, _digits, _masked in ALL[:6]:
        with pytest.raises(FormDataInvalid, match="phone or ID number"):
            ws.office.open("case_phone", "phone", category=_typed)
    with ws.office.rt.read() as db:
        stored = db.scalars(sa.select(ProcessInstance.snapshot)).all()
    snapshots = [json.dumps(json.loads(s), ensure_ascii=False) for s in stored]
    found = [(f.digits, s[max(f.start - 40, 0):f.end + 10]) for s in snapshots for f in find_numbers(s)]
    assert snapshots and found == []
    assert not any(digits in s for s in snapshots for _t, digits, _m in ALL)


def test_a_reveal_reason_holding_a_number_is_refused_and_never_reaches_the_audit_trail(ws: Workspace) -> None:
    case = ws.dispatched("sthj")
    supervisor = ws.user("sup1", "supervisor")
    for typed, _digits, _masked in ALL[::3]:
        refused = post_form(supervisor, f"/cases/{case.case_id}/reveal", {"reason": f"督办核实 {typed}"},
                            headers={"HX-Request": "true"})
        assert refused.status_code == 400 and "查看原因中不要填写电话号码或身份证号" in text(refused), typed
    assert audit_rows(ws.app, "pii.reveal") == []


def test_the_command_line_refuses_a_number_in_start_data_like_the_eleven_digit_spelling(
        sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "bpmn" / "simple"
    folder.mkdir(parents=True)
    (folder / "simple.bpmn").write_text(BUNDLE, encoding="utf-8")
    hotline = CliRunner(env={"HOTLINE_DATABASE_URL": sqlite_url, "HOTLINE_BPMN_DIR": str(folder.parent)})
    assert hotline.invoke(cli, ["deploy"]).exit_code == 0
    outcomes = {}
    for spelled, _digits, _masked in ALL:  # the 11-digit spelling first: the others must do as it does
        refused = hotline.invoke(cli, ["start", "simple", "--data", json.dumps({"category": f"噪音 {spelled}"})])
        outcomes[spelled] = (refused.exit_code, "phone or ID number" in refused.output, "Traceback" in refused.output)
    assert set(outcomes.values()) == {(1, True, False)}, outcomes
    fine = hotline.invoke(cli, ["start", "simple", "--data", json.dumps({"category": "噪音 2026-12-07"})])
    assert fine.exit_code == 0, fine.output


def test_no_page_a_unit_or_the_office_reaches_shows_a_number_typed_in_any_spelling(ws_lite: Workspace) -> None:
    typed = " ".join(t for t, _, _ in ALL)
    seeded = {digits for _t, digits, _m in ALL}
    first = ws_lite.dispatched("sthj", title=f"噪音 {ALL[2][0]}", content=f"请回电 {typed}", location=typed)
    ws_lite.office.complete(first, "sign_for", {"sign_decision": "sign"}, department="sthj")
    ws_lite.office.complete(first, "reply", {**REPLY, "contact_record": f"已联系 {typed}", "reply_text": typed})
    second = ws_lite.case(title=f"反映 {ALL[10][0]}", content=typed, location=f"{ALL[16][0]} 号")
    visitors = {"operator": ws_lite.user("hp.op", "operator"), "dispatcher": ws_lite.user("hp.disp", "dispatcher"),
                "supervisor": ws_lite.user("hp.sup", "supervisor"),
                "unit": ws_lite.user("hp.zjj", "handler", department="zjj"),
                "township": ws_lite.user("hp.luxi", "township_reporter", department="luxi")}
    for role, client in visitors.items():
        pages = crawl(client)
        for case in (first, second):
            pages[f"/cases/{case.case_id}"] = text(client.get(f"/cases/{case.case_id}"))
        leaks = {path: sorted({f.digits for f in find_numbers(body)} & seeded) for path, body in pages.items()}
        assert {path: found for path, found in leaks.items() if found} == {}, role
        assert not any(t in body for body in pages.values() for t, _d, _m in ALL), role
        if role in ("operator", "supervisor"):
            assert "139****5678" in pages[f"/cases/{first.case_id}"]  # shown masked, not dropped


def test_a_units_sms_target_in_another_spelling_is_audited_with_its_last_four_digits(ws_lite: Workspace) -> None:
    from tests.test_reference_pages import stamp
    from tests.test_reference_pages import sysadmin

    admin = sysadmin(ws_lite)
    new = {"original": "", "code": "wlj", "name": "区文旅局", "kind": "department", "township": "", "active": "1",
           "sms_target": "sms:138 0000 1234", "version": stamp(admin, "/reference/departments?edit=new")}
    assert post_form(admin, "/reference/departments/save", new, page="/reference/").status_code == 303
    row = audit_rows(ws_lite.app, "reference.departments")[-1]
    assert row["after"]["sms_target"] == "sms:*******1234"  # not refused (a 500 before), not in full
