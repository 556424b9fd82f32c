"""The Chinese texts the web layer sends from Python (界面提示), marked for translation in one place.

Page text lives in the templates; this module holds flash messages, error pages and the translation of the
English messages that `processes` gives (password policy, the one login failure sentence). Chinese is the source
language: each text is a lazy string (`_l`) that becomes English only when rendered for a request whose locale
is `en` (webapp/i18n.py); outside a request it is the Chinese text. Compare with `str(messages.X)`.
"""

from __future__ import annotations

import re
from typing import cast

from flask_babel import LazyString
from flask_babel import gettext
from markupsafe import escape

from processes.accounts import users as accounts


class LazyText(LazyString):  # type: ignore[misc]  # Flask-Babel ships no type information
    """A text translated when used; as HTML (flash in the session cookie, Jinja, JSON) it is escaped."""

    def __html__(self) -> str:
        """Return the translation escaped (Flask-Babel's own returns it raw, unsafe in a Markup context)."""
        return str(escape(str(self)))


def _l(text: str) -> str:
    """Mark a Chinese source text for translation, translated when it is used (lazy_gettext)."""
    # Typed as str: it stands in for one wherever the views use it (flash, format, Jinja, JSON, ==); only
    # `lazy in text` needs `str(lazy)`, because str.__contains__ accepts nothing but a real str.
    return cast(str, LazyText(gettext, text))


def N_(text: str) -> str:
    """Mark a text for extraction only; whoever shows it translates it with `_()`."""
    return text


LOGIN_FAILED = _l("用户名或密码错误，或账户已锁定。请稍后再试，或联系安全管理员。")
LOGIN_MISSING = _l("请输入用户名和密码。")
LOGIN_RATE_LIMITED = _l("登录尝试过于频繁，请 {minutes} 分钟后再试。")
LOGIN_REQUIRED = _l("请先登录。")
SESSION_EXPIRED = _l("会话已超时，请重新登录。")
SESSION_ENDED = _l("您的会话已结束，请重新登录。")
LOGGED_OUT = _l("您已退出登录。")
ALL_SESSIONS_ENDED = _l("您的全部会话（包括其他设备上的）已结束，请重新登录。")
MUST_CHANGE_PASSWORD = _l("请先修改密码：首次登录或密码已超过有效期。")
PASSWORD_CHANGED = _l("密码已修改，其他设备上的会话已结束。")
PASSWORD_OLD_WRONG = _l("当前密码不正确。")
PASSWORD_MISMATCH = _l("两次输入的新密码不一致。")
PASSWORD_FIELDS_MISSING = _l("请填写当前密码、新密码和确认密码。")
PASSWORD_POLICY_OTHER = _l("新密码不符合密码策略。")
TOTP_REQUIRED = _l("您的角色必须启用动态口令（双因素认证），请先完成绑定。")
TOTP_FAILED = _l("动态口令错误或已使用过，或账户已锁定。")
TOTP_PENDING_EXPIRED = _l("动态口令输入超时，请重新登录。")
TOTP_ENROLLED = _l("动态口令已启用，以后登录时需要输入。")
TOTP_CONFIRM_FAILED = _l("动态口令不正确，请核对手机时间后重试。")
TOTP_ALREADY = _l("动态口令已启用；如需重置，请联系安全管理员。")

ERRORS = {
    400: _l("请求无效。"),
    401: _l("请先登录。"),
    403: _l("您没有权限执行此操作。"),
    404: _l("页面不存在。"),
    405: _l("不支持此请求方式。"),
    413: _l("提交的内容过大。"),
    429: _l("请求过于频繁，请稍后再试。"),
}
CSRF_FAILED = _l("表单已过期或无效（CSRF 校验失败），请刷新页面后重新提交。")

# English messages from processes, translated exactly.
EXACT = {accounts.LOGIN_FAILED: LOGIN_FAILED, "the current password is wrong": PASSWORD_OLD_WRONG}

# The password policy's English messages (processes.accounts.passwords.check, accounts.set_password) by pattern.
POLICY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"too short: at least (\d+) characters"), _l("密码太短：至少 {0} 个字符。")),
    (re.compile(r"too long: at most (\d+) characters"), _l("密码太长：最多 {0} 个字符。")),
    (re.compile(r"use at least 3 of: .*passphrase of (\d+) characters"),
     _l("至少包含小写字母、大写字母、数字、符号中的 3 类（或使用 {0} 个字符以上的口令短语）。")),
    (re.compile(r"too predictable"), _l("过于简单：含重复或连续的字符（如 aaaa、1234、abcd）。")),
    (re.compile(r"must not contain the username"), _l("不得包含用户名。")),
    (re.compile(r"too common"), _l("过于常见：在攻击者最先尝试的密码名单上。")),
    (re.compile(r"must differ from the last (\d+) passwords"), _l("不得与最近 {0} 次使用过的密码相同。")),
]

# Words webapp.auth.views puts in login-history rows; auth/history.html translates them with `_()`.
HISTORY_WORDS = (N_("密码"), N_("动态口令"), N_("成功"), N_("失败"))


def translate(message: str) -> str:
    """Return the text (in the request's language) of an English message from processes; generic when unknown."""
    if message in EXACT:
        return str(EXACT[message])
    from webapp import password_feedback  # zxcvbn's advice (issue 16); imported here: it imports this module

    if (strength := password_feedback.translate(message)) is not None:
        return strength
    for pattern, text in POLICY:
        found = pattern.search(message)
        if found:
            return str(text).format(*found.groups())
    return str(PASSWORD_POLICY_OTHER)
