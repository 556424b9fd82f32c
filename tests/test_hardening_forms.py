"""Odd POSTed values never answer 500 (issue 16, finding 3): every form of every POST route, as a role reaching it.

tests/test_hardening_input.py fuzzes the GET routes; this fuzz POSTs to every route of the web app (the open
interfaces under /api have schemathesis tests of their own) as a signed-in user of a role that reaches it, with a
real CSRF token. It sends the names the route's package reads (query_names) and the fields of the form the route's
pages render, with real object ids in the address (a dispatched case, its task, an API key, a webhook …): every name
at once set to each odd value, each page field alone set to odd values beside the page's own values, odd values in
the address, a NUL as the second value of every name, odd file names on the upload inputs, and odd values in every
key of the JSON bodies the modeler's fetch calls post. Routes that end the session (logout, end every session) each
get a freshly signed-in client per request; public ones an anonymous client.

Found and fixed on the way: a migration version `٣` or 20 digits, an empty calendar day, a NUL as a second value or
in a file name, a NUL or deep nesting in a JSON body (API too) were 500s.
"""

from __future__ import annotations

import io
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from processes.exchange import webhooks
from processes.exchange.models import PlatformImport
from processes.integration import keys
from processes.reference.models import DispatchRule
from processes.reference.models import SlaRule
from processes.runtime.models import HumanTask
from processes.runtime.models import OutboxMessage
from processes.runtime.models import ProcessDefinition
from tests.api_support import bearer
from tests.api_support import make_key
from tests.form_fuzz_support import Caller
from tests.form_fuzz_support import Form
from tests.form_fuzz_support import FormReader
from tests.form_fuzz_support import signed_out
from tests.test_hardening_input import _READS
from tests.test_hardening_input import ROOT
from tests.test_hardening_input import odd_path
from tests.test_hardening_input import package_of
from tests.test_hardening_input import query_names
from tests.test_platform_import import csv_bytes
from tests.test_platform_import import order
from tests.web_support import add_user
from tests.web_support import login
from tests.web_support import token
from tests.workspace_support import Workspace
from tests.workspace_support import text
from webapp import runtime_of
from webapp.permissions import RULES
from webapp.permissions import allowed

ODD = ["²", "٣", "99999999999999999999", "-1", "\x00", "x" * 10_000, "139 1234 5678", "", "1e3", "<script>",
       "../../etc/passwd"]
FILE_NAMES = ["a\x00b.csv", "x" * 300 + ".csv", "x" * 300 + ".png", "../x.bpmn", "../../etc/passwd", "工单导入.csv",
              "现场照片.png", "流程.bpmn", ""]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
DELETES = ("_delete", "_revoke", "terminate")  # a later route would find its object gone
ENDS_SESSION = ("/auth/logout", "/auth/sessions/end-all")
# The role a route is fuzzed as: the first that reaches it; the handler's unit is the one the dispatched case went to.
PREFERRED = ["handler", "supervisor", "operator", "transcriber", "township_reporter", "dispatcher", "analyst",
             "duty_leader", "leader", "sysadmin", "secadmin", "auditor", "inspector", "callback"]
DEPARTMENTS = {"handler": "sthj", "township_reporter": "luxi"}
_JSON_READS = re.compile(r'data\.get\(\s*"([A-Za-z_]+)"')  # the keys a view reads from its JSON body
_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def post_routes(app: Flask) -> list[Rule]:
    """Every POST route of the web app but the open interfaces, in address order; those deleting their object last."""
    return sorted((r for r in app.url_map.iter_rules() if "POST" in (r.methods or set())
                   and not str(RULES.get(r.endpoint, "")).startswith("api:")),
                  key=lambda r: (r.endpoint.endswith(DELETES), r.rule))


def real_arguments(ws: Workspace) -> dict[str, str]:
    """Real ids for the address arguments: a dispatched case and its task, another case for the monitor, a user …"""
    app, rt, now = ws.app, runtime_of(ws.app), ws.office.clock()
    case, other = ws.dispatched("sthj"), ws.dispatched("sthj")
    victim = add_user(app, "fz.victim", "operator", real_name="受试账号")
    with rt.write() as db, db.begin():
        key = keys.create(db, "fuzz-key", ["cases:read"], department=None, actor="test", now=now).row.id
        hook = webhooks.subscribe(db, webhooks.NewSubscription("fuzz", "https://oa.example.gov.cn/h", "s" * 40,
                                                               ("started",)), actor="test", now=now).id
    with rt.read() as db:
        task = db.scalar(sa.select(HumanTask.id).where(HumanTask.case_id == case.case_id, HumanTask.status == "open"))
        version = db.scalar(sa.select(sa.func.max(ProcessDefinition.version)).where(
            ProcessDefinition.key == "case_phone"))
        message = db.scalar(sa.select(sa.func.min(OutboxMessage.id)))
        rule, line = db.scalar(sa.select(sa.func.min(SlaRule.id))), db.scalar(sa.select(sa.func.min(DispatchRule.id)))
    assert task and version and rule and line, (task, version, rule, line)
    return {"case_id": str(case.case_id), "task_id": task, "instance_id": other.instance_id, "user_id": victim,
            "username": "fz.victim", "key": "case_phone", "version": str(version), "key_id": key,
            "subscription_id": hook, "message_id": str(message or 1), "rule_id": str(rule), "line_id": str(line),
            "day": "2026-11-26", "name": "emergency_mode"}


def real_path(rule: Rule, real: dict[str, str]) -> str | None:
    """Return the rule's path with real ids, or None when an argument has none."""
    names = _ARG.findall(rule.rule)
    if any(n not in real for n in names):
        return None
    return _ARG.sub(lambda m: real[m[1]], rule.rule)


def fuzz_role(rule: Rule) -> str | None:
    """Return the role a route is fuzzed as (the first of PREFERRED that reaches it)."""
    return next((r for r in PREFERRED if allowed(RULES.get(rule.endpoint), signed_in=True, roles=frozenset({r}))),
                None)


def page_forms(app: Flask, caller: Caller, role: str, real: dict[str, str]) -> FormReader:
    """Read the post forms of every page the role may open with real ids in its address."""
    reader = FormReader()
    for rule in app.url_map.iter_rules():
        path = real_path(rule, real)
        if path is None or "GET" not in (rule.methods or set()) or rule.rule.startswith(("/static", "/api")) \
                or not allowed(RULES.get(rule.endpoint), signed_in=True, roles=frozenset({role})):
            continue
        read_page(caller, reader, path)
    areas = tuple({"/" + r.rule.split("/")[1] + "/" for r in post_routes(app)})
    for (path, _names), href in list(reader.links.items()):  # forms opened by a link: ?edit=1, ?edit=new …
        if path.startswith(areas) and not path.startswith(("/search", "/api", "/static")):
            read_page(caller, reader, href)
    return reader


def read_page(caller: Caller, reader: FormReader, path: str) -> None:
    """Read the post forms of one page, when it is a page."""
    response = caller.client.get(path)
    if response.status_code == 200 and response.mimetype == "text/html":
        reader.read(urlsplit(path).path, text(response))


class Fuzz:
    """Counts of the requests sent, those that reached a view, and the 5xx answers."""

    def __init__(self) -> None:
        self.sent = 0
        self.reached: Counter[str] = Counter()
        self.failures: list[str] = []

    def check(self, rule: Rule, response: TestResponse, what: str) -> None:
        """Count one answer; a 5xx is a failure, a CSRF refusal or a sign-in page did not reach the view."""
        self.sent += 1
        if response.status_code >= 500:
            self.failures.append(f"POST {rule.rule} {what[:160]!r} -> {response.status_code}")
        elif not signed_out(response) and "CSRF" not in text(response):
            self.reached[rule.rule] += 1


def fuzz_route(fuzz: Fuzz, rule: Rule, send: Callable[[str, dict[str, Any]], TestResponse], path: str,
               names: set[str], form: Form | None, values: list[str], read: set[str]) -> None:
    """Send one route its odd requests: all names at once, page fields alone, odd ids, NUL seconds, file names."""
    base: dict[str, Any] = dict(form.values) if form else {}
    for value in values:
        fuzz.check(rule, send(path, {**base, **dict.fromkeys(names, value)}), f"all={value}")
        if rule.arguments:
            fuzz.check(rule, send(odd_path(rule, value), dict(base)), f"path={value}")
    alone = [v for v in values if v != "\x00"]  # NUL is refused before any view: alone it reaches nothing
    # Each field alone beside the page's values; without a page form, each name the view's own module reads.
    for name in sorted(form.names if form else read):
        for value in alone[:6] if form else alone[:3]:
            fuzz.check(rule, send(path, {**base, name: value}), f"{name}={value}")
    fuzz.check(rule, send(path, {**base, **{n: ["1", "\x00"] for n in names}}), "second value NUL")
    for name in sorted(form.files if form else ()):
        for file_name in FILE_NAMES:
            upload = (io.BytesIO(content_for(file_name)), file_name)
            fuzz.check(rule, send(path, {**base, name: upload}), f"{name} file {file_name}")


def module_source(app: Flask, rule: Rule) -> str:
    """Return the source of the module of a route's view."""
    module = sys.modules[app.view_functions[rule.endpoint].__module__]
    return Path(module.__file__ or "").read_text(encoding="utf-8")


def module_names(app: Flask, rule: Rule) -> set[str]:
    """Return the form and query names the module of a route's view reads."""
    return {a or b for a, b in _READS.findall(module_source(app, rule))}


def fuzz_json(fuzz: Fuzz, rule: Rule, caller: Caller, path: str, names: set[str], values: list[str]) -> None:
    """POST a route that reads a JSON body (the modeler's fetch calls) odd values in every key, alone and at once."""
    for value in values:
        fuzz.check(rule, caller.post_json(path, dict.fromkeys(names, value)), f"json all={value}")
        fuzz.check(rule, caller.post_json(path, {value: value, "forms": {value: value}}), f"json key={value}")
        for name in sorted(names):
            fuzz.check(rule, caller.post_json(path, {name: value}), f"json {name}={value}")
        for kind in ("condition", "duration", "date", "cycle") if "kind" in names else ():  # the expression check
            fuzz.check(rule, caller.post_json(path, {"kind": kind, "expression": value}), f"json {kind}={value}")
    fuzz.check(rule, caller.post_json(path, [[["deep"] * 3] * 3] * 3), "json list")


def content_for(file_name: str) -> bytes:
    """Return a file the upload accepts by its name's ending, so the odd name itself goes on to be stored."""
    if file_name.endswith(".csv"):
        return csv_bytes([order("MH-FUZZ-1")])
    if file_name.endswith(".png"):
        return PNG
    return (ROOT / "bpmn" / "case_township" / "case_township.bpmn").read_bytes()


def run_fuzz(ws: Workspace, values: list[str]) -> Fuzz:
    """POST every route the odd values as a role reaching it; return the counts."""
    app, fuzz = ws.app, Fuzz()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # count every 500 instead of stopping at the first
    real, names = real_arguments(ws), query_names()
    callers: dict[str, Caller] = {}
    forms: dict[str, FormReader] = {}
    for rule in post_routes(app):
        role = fuzz_role(rule) or "operator"
        if role not in callers:
            callers[role] = Caller(app, ws.office.clock, f"fz.{role}", role, DEPARTMENTS.get(role))
            forms[role] = page_forms(app, callers[role], role, real)
        path = real_path(rule, real) or odd_path(rule, "1")
        form = forms[role].forms.get(path)
        own = {*names.get(package_of(app, rule), set()), *(form.names if form else ())}
        fuzz_route(fuzz, rule, sender(app, rule, callers[role]), path, own, form, values, module_names(app, rule))
        if "get_json(" in module_source(app, rule):
            json_names = set(_JSON_READS.findall(module_source(app, rule)))
            fuzz_json(fuzz, rule, callers[role], path, json_names, values)
    return fuzz


def sender(app: Flask, rule: Rule, caller: Caller) -> Callable[[str, dict[str, Any]], TestResponse]:
    """Return how a route's requests are sent: signed in afresh, anonymously (public), or by the role's caller."""
    if rule.rule.startswith(ENDS_SESSION):
        return session_ending(app, f"fz.{rule.endpoint.split('.')[1]}")
    return anonymous(app) if RULES.get(rule.endpoint) == "public" else caller.post


def session_ending(app: Flask, username: str) -> Callable[[str, dict[str, Any]], TestResponse]:
    """Send each request on a client freshly signed in (the request may end its session)."""
    add_user(app, username, "operator")

    def send(path: str, data: dict[str, Any]) -> TestResponse:
        client = app.test_client()
        assert login(client, username).status_code == 302
        return client.post(path, data={"csrf_token": token(client), **data})

    return send


def anonymous(app: Flask) -> Callable[[str, dict[str, Any]], TestResponse]:
    """Send each request on a new anonymous client with the token of the sign-in page."""

    def send(path: str, data: dict[str, Any]) -> TestResponse:
        client = app.test_client()
        return client.post(path, data={"csrf_token": token(client, "/auth/login"), **data})

    return send


def assert_clean(ws: Workspace, fuzz: Fuzz, floor: int) -> None:
    """No 5xx, every route reached, and enough requests sent that the fuzz cannot pass by sending nothing."""
    assert fuzz.failures == [], "\n".join(fuzz.failures[:40])
    missed = [r.rule for r in post_routes(ws.app) if fuzz.reached[r.rule] == 0]
    assert missed == [], missed
    assert fuzz.sent > floor, fuzz.sent


def test_no_post_route_answers_500_to_odd_form_values(ws_lite: Workspace) -> None:
    fuzz = run_fuzz(ws_lite, ODD)
    assert_clean(ws_lite, fuzz, 2_000)
    with ws_lite.office.rt.read() as db:  # the uploads went past the checks: odd names were stored, cut to fit
        names = set(db.scalars(sa.select(PlatformImport.file_name)))
    assert {"工单导入.csv", "x" * 200} <= names, names


def test_nul_and_over_long_form_values_never_reach_the_database_as_a_500(ws_pg: Workspace) -> None:
    """PostgreSQL refuses NUL in text where SQLite takes it, and a value longer than its column."""
    # PostgreSQL only: on SQLite the full fuzz above sends these values and more
    fuzz = run_fuzz(ws_pg, ["\x00", "x" * 10_000, "x" * 300, "99999999999999999999"])
    assert_clean(ws_pg, fuzz, 800)


@pytest.mark.parametrize("value", ["\x00", "a\x00"])
def test_a_nul_anywhere_in_a_form_is_refused_in_chinese(ws_lite: Workspace, value: str) -> None:
    operator = Caller(ws_lite.app, ws_lite.office.clock, "fz.nul", "operator", None)
    response = operator.post("/search", {"text": ["噪音", value]})
    assert response.status_code == 400 and "请求中含有无效字符" in text(response)


@pytest.mark.parametrize("version", ["٣", "99999999999999999999", "-1", "1e3"])
def test_a_migration_version_in_other_digits_or_beyond_the_database_answers_400(ws_lite: Workspace,
                                                                                version: str) -> None:
    supervisor = Caller(ws_lite.app, ws_lite.office.clock, "fz.mig", "supervisor", None)
    posted = supervisor.post("/modeler/case_phone/migrate", {"from": version, "to": "1", "reason": "迁移",
                                                             "instance": "abc"})
    asked = supervisor.client.get(f"/modeler/case_phone/migrate?to={quote(version)}")
    for response in (posted, asked):
        assert response.status_code == 400 and "版本号不正确" in text(response), response.status_code


@pytest.mark.parametrize("day", ["", "²", "2026-02-30"])
def test_a_calendar_day_left_empty_or_odd_answers_400(ws_lite: Workspace, day: str) -> None:
    admin = Caller(ws_lite.app, ws_lite.office.clock, "fz.cal", "sysadmin", None)
    response = admin.post("/reference/calendar/day", {"day": day, "kind": "holiday", "version": "x"})
    assert response.status_code == 400 and "日期无效" in text(response)


def test_a_nul_in_an_uploaded_file_name_is_refused_in_chinese(ws_lite: Workspace) -> None:
    transcriber = Caller(ws_lite.app, ws_lite.office.clock, "fz.nulfile", "transcriber", None)
    response = transcriber.post("/platform/imports", {"file": (io.BytesIO(b"a,b\r\n"), "orders\x00.csv")})
    assert response.status_code == 400 and "请求中含有无效字符" in text(response)


@pytest.mark.parametrize(("body", "message"), [
    ('{"kind": "duration", "expression": "\\u0000"}', "请求中含有无效字符"),  # lxml refused it: a 500
    ('{"kind": "condition", "expression": "1", "\\u0000": 1}', "请求中含有无效字符"),
    ("[" * 100_000, "请求内容嵌套过深"),  # json.loads ran out of stack: RecursionError, a 500
    ("[" * 900 + "]" * 900, "请求内容嵌套过深"),
    ("[" * 40 + "]" * 40, "请求内容嵌套过深"),
])
def test_a_page_json_body_with_a_nul_or_nested_too_deep_answers_400(ws_lite: Workspace, body: str,
                                                                    message: str) -> None:
    analyst = Caller(ws_lite.app, ws_lite.office.clock, "fz.json", "analyst", None)
    for path in ("/modeler/check", "/modeler/case_phone/v1/validate", "/modeler/case_phone/v1/save"):
        response = analyst.client.post(path, data=body, headers={"X-CSRFToken": analyst.token,
                                                                 "Content-Type": "application/json"})
        answer = (response.get_json(silent=True) or {}).get("error", "")  # JSON in, JSON out
        assert response.status_code == 400 and message in answer, (path, response.status_code, answer)
    fine = analyst.client.post("/modeler/check", json={"kind": "duration", "expression": "PT1H"},
                               headers={"X-CSRFToken": analyst.token})
    assert fine.status_code == 200 and fine.get_json()["ok"] is True


@pytest.mark.parametrize("path", ["/api/v1/cases", "/api/v1/platform/orders", "/api/v1/police110/incidents"])
def test_an_open_interface_answers_a_body_nested_too_deep_with_a_400_problem(ws_lite: Workspace, path: str) -> None:
    raw = make_key(ws_lite.app, "fz-deep", "cases:write", "platform", "police110")
    response = ws_lite.app.test_client().post(path, data="[" * 100_000, headers={
        **bearer(raw), "Content-Type": "application/json"})  # RecursionError in json.loads was a 500
    assert response.status_code == 400 and "请求内容嵌套过深" in str(response.get_json()), text(response)[:300]
