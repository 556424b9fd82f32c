"""Chinese texts of the user administration pages sent from Python (flash messages, field errors), and the
translation of the English account and role errors `processes` raises."""

from __future__ import annotations

import re

from webapp import messages
from webapp.messages import N_
from webapp.messages import _l

CREATED_HINT = _l("账号已创建。初始密码只显示这一次，请当面或通过安全渠道交给本人；首次登录时必须修改。")
DISABLED = _l("账号已停用，其全部会话已结束。")
ENABLED = _l("账号已启用。")
ROLES_CHANGED = _l("角色已修改。")
UNLOCKED = _l("账号已解锁。")
TOTP_RESET = _l("动态口令已重置，该用户的会话已结束；下次登录时需重新绑定。")
SESSIONS_ENDED = _l("该用户的全部会话已结束。")
FORM_INVALID = _l("表单填写有误，请按提示修改。")
FILTER_INVALID = _l("筛选条件无效。")

USERNAME_REQUIRED = _l("请填写用户名。")
REAL_NAME_REQUIRED = _l("请填写真实姓名（实名制账号）。")
REAL_NAME_INVALID = _l("真实姓名最多 100 个字符，且不能含手机号、身份证号或控制字符。")
DEPARTMENT_UNKNOWN = _l("请选择列表中的单位。")
ROLE_UNKNOWN = _l("请选择列表中的角色。")

# The Chinese role names of processes.accounts.roles, marked so the English catalogue has them; pages show them
# with `_()`.
ROLE_NAMES = (N_("受理员/话务员"), N_("转录员"), N_("审核派单员"), N_("承办人"), N_("街道上报员"), N_("巡查员"),
              N_("回访员"), N_("督办员"), N_("值班长"), N_("领导"), N_("分析员"), N_("系统管理员"), N_("安全管理员"),
              N_("审计员"))

# Why an action was refused (processes.accounts.admin.AdminRefused.reason).
REFUSED = {
    "self": _l("不能对自己的账号执行此操作（自己的会话可在“登录记录”页结束）。"),
    "admin_account": _l("系统管理员、安全管理员和审计员的账号只能在服务器上用 hotline users 命令变更（三员分立）。"),
    "admin_role": _l("管理员角色（系统管理员、安全管理员、审计员）只能在服务器上用 hotline users 命令授予"
                     "（三员分立）。"),
    "wrong_role": _l("您的角色不能执行此操作（三员分立）。"),
    "unknown_action": _l("您的角色不能执行此操作（三员分立）。"),
}

# The English messages of processes.accounts.users and processes.accounts.roles, by pattern.
_ACCOUNT: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^username: 2-64"), _l("用户名须为 2-64 个字母、数字或 . _ @ - 字符。")),
    (re.compile(r"^username must not be a phone or ID number"), _l("用户名不能是手机号或身份证号。")),
    (re.compile(r"^username .* is taken"), _l("用户名已被占用（仅大小写或全角半角不同也视为同一用户名）。")),
    (re.compile(r"^username mixes scripts"),
     _l("用户名不能混用不同文字的字母（如拉丁字母与西里尔字母），请只用一种。")),
    (re.compile(r"^username .* looks like the existing"),
     _l("用户名与已有账号形近易混（如 0 与 O、1 与 l），请换一个。")),
    (re.compile(r"^unknown department"), DEPARTMENT_UNKNOWN),
    (re.compile(r"^handler needs a department"), _l("角色“承办人”需要选择所属单位。")),
    (re.compile(r"^township_reporter needs a (department|township)"), _l("角色“街道上报员”需要选择所属乡镇街道。")),
    (re.compile(r"^administrator roles are exclusive|cannot be combined with business roles"),
     _l("系统管理员、安全管理员、审计员三个角色互斥，且不能与业务角色兼任（三员分立）。")),
    (re.compile(r"^a user needs at least one role"), _l("请至少选择一个角色。")),
    (re.compile(r"^unknown role"), ROLE_UNKNOWN),
]


def account_error(message: str) -> str:
    """Return the Chinese text of an English account, role or password-policy message from `processes`."""
    for pattern, text in _ACCOUNT:
        if pattern.search(message):
            return str(text)
    return messages.translate(message)
