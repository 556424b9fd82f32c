"""User administration (用户管理): the account list, creation and the actions on one account, split by 三员分立.

系统管理员 `sysadmin` creates accounts (business roles only; the initial password is generated and shown once),
disables and enables them; 安全管理员 `secadmin` changes roles (business roles only), unlocks accounts, resets the
second factor and ends a user's sessions; both see the list and the details. Nobody acts on their own account, and
the accounts of the three administrators are created and changed only on the server with `hotline users` (the
rules and why: `processes.accounts.admin`). Every action is a POST with a CSRF token and writes one audit row
(`user.create`, `user.disable`, `user.enable`, `user.roles`, `user.unlock`, `user.reset_totp`,
`user.end_sessions`) in its own transaction; refusals are audited as `denied`, bad input as `failure`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webapp.admin import actions  # noqa: E402,F401  (registers routes on bp)
from webapp.admin import apikeys  # noqa: E402,F401  (接口密钥, issue 17)
from webapp.admin import views  # noqa: E402,F401
from webapp.admin import webhooks  # noqa: E402,F401  (事件订阅, issue 17)
