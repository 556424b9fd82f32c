"""Chinese texts of the audit log pages sent from Python (flash messages, errors)."""

from __future__ import annotations

from webapp.messages import _l

INTACT = _l("审计链完整：已校验 {checked} 条已封存记录；另有 {unsealed} 条尚未封存。")
BROKEN = _l("审计链被破坏：{kind}，位置 seq {seq}。请立即报告安全管理员并保留现场。")
ANCHOR_INVALID = _l("锚点格式应为 SEQ:HASH（hotline audit verify 打印的链头）。")
NO_KEY = _l("未配置审计密钥（AUDIT_HMAC_KEY），无法校验审计链。")
FILTER_INVALID = _l("筛选条件无效。")
TOO_MANY = _l("符合条件的记录超过 {limit} 条，请缩小日期范围或增加筛选条件后再导出。")
PROBLEMS = {  # processes.audit.chain.Problem.kind
    "edited": _l("记录被修改"),
    "deleted": _l("记录被删除"),
    "inserted": _l("插入了不属于链的记录"),
    "reordered": _l("记录顺序被调整"),
    "truncated": _l("链尾被截断"),
}
