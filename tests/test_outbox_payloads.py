"""Outbox payloads (发件箱消息格式): one versioned shape per channel, its Chinese rendering, no personal data in
the stored row (pointers read at delivery), and messages of the old shape still listed and delivered."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from handlers import notify
from processes.accounts import sessions
from processes.accounts.models import AppUser
from processes.clock import FrozenClock
from processes.runtime import commands
from processes.runtime import outbox
from processes.runtime import outbox_personal
from processes.runtime import outbox_text
from processes.runtime.handler_api import HandlerContext
from processes.runtime.handler_api import HandlerError
from processes.runtime.models import OutboxMessage
from processes.runtime.models import ProcessInstance
from tests.lifecycle_support import Office
from tests.lifecycle_support import at
from tests.lifecycle_support import copy_office
from tests.lifecycle_support import prepare_office
from tests.support import truncate_all
from webapp.cli import cli

LEASE = timedelta(seconds=30)
SECOND = timedelta(seconds=1)
FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
PERSON = {"requester_name": "王小明", "requester_phone": "13912345678", "requester_address": "北岙街道中心街88号"}
MATTER = {"content": "凌晨两点仍在打桩施工", "location": "洞头区北岙街道望海路17号工地"}
PUBLIC_REPLY = "经执法人员现场核查，已责令工地停止夜间施工。"
REPLY: dict[str, Any] = {"reply_action": "reply", "claim_true": True, "solved": True, "contacted": True,
         "reply_text": "内部记录：约谈项目经理", "contact_record": "电话告知诉求人", "public_reply": PUBLIC_REPLY}
DISPATCH = {"request_type": "complaint", "urgency": "normal", "triage_result": "dispatch"}
PUBLISHED = "经核查，工地已停止夜间施工。"  # the public reply as 挂网审核 edits it: the newest answer
SECRETS = (*PERSON.values(), *MATTER.values(), PUBLIC_REPLY, PUBLISHED, REPLY["reply_text"], REPLY["contact_record"])


class Gateway:
    """A real gateway stand-in: records what it was given, personal values included."""

    name = "gateway"

    def __init__(self) -> None:
        self.sent: list[outbox.Message] = []

    def deliver(self, message: outbox.Message) -> None:
        """Keep the message."""
        self.sent.append(message)


@pytest.fixture(params=["sqlite", "postgres"])
def office(request: pytest.FixtureRequest, office_template: Path, tmp_path: Path) -> Iterator[Office]:
    """The prepared office on SQLite or PostgreSQL, Wednesday 2026-11-25 09:00 Beijing time."""
    if request.param == "sqlite":
        url = copy_office(office_template, tmp_path)
    else:
        url = request.getfixturevalue("pg_url")
        truncate_all(url)
        prepare_office(url)
    one = Office(url, FrozenClock(at("2026-11-25T09:00:00")))
    yield one
    one.close()


def rows(office: Office, case: commands.Started | None = None, **where: str) -> list[OutboxMessage]:
    """Stored outbox rows (of a case), oldest first."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if case is not None:
        query = query.where(OutboxMessage.case_id == case.case_id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    with office.rt.read() as session:
        return list(session.scalars(query))


def one(office: Office, case: commands.Started | None, kind: str) -> dict[str, Any]:
    """The payload of the one message of this kind."""
    [row] = rows(office, case, kind=kind)
    return dict(row.payload)


def assert_nothing_personal(office: Office, *secrets: str) -> None:
    """No phone number, name or free text in any stored outbox row (every column, as JSON)."""
    with office.rt.read() as session:
        stored = [dict(r._mapping) for r in session.execute(sa.select(OutboxMessage.__table__))]
    text = json.dumps(stored, ensure_ascii=False, default=str)
    assert stored and not FULL_PHONE.search(text)
    for secret in (*SECRETS, *secrets):
        assert secret not in text, secret


def resolved(office: Office, payload: dict[str, Any]) -> dict[str, str | None]:
    """The personal values a payload points at, as a gateway gets them."""
    with office.rt.read() as session:
        return outbox_personal.resolve(session, payload["case_id"], payload)


def envelope(payload: dict[str, Any], channel: str, kind: str, kind_name: str) -> None:
    """The common part of every version-1 payload."""
    assert (payload["schema"], payload["v"], payload["kind"], payload["kind_name"]) == (
        f"hotline.outbox.{channel}", 1, kind, kind_name)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00", payload["sent_at"])


def dispatched(office: Office, unit: str = "sthj") -> commands.Started:
    """A phone case of a named citizen, triaged and dispatched to one unit."""
    case = office.open("case_phone", "phone", **PERSON, **MATTER)
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": unit})
    return case


def closed(office: Office, case: commands.Started, unit: str = "sthj", *, publish: bool = True) -> None:
    """Sign, reply, accept, call back satisfied and decide publication."""
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department=unit)
    office.complete(case, "reply", REPLY, department=unit)
    office.complete(case, "review", {"review_result": "accept"})
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
    office.clock.now += timedelta(hours=1)  # publication an hour after 办结
    office.complete(case, "publish_review", {"publish": True, "public_reply": PUBLISHED} if publish else
                    {"publish": False})


def test_sms_notices_to_a_unit_carry_a_chinese_text_and_the_deadline(office: Office) -> None:
    case = dispatched(office)
    notice = one(office, case, "dispatch_notice")
    envelope(notice, "sms", "dispatch_notice", "派单通知")
    assert (notice["case_id"], notice["case_number"], notice["target"]) == (case.case_id, case.case_number, "sthj")
    assert notice["to"] == {"type": "unit", "code": "sthj", "name": "区生态环境分局", "address": "sms:sthj"}
    assert (notice["deadline"], notice["deadline_stage"]) == ("2026-11-26T23:59:59+08:00", "sign_for")
    assert notice["case"] == {"channel": "phone", "category": "噪音扰民", "request_type": "complaint",
                              "urgency": "normal", "status": "dispatched", "township": {"code": "bayj", "name": "bayj"}}
    assert notice["text"] == (f"【洞头12345】区生态环境分局：您单位有新工单 {case.case_number}（噪音扰民），"
                              "请于11月26日23:59前签收。")
    assert notice["personal"] == {}
    assert outbox_text.render("sms", "dispatch_notice", notice) == [
        "[短信] 派单通知 → 区生态环境分局（sms:sthj）",
        f"工单编号：{case.case_number}（来电 · 噪音扰民 · bayj · 一般）",
        "签收时限：2026-11-26 23:59",
        f"正文：{notice['text']}",
        "发出时间：2026-11-25 09:00"]

    office.run_until(at("2026-11-26T23:59:59") + SECOND)
    late = one(office, case, "sign_overdue")
    assert late["text"] == (f"【洞头12345】区生态环境分局：工单 {case.case_number}（噪音扰民）已超过签收时限"
                            "（11月26日23:59），请立即签收或说明理由退单。")
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    assert office.task(case, "reply").due_at == at("2026-12-04T23:59:59")  # signed late: five working days on
    office.run_until(at("2026-12-04T23:59:59") + SECOND)  # yellow, then red
    assert one(office, case, "urging")["text"].endswith("将于12月4日23:59到期，请抓紧办理并按时答复。")
    overdue = one(office, case, "overdue")
    assert (overdue["deadline"], overdue["deadline_stage"]) == ("2026-12-04T23:59:59+08:00", "handle")
    office.complete(case, "supervise", {"supervise_action": "urge", "supervision_note": "限明日上午答复"})
    urging = one(office, case, "supervision_notice")
    assert urging["to"]["name"] == "区生态环境分局" and "现发出催办通知书" in urging["text"]
    assert resolved(office, urging) == {"note": "限明日上午答复"}  # the 督办意见, read when sent
    office.run_until(at("2026-12-11T23:59:59") + SECOND)  # red + 5 working days: 通报
    leader = one(office, case, "notice_candidate")
    assert leader["to"] == {"type": "role", "code": "leader", "name": "领导", "address": None}
    assert leader["text"] == (f"【洞头12345】领导：工单 {case.case_number}（噪音扰民）超期仍未办结（区生态环境分局），"
                              "已列为通报候选，请阅处。")
    assert_nothing_personal(office, "限明日上午答复")


def test_sms_to_the_citizen_reads_the_phone_only_when_sent(office: Office) -> None:
    case = dispatched(office)
    with office.rt.write() as session, session.begin():
        ctx = HandlerContext(session, case.instance_id, case.case_id, "tester", office.clock(), "tell", "t-1")
        assert notify.send(ctx, "sms", "extension_notice", "requester") == {
            "queued": True, "channel": "sms", "kind": "extension_notice"}  # routing values only, to the workflow
    sms = one(office, case, "extension_notice")
    assert sms["to"] == {"type": "requester", "code": None, "name": "诉求人", "address": None}
    assert sms["personal"] == {"to_phone": {"ref": "requester", "field": "phone"}}
    assert sms["text"] == (f"【洞头12345】您好，您反映的问题（工单 {case.case_number}）有新的extension_notice，"
                           "详情请拨打12345查询。")
    assert_nothing_personal(office)
    assert "手机号码：（个人信息，发送时从工单读取）" in outbox_text.render("sms", "extension_notice", sms)
    values = resolved(office, sms)
    assert "手机号码：139****5678" in outbox_text.render("sms", "extension_notice", sms, values)
    assert "手机号码：13912345678" in outbox_text.render("sms", "extension_notice", sms, values, reveal=True)

    gateway = Gateway()
    assert outbox.deliver_due(office.rt, {"sms": gateway}, "s1", lease=LEASE)["failed"] == 0
    [sent] = [m for m in gateway.sent if m.kind == "extension_notice"]
    assert sent.personal == {"to_phone": "13912345678"}
    assert_nothing_personal(office)  # delivering wrote nothing personal back


def test_upstream_write_back_carries_the_order_number_result_and_answer(office: Office) -> None:
    upstream = "2026-11-30T12:00:00+08:00"
    case = office.open("case_platform", "platform", upstream_order_id="ZJ2026112500123", upstream_deadline=upstream,
                       **PERSON, **MATTER)
    office.complete(case, "triage", DISPATCH)
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    closed(office, case)
    back = one(office, case, "writeback")
    envelope(back, "upstream", "writeback", "回填办理结果")
    assert back["to"] == {"type": "platform", "code": "mhww", "name": "民呼我为统一平台（省市12345）", "address": None}
    assert (back["upstream_order_id"], back["upstream_deadline"]) == ("ZJ2026112500123", upstream)
    assert back["result"] == {
        "outcome": "closed", "outcome_name": "已办结", "at": "2026-11-25T09:00:00+08:00", "on_time": True,
        "deadline": upstream, "callback_result": "satisfied", "doubtful": False,
        "units": [{"code": "sthj", "name": "区生态环境分局"}], "merged_into": None}
    assert back["sent_at"] == "2026-11-25T10:00:00+08:00"  # sent after 挂网审核; 办结 an hour earlier
    assert resolved(office, back) == {"answer": PUBLISHED}
    assert outbox_text.render("upstream", "writeback", back, resolved(office, back)) == [
        "[上级平台] 回填办理结果 → 民呼我为统一平台（省市12345）",
        "上级工单编号：ZJ2026112500123（截止 2026-11-30 12:00）",
        f"工单编号：{case.case_number}（民呼我为转录 · 噪音扰民 · bayj · 一般）",
        "结果：已办结（2026-11-25 09:00，按时）",
        "回访结果：满意",
        "承办单位：区生态环境分局",
        f"答复内容：{PUBLISHED}",
        "发出时间：2026-11-25 10:00"]
    assert_nothing_personal(office)


def test_upward_report_lists_case_numbers_by_kind(office: Office) -> None:
    done = office.open("case_phone", "phone", request_type="consult", **PERSON)
    office.complete(done, "triage", {**DISPATCH, "request_type": "consult", "triage_result": "direct_answer"})
    office.complete(done, "direct_answer", {"direct_answer": "告知办理地点在区行政服务中心"})
    report = commands.start(office.rt, "upward_report", {}, actor="admin")
    office.run_until(at("2026-11-30T09:00:00") + SECOND)
    office.complete(report, "check_report", {"report_confirmed": True})
    sent = one(office, None, "upward_report")
    envelope(sent, "upstream", "upward_report", "定期上报")
    assert (sent["case_id"], sent["case_number"], sent["to"]["name"]) == (None, None, "民呼我为统一平台（省市12345）")
    assert sent["body"]["consult"] == [done.case_number] and sent["body"]["counts"]["consult"] == 1
    lines = outbox_text.render("upstream", "upward_report", sent)
    assert lines[1] == "统计期间：2026-11-23 09:00 至 2026-11-30 09:00"
    assert f"咨询件：1 件 {done.case_number}" in lines and "存疑件：0 件" in lines
    assert_nothing_personal(office, "告知办理地点在区行政服务中心")


def test_police110_return_names_the_incident_and_the_reason_given(office: Office) -> None:
    case = office.open("case_110", "police110", upstream_order_id="110-20261125-0044", **PERSON, **MATTER)
    office.complete(case, "accept_110", {"accepted": False, "return_reason": "涉及治安案件，属警务范围"})
    back = one(office, case, "returned")
    envelope(back, "police110", "returned", "退回110")
    assert back["to"] == {"type": "police110", "code": "110", "name": "110指挥中心", "address": None}
    assert (back["incident_no"], back["target"]) == ("110-20261125-0044", None)
    assert back["result"] == {"outcome": "returned", "outcome_name": "退回110", "at": "2026-11-25T09:00:00+08:00"}
    assert back["personal"] == {"reason": {"ref": "case_text", "id": back["personal"]["reason"]["id"],
                                           "field": "return_reason"}}
    assert resolved(office, back) == {"reason": "涉及治安案件，属警务范围"}
    assert outbox_text.render("police110", "returned", back) == [
        "[110联动] 退回110 → 110指挥中心", "110警情编号：110-20261125-0044",
        f"工单编号：{case.case_number}（110移交 · 噪音扰民 · bayj · 一般）",
        "结果：退回110（2026-11-25 09:00）", "退回理由：（个人信息，发送时从工单读取）", "发出时间：2026-11-25 09:00"]
    assert_nothing_personal(office, "涉及治安案件，属警务范围")
    url = office.rt.db.url.render_as_string(hide_password=False)
    listed = CliRunner(env={"HOTLINE_DATABASE_URL": url}).invoke(cli, ["outbox", "list", "--text"],
                                                                 catch_exceptions=False).output
    assert "         110警情编号：110-20261125-0044" in listed and "退回理由：（个人信息，发送时从工单读取）" in listed
    assert "涉及治安案件" not in listed  # `hotline outbox list --text` shows content, never personal values
    with office.rt.read() as session:
        snapshot = session.get(ProcessInstance, case.instance_id)
    assert snapshot is not None and "涉及治安案件" not in snapshot.snapshot  # nor in workflow state


def test_police110_acceptance_overdue_is_texted_to_the_duty_leader(office: Office) -> None:
    case = office.open("case_110", "police110", urgency="normal", upstream_order_id="110-20261125-0042", **PERSON)
    office.run_until(at("2026-11-25T11:00:00") + SECOND)  # 2 h acceptance limit passed: the duty leader is told
    leader = one(office, case, "accept_overdue")
    envelope(leader, "sms", "accept_overdue", "110受理超时提醒")
    assert leader["to"] == {"type": "role", "code": "duty_leader", "name": "值班长", "address": None}
    assert (leader["deadline"], leader["deadline_stage"]) == ("2026-11-25T11:00:00+08:00", "accept_110")
    assert leader["text"] == (f"【洞头12345】值班长：110移交警情 110-20261125-0042（工单 {case.case_number}）"
                              "已超过受理时限（11月25日11:00）仍未受理，请立即处理。")
    assert_nothing_personal(office)


def test_police110_acceptance_and_closure_report_back_with_results(office: Office) -> None:
    case = office.open("case_110", "police110", urgency="normal", upstream_order_id="110-20261125-0043", **PERSON)
    office.clock.now = at("2026-11-25T10:00:00")
    office.complete(case, "accept_110", {"accepted": True})
    first = one(office, case, "first_response")
    envelope(first, "police110", "first_response", "首次反馈（已受理）")
    assert first["incident_no"] == "110-20261125-0043" and first["result"] == {
        "outcome": "accepted", "outcome_name": "已受理", "at": "2026-11-25T10:00:00+08:00"}
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "zhzf"})
    closed(office, case, "zhzf", publish=False)
    closure = one(office, case, "closure")
    envelope(closure, "police110", "closure", "办结反馈")
    assert closure["incident_no"] == "110-20261125-0043"
    assert closure["deadline"] == "2026-11-26T10:00:00+08:00"  # 110 transfers: 24 hours from signing
    assert {k: closure["result"][k] for k in ("outcome", "at", "on_time", "callback_result", "units")} == {
        "outcome": "closed", "at": "2026-11-25T10:00:00+08:00", "on_time": True, "callback_result": "satisfied",
        "units": [{"code": "zhzf", "name": "区综合行政执法局"}]}
    assert resolved(office, closure) == {"answer": PUBLIC_REPLY}
    assert_nothing_personal(office)


def test_transfer_to_110_points_at_the_matter_and_the_caller(office: Office) -> None:
    case = office.open("case_phone", "phone", **PERSON, **MATTER)
    office.complete(case, "triage", {**DISPATCH, "triage_result": "transfer", "transfer_target": "110",
                                     "transfer_note": "来电称有人持械斗殴"})
    sent = one(office, case, "transfer")
    envelope(sent, "police110", "transfer", "转办110")
    assert sent["incident_no"] is None and sent["case"]["status"] == "transferred"
    assert sorted(sent["personal"]) == ["caller_name", "caller_phone", "content", "location", "reason"]
    gateway = Gateway()
    outbox.deliver_due(office.rt, {"police110": gateway, "*": outbox.SpoolAdapter()}, "s1", lease=LEASE)
    [message] = [m for m in gateway.sent if m.kind == "transfer"]
    assert message.personal == {"content": MATTER["content"], "location": MATTER["location"],
                                "caller_name": "王小明", "caller_phone": "13912345678", "reason": "来电称有人持械斗殴"}
    lines = outbox_text.render("police110", "transfer", sent, message.personal)
    assert "姓名：王**" in lines and "手机号码：139****5678" in lines and f"诉求内容：{MATTER['content']}" in lines
    assert_nothing_personal(office, "来电称有人持械斗殴")


def test_township_problem_rejected_with_the_review_note_or_fed_back_with_the_result(office: Office) -> None:
    rejected = office.open("case_township", "township", township="luxi", **MATTER)
    office.complete(rejected, "district_review", {"township_accepted": False, "review_note": "属乡级职权，请属地处置"})
    back = one(office, rejected, "rejected")
    envelope(back, "township", "rejected", "退回（不予受理）")
    assert (back["target"], back["to"]) == ("luxi", {"type": "township", "code": "luxi", "name": "鹿西乡",
                                                      "address": "sms:luxi"})
    assert back["result"]["outcome"] == "rejected" and resolved(office, back) == {"reason": "属乡级职权，请属地处置"}
    assert "审核意见：（个人信息，发送时从工单读取）" in outbox_text.render("township", "rejected", back)

    case = office.open("case_township", "township", township="damen", category="市政设施", **MATTER)
    office.complete(case, "district_review", {"township_accepted": True, "urgency": "normal"})
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "zjj",
                                       "assisting_departments": ["damen"]})
    for unit in ("zjj", "damen"):
        office.complete(case, "sign_for", {"sign_decision": "sign"}, department=unit)
        office.complete(case, "reply", REPLY, department=unit)
    office.complete(case, "review", {"review_result": "accept"})
    office.complete(case, "publish_review", {"publish": False})
    feedback = one(office, case, "feedback")
    envelope(feedback, "township", "feedback", "办结反馈")
    assert feedback["to"]["name"] == "大门镇" and feedback["result"]["outcome_name"] == "已办结"
    assert feedback["result"]["units"] == [{"code": "zjj", "name": "区住建局"}, {"code": "damen", "name": "大门镇"}]
    assert resolved(office, feedback) == {"answer": PUBLIC_REPLY}
    assert "承办单位：区住建局、大门镇" in outbox_text.render("township", "feedback", feedback)
    assert_nothing_personal(office, "属乡级职权，请属地处置")


def test_security_alert_on_the_internal_channel_names_the_account_only_when_shown(office: Office) -> None:
    now = office.clock()
    with office.rt.write() as session, session.begin():
        user = AppUser(username="zhangwei", username_key="zhangwei", real_name="张伟", password_hash="x",
                       password_changed_at=now, created_at=now, created_by="tester")
        session.add(user)
        session.flush()
        sessions.alert_concurrent(session, user, count=3, limit=2, now=now, role="operator", session_hash="h" * 64,
                                  source_ip="127.0.0.1", request_id="r1")
        user_id = user.id
    alert = one(office, None, "security.concurrent_sessions")
    envelope(alert, "internal", "security.concurrent_sessions", "多处同时登录告警")
    assert alert["to"] == {"type": "role", "code": "secadmin", "name": "安全管理员", "address": None}
    assert (alert["user_id"], alert["detail"]) == (user_id, {"open_sessions": 3, "limit": 2})
    assert resolved(office, alert) == {"account": "zhangwei"}
    assert outbox_text.render("internal", alert["kind"], alert) == [
        "[内部通知] 多处同时登录告警 → 安全管理员", "同时在线会话：3（上限 2）", "账号：（个人信息，发送时从工单读取）",
        "发出时间：2026-11-25 09:00"]
    assert_nothing_personal(office, "zhangwei", "张伟")


def test_messages_of_the_old_shape_still_list_and_deliver(office: Office) -> None:
    case = office.open("case_phone", "phone", **PERSON)
    now = office.clock()
    with office.rt.write() as session, session.begin():
        outbox.enqueue(session, channel="sms", kind="dispatch_notice", key="old-1", now=now, case_id=case.case_id,
                       payload={"target": "sthj", "case_id": case.case_id})
        outbox.enqueue(session, channel="upstream", kind="upward_report", key="old-2", now=now,
                       payload={"target": None, "case_id": None,
                                "body": {"consult": ["DT1"], "counts": {"consult": 1}}})
        outbox.enqueue(session, channel="internal", kind="security.concurrent_sessions", key="old-3", now=now,
                       payload={"to_role": "secadmin", "user_id": "u1", "username": "lina", "open_sessions": 3})
    old = {m.idempotency_key: m for m in outbox.messages(office.rt)}
    assert outbox.describe(old["old-1"]) == ["[短信] 派单通知（旧格式消息） → sthj", f"工单：{case.case_id}"]
    assert outbox.describe(old["old-2"]) == ["[上级平台] 定期上报（旧格式消息）", "咨询件：1 件 DT1"]
    assert outbox.describe(old["old-3"]) == ["[内部通知] 多处同时登录告警（旧格式消息） → secadmin"]
    gateway = Gateway()
    assert outbox.deliver_due(office.rt, {"*": gateway}, "s1", lease=LEASE)["failed"] == 0
    assert {m.idempotency_key: dict(m.personal) for m in gateway.sent if m.idempotency_key.startswith("old-")} == {
        "old-1": {}, "old-2": {}, "old-3": {}}
    assert {m.status for m in outbox.messages(office.rt)} == {"delivered"}


def test_a_message_whose_text_is_gone_backs_off_instead_of_sending_half(office: Office) -> None:
    case = office.open("case_110", "police110", upstream_order_id="110-20261125-0045")
    office.complete(case, "accept_110", {"accepted": False, "return_reason": "属警务范围"})
    with office.rt.write() as session, session.begin():
        row = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "returned")).one()
        row.payload = {**row.payload, "personal": {"reason": {"ref": "case_text", "id": 10**9, "field": "x"}}}
    gateway = Gateway()
    assert outbox.deliver_due(office.rt, {"police110": gateway}, "s1", lease=LEASE)["retry"] == 1
    [failed] = [m for m in outbox.messages(office.rt) if m.kind == "returned"]
    assert failed.status == "pending" and "PersonalDataMissing" in (failed.last_error or "")
    assert gateway.sent == []


def test_the_handler_refuses_an_oversized_target(office: Office) -> None:
    case = office.open("case_phone", "phone")
    with office.rt.write() as session, session.begin():
        ctx = HandlerContext(session, case.instance_id, case.case_id, "tester", office.clock(), "x", "t-2")
        with pytest.raises(HandlerError, match="target must be a code"):
            notify.send(ctx, "sms", "dispatch_notice", "单" * 65)
    assert rows(office, case, kind="dispatch_notice") == []
