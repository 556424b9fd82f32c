"""Main navigation: each user sees only the entries the permission table lets them open; unknown pages are skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from processes.clock import FrozenClock
from tests.web_support import add_user
from tests.web_support import login
from tests.web_support import web_app
from webapp import nav
from webapp.nav import NavItem
from webapp.nav import NavLink
from webapp.permissions import AUTHENTICATED
from webapp.permissions import RULES


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    yield from web_app(sqlite_url, FrozenClock())


def main_nav(html: str) -> str:
    """Return the main navigation's markup ('' when the page has none)."""
    start = html.find('<nav class="mainnav"')
    return "" if start < 0 else html[start:html.index("</nav>", start)]


def test_entries_follow_the_permission_table(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    app.add_url_rule("/probe/worklist", "probe.worklist", lambda: "worklist")
    app.add_url_rule("/probe/audit", "probe.audit", lambda: "audit")
    monkeypatch.setitem(RULES, "probe.worklist", frozenset({"dispatcher"}))
    monkeypatch.setitem(RULES, "probe.audit", AUTHENTICATED)
    monkeypatch.setattr(nav, "NAV", [NavItem("home.index", "首页"), NavItem("probe.worklist", "派单探针"),
                                     NavItem("later.page", "未来页面"),
                                     NavItem("probe.audit", "审计探针", group="管理")])
    add_user(app, "nav.op", "operator")
    add_user(app, "nav.disp", "dispatcher")
    anonymous, operator, dispatcher = app.test_client(), app.test_client(), app.test_client()
    assert main_nav(anonymous.get("/auth/login").get_data(as_text=True)) == ""
    login(operator, "nav.op")
    login(dispatcher, "nav.disp")
    seen = main_nav(operator.get("/").get_data(as_text=True))
    assert '<a href="/" class="active" aria-current="page">首页</a>' in seen
    assert "派单探针" not in seen and "未来页面" not in seen  # no role for it; no such page yet
    assert '<span class="navgroup-label">管理</span>' in seen and '<a href="/probe/audit">审计探针</a>' in seen
    assert '<a href="/probe/worklist">派单探针</a>' in main_nav(dispatcher.get("/").get_data(as_text=True))


def test_links_are_grouped_where_the_group_first_stands() -> None:
    a, b, c, d = (NavLink(f"/{n}", n, g, active=False) for n, g in
                  (("a", None), ("b", "管理"), ("c", None), ("d", "管理")))
    assert nav.grouped([a, b, c, d]) == [(None, [a]), ("管理", [b, d]), (None, [c])]
