"""Helpers for the administration and audit log tests: administrators signed in with their second factor."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from processes.accounts import totp
from processes.accounts import users as accounts
from processes.clock import FrozenClock
from tests.web_support import add_user
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from webapp import runtime_of


def enrol_totp(app: Flask, username: str) -> str:
    """Give a user a confirmed second factor directly in the database; return its secret."""
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        user = accounts.get_user(db, username)
        secret = totp.begin_enrolment(user)
        user.totp_confirmed_at = rt.clock()
    return secret


def sign_in(app: Flask, clock: FrozenClock, username: str, *roles: str, department: str | None = None) -> FlaskClient:
    """Create a user with these roles and return a client signed in as them (with a TOTP code when enrolled).

    Administrators (三员) must use the second factor, so they are enrolled first; the clock moves on 30 s after
    each code so the next login's code is a new one.
    """
    add_user(app, username, *roles, department=department, real_name=f"{username}姓名")
    client = app.test_client()
    needs_code = bool(set(roles) & set(app.config["TOTP_REQUIRED_ROLES"]))
    secret = enrol_totp(app, username) if needs_code else None
    response = login(client, username)
    if secret is not None:
        assert location(response) == "/auth/totp", response.get_data(as_text=True)[:300]
        response = post(client, "/auth/totp", {"code": totp.code_at(secret, clock())})
        clock.advance(seconds=30)
    assert location(response) == "/", response.get_data(as_text=True)[:300]
    return client


def user_id(app: Flask, username: str) -> str:
    """Return a user's id."""
    with runtime_of(app).read() as db:
        return accounts.get_user(db, username).id
