"""Chinese text of outbox messages (发件箱): names of channels and kinds, SMS templates, readable renderings.

`render` turns a stored payload into lines for the spool listing and the supervisor console. Personal values are
not in the payload (see `outbox_personal`); given the resolved values, phones and names are shown masked unless the
caller may reveal them, and without them each personal item says where its value is read at delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from processes.accounts import pii

OFFICE_TZ = ZoneInfo("Asia/Shanghai")
SMS_SIGNATURE = "【洞头12345】"
CHANNEL_NAMES = {"sms": "短信", "upstream": "上级平台", "police110": "110联动", "township": "街道乡镇",
                 "internal": "内部通知"}
KIND_NAMES = {
    "dispatch_notice": "派单通知", "sign_overdue": "签收催办", "urging": "自动催办（黄灯）",
    "overdue": "超期催办（红灯）", "notice_candidate": "通报提醒", "supervision_notice": "催办通知书",
    "accept_overdue": "110受理超时提醒", "returned": "退回110", "first_response": "首次反馈（已受理）",
    "closure": "办结反馈", "transfer": "转办110", "writeback": "回填办理结果", "upward_report": "定期上报",
    "rejected": "退回（不予受理）", "feedback": "办结反馈", "security.concurrent_sessions": "多处同时登录告警",
    "security.repeated_refusals": "多次越权访问告警", "manual_urging": "督办催办",
}
OUTCOME_NAMES = {"closed": "已办结", "transferred": "已转办", "rejected": "不予受理", "merged": "已并单",
                 "returned": "退回110", "accepted": "已受理"}
CALLBACK_NAMES = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意",
                  "unreachable": "联系不上"}
CASE_CHANNEL_NAMES = {"phone": "来电", "visit": "现场接访", "platform": "民呼我为转录", "township": "民情难题",
                      "police110": "110移交", "network": "网络（Open311）"}
URGENCY_NAMES = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
STAGE_NAMES = {"sign_for": "签收时限", "handle": "办理时限", "accept_110": "受理时限", "writeback": "回填时限"}
# What each personal item is, by where it is read (case_text field, requester or case column, account).
PERSONAL_LABELS = {
    "return_reason": "退回理由", "review_note": "审核意见", "reject_reason": "不予受理理由",
    "transfer_note": "转办说明", "supervision_note": "督办意见", "public_reply": "答复内容",
    "direct_answer": "答复内容", "phone": "手机号码", "name": "姓名", "content": "诉求内容",
    "location": "发生地址", "title": "诉求标题", "username": "账号",
}
MASKED = {"phone": pii.mask_phone, "name": pii.mask_name, "username": pii.mask_name}
# SMS bodies per kind (短信模板). {category} is "（类别）" or empty; nothing personal is ever put in.
SMS_TEMPLATES = {
    "dispatch_notice": "{to}：您单位有新工单 {number}{category}，请于{due}前签收。",
    "sign_overdue": "{to}：工单 {number}{category}已超过签收时限（{due}），请立即签收或说明理由退单。",
    "urging": "{to}：工单 {number}{category}将于{due}到期，请抓紧办理并按时答复。",
    "overdue": "{to}：工单 {number}{category}已超过办理时限（{due}），请立即办理并答复。",
    "notice_candidate": "{to}：工单 {number}{category}超期仍未办结（{units}），已列为通报候选，请阅处。",
    "supervision_notice": "{to}：工单 {number}{category}已超过办理时限（{due}），现发出催办通知书，请立即办理并答复。",
    "accept_overdue": "{to}：110移交警情 {incident}（工单 {number}）已超过受理时限（{due}）仍未受理，请立即处理。",
}
SMS_FALLBACK = "{to}：工单 {number}{category}有新的{kind_name}，请登录系统查看。"
SMS_TO_REQUESTER = "您好，您反映的问题（工单 {number}）有新的{kind_name}，详情请拨打12345查询。"


def local_time(value: str | datetime | None, *, short: bool = False) -> str:
    """Beijing time of an ISO string or datetime: 2026-11-26 23:59, or 11月26日23:59 (short, for SMS)."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(OFFICE_TZ)
    return f"{moment.month}月{moment.day}日{moment:%H:%M}" if short else f"{moment:%Y-%m-%d %H:%M}"


def sms_text(kind: str, *, to_type: str, to_name: str, number: str | None, category: str | None,
             due: str | None, incident: str | None = None, units: str = "") -> str:
    """Write the Chinese SMS body of a kind from its template; the result holds no personal data."""
    values = {"to": to_name, "number": number or "（无编号）", "category": f"（{category}）" if category else "",
              "due": local_time(due, short=True) or "规定时限", "incident": incident or "（无编号）",
              "units": units or "承办单位", "kind_name": KIND_NAMES.get(kind, kind)}
    template = SMS_TO_REQUESTER if to_type == "requester" else SMS_TEMPLATES.get(kind, SMS_FALLBACK)
    return SMS_SIGNATURE + template.format(**values)


def render(channel: str, kind: str, payload: Mapping[str, Any], personal: Mapping[str, str | None] | None = None,
           *, reveal: bool = False) -> list[str]:
    """Turn a payload into readable Chinese lines; old payloads (before versioned shapes) read too."""
    if not isinstance(payload.get("v"), int):
        return _render_old(channel, kind, payload)
    to = payload.get("to") or {}
    head = f"[{CHANNEL_NAMES.get(channel, channel)}] {payload.get('kind_name') or KIND_NAMES.get(kind, kind)}"
    lines = [head + (f" → {to.get('name')}" if to.get("name") else "")
             + (f"（{to['address']}）" if to.get("address") else "")]
    lines += _case_lines(payload)
    if payload.get("deadline"):
        stage = STAGE_NAMES.get(str(payload.get("deadline_stage")), "时限")
        lines.append(f"{stage}：{local_time(payload['deadline'])}")
    if payload.get("result"):
        lines += _result_lines(payload["result"])
    if payload.get("text"):
        lines.append(f"正文：{payload['text']}")
    if isinstance(payload.get("body"), Mapping):
        lines += _report_lines(payload["body"])
    if payload.get("detail"):
        detail = payload["detail"]
        lines.append(f"同时在线会话：{detail.get('open_sessions')}（上限 {detail.get('limit')}）")
    lines += _personal_lines(payload.get("personal") or {}, personal, reveal)
    lines.append(f"发出时间：{local_time(payload.get('sent_at'))}")
    return lines


def _case_lines(payload: Mapping[str, Any]) -> list[str]:
    lines = []
    if payload.get("incident_no"):
        lines.append(f"110警情编号：{payload['incident_no']}")
    if payload.get("upstream_order_id"):
        cap = local_time(payload.get("upstream_deadline"))
        lines.append(f"上级工单编号：{payload['upstream_order_id']}" + (f"（截止 {cap}）" if cap else ""))
    case = payload.get("case") or {}
    if payload.get("case_number"):
        about = [_name(CASE_CHANNEL_NAMES, case.get("channel")), case.get("category"),
                 (case.get("township") or {}).get("name"), URGENCY_NAMES.get(str(case.get("urgency")))]
        shown = " · ".join(str(a) for a in about if a)
        lines.append(f"工单编号：{payload['case_number']}" + (f"（{shown}）" if shown else ""))
    return lines


def _result_lines(result: Mapping[str, Any]) -> list[str]:
    outcome = _name(OUTCOME_NAMES, result.get("outcome"))
    when = local_time(result.get("at"))
    on_time = {True: "，按时", False: "，超期"}.get(result["on_time"], "") \
        if isinstance(result.get("on_time"), bool) else ""
    lines = [f"结果：{outcome}" + (f"（{when}{on_time}）" if when else "")]
    if result.get("callback_result"):
        lines.append(f"回访结果：{_name(CALLBACK_NAMES, result['callback_result'])}"
                     + ("（存疑）" if result.get("doubtful") else ""))
    if result.get("units"):
        lines.append("承办单位：" + "、".join(str(u.get("name") or u.get("code")) for u in result["units"]))
    if result.get("merged_into"):
        lines.append(f"并入工单：{result['merged_into']}")
    return lines


def _name(names: Mapping[str, str], code: Any) -> str | None:
    """The Chinese name of a code, or the code itself."""
    return None if code is None else names.get(str(code), str(code))


def _report_lines(body: Mapping[str, Any]) -> list[str]:
    counts: Mapping[str, Any] = body["counts"] if isinstance(body.get("counts"), Mapping) else {}
    names = {"consult": "咨询件", "doubtful": "存疑件", "satisfied": "满意件"}
    lines = [f"{name}：{counts.get(key, len(body.get(key) or []))} 件 {'、'.join(body.get(key) or [])}".rstrip()
             for key, name in names.items() if key in body]
    if body.get("period_from"):
        lines.insert(0, f"统计期间：{local_time(body['period_from'])} 至 {local_time(body.get('period_to'))}")
    return lines


def _personal_lines(refs: Mapping[str, Any], values: Mapping[str, str | None] | None, reveal: bool) -> list[str]:
    lines = []
    for name, ref in refs.items():
        field = str(ref.get("field", name)) if isinstance(ref, Mapping) else name
        label = PERSONAL_LABELS.get(field, field)
        if values is None:
            lines.append(f"{label}：（个人信息，发送时从工单读取）")
            continue
        value = values.get(name)
        mask = MASKED.get(field)
        shown = "（无）" if not value else value if reveal or mask is None else mask(value)
        lines.append(f"{label}：{shown}")
    return lines


def _render_old(channel: str, kind: str, payload: Mapping[str, Any]) -> list[str]:
    """Messages queued before the versioned shapes: {"target", "case_id"[, "body"]} or free keys."""
    target = payload.get("target") or payload.get("to_role")
    lines = [f"[{CHANNEL_NAMES.get(channel, channel)}] {KIND_NAMES.get(kind, kind)}（旧格式消息）"
             + (f" → {target}" if target else "")]
    if payload.get("case_id"):
        lines.append(f"工单：{payload['case_id']}")
    if isinstance(payload.get("body"), Mapping):
        lines += _report_lines(payload["body"]) or ["附加内容：" + "、".join(sorted(payload["body"]))]
    return lines
