"""Forms of the sign-in pages (Flask-WTF: each carries the CSRF token; messages are set by the views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length

# Generous bounds: the policy and `authenticate` judge the content; these only stop absurd input early.
_NAME = [InputRequired(), Length(max=128)]
_SECRET = [InputRequired(), Length(max=1024)]


class LoginForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Username and password (登录)."""

    username = StringField("用户名", validators=_NAME)
    password = PasswordField("密码", validators=_SECRET)


class ChangePasswordForm(FlaskForm):  # type: ignore[misc]
    """The current password, the new one and its confirmation (修改密码)."""

    old = PasswordField("当前密码", validators=_SECRET)
    new = PasswordField("新密码", validators=_SECRET)
    confirm = PasswordField("确认新密码", validators=_SECRET)


class CodeForm(FlaskForm):  # type: ignore[misc]
    """A six-digit code from the authenticator app (动态口令)."""

    code = StringField("动态口令", validators=[InputRequired(), Length(max=16)])


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A form with only the CSRF token, for buttons that change state (退出登录、结束全部会话、生成密钥)."""
