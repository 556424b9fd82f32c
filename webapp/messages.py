"""The Chinese texts the web layer sends from Python (界面提示), in one place for Flask-Babel to wrap later.

Page text lives in the templates; this module holds flash messages, error pages and the translation of the
English messages that `processes` gives (password policy, the one login failure sentence).
"""

from __future__ import annotations

import re

from processes import accounts

LOGIN_FAILED = "用户名或密码错误，或账户已锁定。请稍后再试，或联系安全管理员。"
LOGIN_MISSING = "请输入用户名和密码。"
LOGIN_RATE_LIMITED = "登录尝试过于频繁，请 {minutes} 分钟后再试。"
LOGIN_REQUIRED = "请先登录。"
SESSION_EXPIRED = "会话已超时，请重新登录。"
SESSION_ENDED = "您的会话已结束，请重新登录。"
LOGGED_OUT = "您已退出登录。"
ALL_SESSIONS_ENDED = "您的全部会话（包括其他设备上的）已结束，请重新登录。"
MUST_CHANGE_PASSWORD = "请先修改密码：首次登录或密码已超过有效期。"
PASSWORD_CHANGED = "密码已修改，其他设备上的会话已结束。"
PASSWORD_OLD_WRONG = "当前密码不正确。"
PASSWORD_MISMATCH = "两次输入的新密码不一致。"
PASSWORD_FIELDS_MISSING = "请填写当前密码、新密码和确认密码。"
PASSWORD_POLICY_OTHER = "新密码不符合密码策略。"
TOTP_REQUIRED = "您的角色必须启用动态口令（双因素认证），请先完成绑定。"
TOTP_FAILED = "动态口令错误或已使用过，或账户已锁定。"
TOTP_PENDING_EXPIRED = "动态口令输入超时，请重新登录。"
TOTP_ENROLLED = "动态口令已启用，以后登录时需要输入。"
TOTP_CONFIRM_FAILED = "动态口令不正确，请核对手机时间后重试。"
TOTP_ALREADY = "动态口令已启用；如需重置，请联系安全管理员。"

ERRORS = {
    400: "请求无效。",
    401: "请先登录。",
    403: "您没有权限执行此操作。",
    404: "页面不存在。",
    405: "不支持此请求方式。",
    413: "提交的内容过大。",
    429: "请求过于频繁，请稍后再试。",
}
CSRF_FAILED = "表单已过期或无效（CSRF 校验失败），请刷新页面后重新提交。"

# English messages from processes, translated exactly.
EXACT = {accounts.LOGIN_FAILED: LOGIN_FAILED, "the current password is wrong": PASSWORD_OLD_WRONG}

# The password policy's English messages (processes.passwords.check, accounts.set_password) by pattern.
POLICY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"too short: at least (\d+) characters"), "密码太短：至少 {0} 个字符。"),
    (re.compile(r"too long: at most (\d+) characters"), "密码太长：最多 {0} 个字符。"),
    (re.compile(r"use at least 3 of: .*passphrase of (\d+) characters"),
     "至少包含小写字母、大写字母、数字、符号中的 3 类（或使用 {0} 个字符以上的口令短语）。"),
    (re.compile(r"too predictable"), "过于简单：含重复或连续的字符（如 aaaa、1234、abcd）。"),
    (re.compile(r"must not contain the username"), "不得包含用户名。"),
    (re.compile(r"too common"), "过于常见：在攻击者最先尝试的密码名单上。"),
    (re.compile(r"must differ from the last (\d+) passwords"), "不得与最近 {0} 次使用过的密码相同。"),
]


def translate(message: str) -> str:
    """Return the Chinese text of an English message from processes (a generic sentence when unknown)."""
    if message in EXACT:
        return EXACT[message]
    for pattern, text in POLICY:
        found = pattern.search(message)
        if found:
            return text.format(*found.groups())
    return PASSWORD_POLICY_OTHER
