"""The Chinese sentences of the reference pages (参考数据): one per validation problem, field labels, choices."""

from __future__ import annotations

from flask_babel import gettext

from handlers.reference.csvio import ImportRejected
from handlers.reference.csvio import Problem
from webapp.messages import N_

PROBLEMS = {
    "duplicate": N_("已有相同键的一行（重复），请修改已有的那一行。"),
    "catch_all": N_("环节 %(value)s 必须保留一条兜底规则（来源、类型、紧急程度、复杂程度均为 *）。"),
    "extension_unit": N_("延期上限（extension_max）只能按工作日计。"),
    "complex_type": N_("复杂件不是诉求类型：类型填 *，复杂程度填“复杂件”。"),
    "unknown_department": N_("单位代码 %(value)s 不存在。"),
    "inactive_department": N_("单位 %(value)s 已停用，不能承办。"),
    "assisting_repeat": N_("协办单位重复，或与主办单位相同。"),
    "unknown_township": N_("乡镇街道代码 %(value)s 不存在。"),
    "not_township": N_("所属乡镇 %(value)s 不是乡镇街道（乡镇街道本身不填所属乡镇）。"),
    "wrong_year": N_("日期 %(value)s 不在该年度内。"),
    "unknown_setting": N_("没有名为 %(value)s 的参数。"),
    "too_few_workdays": N_("修改后全年只有 %(value)s 个工作日，请检查是否把工作日误设为休息日。"),
    "code_taken": N_("代码 %(value)s 已被使用。"),
    "in_catalogue": N_("派单目录仍派单给 %(value)s 或其下属单位，请先修改派单目录。"),
    "office_hours": N_("上班时间必须早于下班时间。"),
    "not_found": N_("要修改的记录不存在，可能已被他人删除。"),
    "year_not_entered": N_("%(value)s 年的节假日安排尚未录入，请先录入国务院通知。"),
    "makeup_weekday": N_("调休上班只能设在周六或周日（%(value)s 本来就是工作日）。"),
    "notice_empty": N_("请至少填写一行放假日期。"),
    "notice_line": N_("无法识别“%(value)s”。请写成“2027-02-06~2027-02-14 春节”或“2027-02-20”，一行一段。"),
    "not_role_holder": N_("%(value)s 不能值这个班：须为启用的账户并持有该岗位角色。"),
    "gap": N_("值班有空档：%(value)s 无人值班。夜间、周末、节假日和应急值守的每个时段都要有人。"),
    "too_many_shifts": N_("同一天同一岗位最多 6 个班次。"),
}
FIELDS = {
    "source": N_("来源须从列表中选择。"),
    "request_type": N_("诉求类型须从列表中选择。"),
    "urgency": N_("紧急程度须从列表中选择。"),
    "complexity": N_("复杂程度须从列表中选择。"),
    "stage": N_("环节须为小写英文字母、数字和下划线（如 handle）。"),
    "amount": N_("时限数量须为大于 0 的整数。"),
    "unit": N_("计时单位须从列表中选择。"),
    "note": N_("备注不超过 200 字。"),
    "category": N_("诉求分类必填，不超过 64 字。"),
    "code": N_("代码为 1-32 位英文字母、数字、下划线或连字符。"),
    "name": N_("名称必填，不超过 100 字。"),
    "kind": N_("类型须从列表中选择。"),
    "active": N_("是否启用须从列表中选择。"),
    "sms_target": N_("短信地址不超过 64 字。"),
    "date": N_("日期无效。"),
    "reason": N_("名称不超过 32 字。"),
    "role": N_("岗位须从列表中选择。"),
    "username": N_("请选择值班人员。"),
    "shift_start": N_("开始时间须为 HH:MM。"),
    "shift_end": N_("结束时间须为 HH:MM。"),
    "notice": N_("请填写国务院通知的文号（不超过 200 字）。"),
}
SETTING_HINTS = {
    "yellow_share": N_("须为 0 到 1 之间的小数，如 0.25。"),
    "yellow_workdays": N_("须为 0 到 10 的整数。"),
    "callback_max_attempts": N_("须为 1 到 10 的整数。"),
    "callback_retry_spacing": N_("须为逗号分隔的等待时间，如 2h,next_workday@09:00（30m、2h、next_workday）。"),
    "emergency_mode": N_("须为“是”或“否”。"),
    "office_closes_at": N_("须为 HH:MM 格式的时间，如 17:30。"),
    "office_opens_at": N_("须为 HH:MM 格式的时间，如 08:30。"),
    "metrics_basic_satisfied": N_("须为“是”或“否”。"),
    "metrics_repeats": N_("须为 once（按工单计一次）或 each（按每次计）。"),
    "metrics_period_date": N_("须为 event（按指标自身日期）或 received（按受理日期）。"),
    "pii_retention_days": N_("须为 0（不自动去标识化）或 30 到 36500 的整数（天）。"),
}
GENERIC = N_("填写有误，请检查后重试。")
STALE = N_("数据已被他人修改，本次未执行。请查看最新内容后重新操作。")
DAY_KINDS = {"holiday": N_("节假日（放假）"), "makeup": N_("调休上班"), "default": N_("恢复为周一至周五的默认")}
DUTY_ROLE_LABELS = {"dispatcher": N_("值班审核派单员"), "supervisor": N_("值班督办员"), "duty_leader": N_("值班长"),
                    "leader": N_("带班领导")}
UNIT_LABELS = {"workdays": N_("工作日"), "hours": N_("小时"), "minutes": N_("分钟"), "workday_close": N_("当日下班前")}
DEPARTMENT_KINDS = {"department": N_("部门"), "township": N_("乡镇街道"), "office": N_("热线办")}


def problem_text(problem: Problem) -> str:
    """Return the Chinese sentence for one validation problem."""
    if problem.code == "field":
        return str(gettext(FIELDS.get(problem.field, GENERIC)))
    if problem.code in PROBLEMS:
        return str(gettext(PROBLEMS[problem.code], value=problem.value))
    return str(gettext(GENERIC))


def rejected_texts(exc: ImportRejected, setting: str | None = None) -> list[str]:
    """Return the Chinese sentences for a refused change, each once."""
    texts: list[str] = []
    for problem in exc.problems or [Problem("invalid")]:
        if setting and problem.code == "field" and problem.field == "value":
            text = str(gettext(SETTING_HINTS.get(setting, GENERIC)))
        else:
            text = problem_text(problem)
        if text not in texts:
            texts.append(text)
    return texts
