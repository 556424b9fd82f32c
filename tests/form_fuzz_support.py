"""Helpers for the POST fuzz (tests/test_hardening_forms.py): the forms pages render, and signed-in callers.

`FormReader` reads the fields of every `<form method="post">` of a page, keyed by the path it posts to, with the
values a person would send unchanged (checked boxes, the selected option, the first submit button). `Caller` is a
client signed in as a user of one role that signs in again (with its second factor) when a request ended its session,
and keeps the CSRF token of its current session.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.test import TestResponse

from processes.accounts import totp
from processes.accounts import users as accounts
from processes.clock import FrozenClock
from tests.admin_support import enrol_totp
from tests.web_support import add_user
from tests.web_support import change_user
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from tests.web_support import token


@dataclass
class Form:
    """One post form of a page: every field name, the values sent unchanged, and the file inputs."""

    names: set[str] = field(default_factory=set)
    values: dict[str, str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)


class FormReader(HTMLParser):
    """Collect the post forms of pages by the path they post to (inputs outside a form name it with form=…)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, Form] = {}
        self.links: dict[tuple[str, frozenset[str]], str] = {}  # the first link of each path and query names
        self._by_id: dict[str, str] = {}
        self._current: str | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def read(self, page: str, html: str) -> None:
        """Read one page's forms (an empty action posts to the page itself)."""
        self._page = page
        self.feed(html)
        self.close()
        self._current = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a form, or add a field to the open (or named) form."""
        attr = {k: v or "" for k, v in attrs}
        if tag == "a" and attr.get("href", "").startswith("/") and "?" in attr["href"]:
            self._link(attr["href"])
        if tag == "form":
            if attr.get("method", "get").lower() == "post":
                action = urlsplit(attr.get("action") or self._page).path
                self._current = action
                self.forms.setdefault(action, Form())
                if attr.get("id"):
                    self._by_id[attr["id"]] = action
            return
        owner = self._by_id.get(attr.get("form", ""), self._current)
        if owner is None or tag not in ("input", "select", "textarea", "button", "option"):
            return
        self._field(self.forms[owner], tag, attr)

    def _link(self, href: str) -> None:
        """Keep a link with a query (?edit=1, ?from=1&to=2): pages open some forms only there."""
        parts = urlsplit(href)
        names = frozenset(pair.split("=")[0] for pair in parts.query.split("&"))
        self.links.setdefault((parts.path, names), href)

    def _field(self, form: Form, tag: str, attr: dict[str, str]) -> None:
        """Record one field and the value it would send."""
        name, kind = attr.get("name", ""), attr.get("type", "submit" if tag == "button" else "text").lower()
        if tag == "option":
            if self._select and (self._select not in form.values or "selected" in attr):
                form.values[self._select] = attr.get("value", "")
            return
        if not name or name == "csrf_token":
            return
        form.names.add(name)
        if tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            form.values.setdefault(name, "")
        elif kind == "file":
            form.files.add(name)
        elif kind in ("checkbox", "radio"):
            if "checked" in attr:
                form.values.setdefault(name, attr.get("value", "on"))
        elif kind == "submit":
            form.values.setdefault(name, attr.get("value", ""))
        else:
            form.values.setdefault(name, attr.get("value", ""))

    def handle_data(self, data: str) -> None:
        """Keep a textarea's text."""
        if self._textarea and self._current:
            self.forms[self._current].values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        """Close a form, a select or a textarea."""
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


class Caller:
    """A client signed in as one fuzz user, signed in again whenever a request ended its session."""

    def __init__(self, app: Flask, clock: FrozenClock, username: str, role: str, department: str | None) -> None:
        add_user(app, username, role, department=department, real_name=f"{username}姓名")
        self.app, self.clock, self.username = app, clock, username
        needs_code = role in app.config["TOTP_REQUIRED_ROLES"]
        self.secret = enrol_totp(app, username) if needs_code else None
        self.client = app.test_client()
        self.relogins = 0
        self.sign_in()

    def sign_in(self) -> None:
        """Sign in on a fresh client (unlocked and enabled first: the fuzz may have locked the account)."""

        def reopen(db: Any, user: Any) -> None:
            accounts.unlock_user(db, user)
            accounts.enable_user(db, user)

        change_user(self.app, self.username, reopen)
        self.client = self.app.test_client()
        response = login(self.client, self.username)
        if self.secret is not None and location(response) == "/auth/totp":
            self.clock.advance(seconds=30)  # a new code: each one is taken once
            response = post(self.client, "/auth/totp", {"code": totp.code_at(self.secret, self.clock())})
        assert location(response) == "/", (self.username, response.status_code, location(response))
        self.token = token(self.client)

    def post(self, path: str, data: dict[str, Any], **kwargs: Any) -> TestResponse:
        """POST with the session's CSRF token; sign in again and repeat once when the session had ended."""
        response = self.client.post(path, data={"csrf_token": self.token, **data}, **kwargs)
        if signed_out(response):
            self.relogins += 1
            self.sign_in()
            response = self.client.post(path, data={"csrf_token": self.token, **data}, **kwargs)
        return response


    def post_json(self, path: str, body: Any) -> TestResponse:
        """POST a JSON body as the modeler's fetch calls do (the CSRF token in a header)."""
        response = self.client.post(path, json=body, headers={"X-CSRFToken": self.token})
        if signed_out(response):
            self.relogins += 1
            self.sign_in()
            response = self.client.post(path, json=body, headers={"X-CSRFToken": self.token})
        return response


def signed_out(response: TestResponse) -> bool:
    """Return whether a response sends the caller to sign in (its session ended)."""
    return response.status_code == 401 or location(response) == "/auth/login"
