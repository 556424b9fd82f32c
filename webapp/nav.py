"""The main navigation (主导航): one list of entries, each shown only to users the permission table lets in.

Add an entry for a page when you write its blueprint (an entry whose endpoint the app does not have yet is
skipped, so the list may run ahead of the code). Labels are Chinese source texts marked with `N_` and translated
when the bar is rendered; entries with the same `group` are shown together under that group's label.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask import current_app
from flask import has_request_context
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from webapp.messages import N_
from webapp.permissions import RULES
from webapp.permissions import allowed


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation: the endpoint it opens, its Chinese label and an optional group."""

    endpoint: str
    label: str
    group: str | None = None


@dataclass(frozen=True)
class NavLink:
    """An entry as one user sees it: address, translated label and group, and whether it is the open page."""

    url: str
    label: str
    group: str | None
    active: bool


NAV: list[NavItem] = [
    NavItem("home.index", N_("首页")),
    NavItem("worklist.index", N_("待办")),
    NavItem("intake.index", N_("登记")),
    NavItem("platform.index", N_("工单导入")),
    NavItem("search.index", N_("工单查询")),
    NavItem("monitor.index", N_("督办台"), N_("督办")),
    NavItem("monitor.instances", N_("流程实例"), N_("督办")),
    NavItem("monitor.incidents", N_("故障"), N_("督办")),
    NavItem("monitor.outbox", N_("消息"), N_("督办")),
    NavItem("monitor.people", N_("人员交接"), N_("督办")),
    NavItem("dashboard.index", N_("数据看板")),
    NavItem("reports.index", N_("报表")),
    NavItem("modeler.index", N_("流程设计")),
    NavItem("reference.index", N_("基础数据")),
    NavItem("admin.users", N_("用户管理")),
    NavItem("admin.api_keys", N_("接口密钥")),
    NavItem("admin.webhooks_index", N_("事件订阅")),
    NavItem("auditlog.index", N_("审计日志")),
]


def reachable(items: list[NavItem]) -> list[NavItem]:
    """Return the entries the app has and the current user may open, in order."""
    signed_in = bool(current_user.is_authenticated)
    roles: frozenset[str] = current_user.roles if signed_in else frozenset()
    return [item for item in items if item.endpoint in current_app.view_functions
            and allowed(RULES.get(item.endpoint), signed_in=signed_in, roles=roles)]


def links(items: list[NavItem]) -> list[NavLink]:
    """Return the reachable entries as links; the open page's entry (or its blueprint's first) is active."""
    shown = reachable(items)
    endpoint, blueprint = request.endpoint or "", request.blueprint or ""
    current = next((i for i in shown if i.endpoint == endpoint), None)
    if current is None:
        current = next((i for i in shown if blueprint and i.endpoint.startswith(blueprint + ".")), None)
    return [NavLink(url_for(i.endpoint), gettext(i.label), gettext(i.group) if i.group else None, i is current)
            for i in shown]


def grouped(nav: list[NavLink]) -> list[tuple[str | None, list[NavLink]]]:
    """Return the links in groups, each where its first link stands; an ungrouped link is a group of its own."""
    groups: list[tuple[str | None, list[NavLink]]] = []
    by_name: dict[str, list[NavLink]] = {}
    for link in nav:
        if link.group is None:
            groups.append((None, [link]))
        elif link.group in by_name:
            by_name[link.group].append(link)
        else:
            by_name[link.group] = [link]
            groups.append((link.group, by_name[link.group]))
    return groups


def may_open(endpoint: str) -> bool:
    """Whether the current user may open a page, so a page links only where its reader may go (no 403 links)."""
    return bool(reachable([NavItem(endpoint, "")]))


def nav_context() -> dict[str, object]:
    """Give templates `nav_groups` (what the user's main navigation shows) and `may_open(endpoint)`."""
    if not has_request_context():
        return {"nav_groups": [], "may_open": lambda endpoint: False}
    return {"nav_groups": grouped(links(NAV)), "may_open": may_open}


def init_app(app: Flask) -> None:
    """Offer the navigation to every template."""
    app.context_processor(nav_context)
