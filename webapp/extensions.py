"""Flask extensions, created unbound here and bound to the app in `create_app` with `init_app`."""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()  # CSRF on every state-changing request (AC-05)
login_manager = LoginManager()  # the session's user; revocation is checked in webapp.auth.users
