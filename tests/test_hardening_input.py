"""Odd input never answers 500 (issue 16, finding 3): Unicode digits, huge numbers, NUL, over-long values.

`?page=²` (isdigit() true, int() fails) on search and the worklist, `/audit/99999999999999999999` (beyond a 64-bit
integer) and a reveal with a phone number in its path were 500s with Werkzeug's English page. Every id and number
is now read by webapp/params.py (400 or 404); an unexpected failure shows the office's Chinese page with a request
id that the log line of the exception carries too. The fuzz sends every GET route odd path and query values as every
role and asserts no 500.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import quote
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from processes.accounts.roles import ROLE_CODES
from tests.admin_support import sign_in
from tests.web_support import audit_rows
from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text
from webapp.params import BigIntConverter
from webapp.params import page_number
from webapp.params import positive_int
from webapp.params import whole_number
from webapp.permissions import RULES
from webapp.permissions import allowed

ROOT = Path(__file__).resolve().parent.parent
ODD = ["²", "٣", "99999999999999999999", "-1", "\x00", "x" * 10_000, "1e3", "139 1234 5678"]
SKIP = ("/auth/logout", "/static/", "/lang", "/auth/sessions/end-all")
# Query and form names the views read (request.args.get("…"), args["…"], values.get("…"), form["…"],
# form.getlist("…"), files.get("…")), by blueprint package, plus those every list reads, so each route is asked for
# the parameters it knows (tests/test_hardening_forms.py POSTs the form names).
_READS = re.compile(r'(?:args|values|form|files)\.get(?:list)?\(\s*"([A-Za-z_]+)"'
                    r'|(?:args|form)\[\s*"([A-Za-z_]+)"\s*\]')
COMMON = {"page", "id", "before", "after", "a", "b", "year", "month", "day", "version", "limit", "offset", "text",
          "number", "tab", "sort", "status", "from", "to", "date_from", "date_to", "unit", "key", "days"}
DEPARTMENTS = {"handler": "sthj", "township_reporter": "luxi"}


def query_names() -> dict[str, set[str]]:
    """Return, per webapp package, the query and form names its modules read, with the common ones."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "webapp").rglob("*.py"):
        package = path.relative_to(ROOT / "webapp").parts[0].removesuffix(".py")
        names = {a or b for a, b in _READS.findall(path.read_text(encoding="utf-8"))}
        found.setdefault(package, set(COMMON)).update(names)
    return found


def odd_path(rule: Rule, value: str) -> str:
    """Return the rule's path with every argument set to the odd value."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda _m: quote(value, safe=""), rule.rule)


def get_routes(app: Flask) -> list[Rule]:
    """Every GET route a person could call (the open interfaces have a test of their own)."""
    return [r for r in app.url_map.iter_rules() if "GET" in (r.methods or set())
            and not r.rule.startswith(SKIP) and not str(RULES.get(r.endpoint, "")).startswith("api:")]


def package_of(app: Flask, rule: Rule) -> str:
    """Return the webapp package of a route's view (search, worklist …)."""
    return app.view_functions[rule.endpoint].__module__.split(".")[1]


@pytest.mark.parametrize("text", ["²", "٣", "\uff11", "-1", "+1", " 1", "1 ", "1.0", "0x1", "", "99999999999999999999",
                                  "9223372036854775808", "\x00", "1\x00"])
def test_odd_numbers_are_refused_in_one_place(text: str) -> None:
    assert whole_number(text) is None and positive_int(text) is None


def test_plain_numbers_are_read_within_their_range() -> None:
    assert whole_number("0") == 0 and positive_int("0") is None and positive_int("42") == 42
    assert whole_number("9223372036854775807") == 2**63 - 1 and whole_number("2026", low=2000, high=2100) == 2026
    assert whole_number("1999", low=2000, high=2100) is None and positive_int("10001", 10_000) is None
    converter = BigIntConverter.__new__(BigIntConverter)
    assert converter.to_python("17") == 17 and converter.to_url(17) == "17"


def test_a_page_number_is_one_by_default_and_400_when_odd(ws_lite: Workspace) -> None:
    with ws_lite.app.test_request_context():
        assert page_number(None) == 1 and page_number("3") == 3
        with pytest.raises(Exception, match="400"):
            page_number("²")


@pytest.mark.parametrize("path", ["/search?page=²", "/search?text=x&page=²", "/worklist?page=²",
                                  "/worklist?page=٣", "/worklist/rows?page=²", "/search?page=99999999999999999999",
                                  "/dashboard/cases?page=²", "/monitor/people?page=²"])
def test_unicode_digits_in_a_page_number_answer_400_in_chinese(ws: Workspace, path: str) -> None:
    client = sign_in(ws.app, ws.office.clock, "sup.odd", "supervisor")
    response = client.get(path)
    assert response.status_code in (200, 400, 404), (path, response.status_code)
    assert response.status_code != 500 and "Internal Server Error" not in text(response)


@pytest.mark.parametrize("path", ["/audit/99999999999999999999", "/audit/9223372036854775808", "/audit/٣",
                                  "/audit/-1", "/audit/0"])
def test_an_audit_row_beyond_a_bigint_is_404_not_an_overflow(ws: Workspace, path: str) -> None:
    auditor = sign_in(ws.app, ws.office.clock, "aud.odd", "auditor")
    response = auditor.get(path)
    assert response.status_code == 404 and "页面不存在" in text(response)


def test_a_reveal_with_a_number_in_its_path_is_refused_and_audited_masked(ws: Workspace) -> None:
    supervisor = sign_in(ws.app, ws.office.clock, "sup.rev", "supervisor")
    for case_id in ("13912345678", "139%201234%205678", "33030219900101123X"):
        response = post_form(supervisor, f"/cases/{case_id}/reveal", {"reason": "督办需联系诉求人核实"})
        assert response.status_code == 404, case_id
    rows = audit_rows(ws.app, "pii.reveal")
    assert [r["result"] for r in rows] == ["denied"] * 3
    assert [r["object_id"] for r in rows] == ["139****5678", "139****5678", "330***********123X"]


def test_an_unexpected_failure_shows_the_office_page_with_a_request_id_that_the_log_carries(
        ws_lite: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    app = ws_lite.app

    def broken() -> str:
        raise RuntimeError("boom for 13912345678")

    app.add_url_rule("/broken-for-test", "home.broken_for_test", broken)
    RULES["home.broken_for_test"] = "public"
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: TESTING would raise it into the test
    try:
        with caplog.at_level(logging.ERROR):
            response = app.test_client().get("/broken-for-test?text=139%201234%205678")
    finally:
        del RULES["home.broken_for_test"]
    body = text(response)
    assert response.status_code == 500 and "系统出错了" in body and "Internal Server Error" not in body
    request_id = re.search(r"<code>([0-9a-f]{32})</code>", body)
    assert request_id, body
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert f"request_id={request_id[1]}" in logged and "RuntimeError" in logged
    assert "13912345678" not in logged and "139****5678" in logged
    english = app.test_client()
    english.set_cookie("hotline_lang", "en")
    assert "Something went wrong" in text(english.get("/broken-for-test"))


def test_request_lines_in_the_access_log_have_numbers_masked(ws_lite: Workspace,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    assert ws_lite.app  # the app installed the scrubber on the server loggers
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('%s - - "%s" %s -', "127.0.0.1",
                                           "GET /search?text=139%201234%205678&page=1 HTTP/1.1", 400)
        logging.getLogger("gunicorn.access").info("GET /search?text=%s", "+8613912345678")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "139****5678" in logged and "1234" not in logged.replace("139****5678", "")


def allowed_client(ws: Workspace, role: str, clients: dict[str, FlaskClient]) -> FlaskClient:
    """Return (and remember) a client signed in with one role."""
    if role not in clients:
        clients[role] = sign_in(ws.app, ws.office.clock, f"fz.{role}", role, department=DEPARTMENTS.get(role))
    return clients[role]


def fuzz(ws: Workspace, values_alone: tuple[str, ...], *, every_role: bool) -> tuple[int, list[str]]:
    """GET every route with odd values; return how many requests were sent and which answered 5xx.

    With `every_role`, each role (and anonymous) calls each route once, path arguments and every query name the
    route's package reads set to one odd value, rotating so each route gets every value. Then one role that reaches
    the view sends each of `values_alone` as the path arguments, or as each of those names alone.
    """
    app, names = ws.app, query_names()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # count every 500 instead of stopping at the first
    clients: dict[str, FlaskClient] = {"anonymous": app.test_client()}
    roles = ["anonymous", *sorted(ROLE_CODES)]
    failures: list[str] = []
    asked = 0

    def ask(client: FlaskClient, who: str, url: str) -> None:
        nonlocal asked
        asked += 1
        status = client.get(url).status_code
        if status >= 500:
            failures.append(f"{who} GET {url[:160]} -> {status}")

    for index, rule in enumerate(get_routes(app)):
        own = sorted(names.get(package_of(app, rule), set()) | {"page"})
        reaching = [r for r in roles[1:] if allowed(RULES[rule.endpoint], signed_in=True, roles={r})]
        for turn, role in enumerate(roles if every_role else []):
            value = ODD[(index + turn) % len(ODD)]
            client = clients.get(role) or allowed_client(ws, role, clients)
            ask(client, role, odd_path(rule, value) + "?" + urlencode(dict.fromkeys(own, value)))
        if reaching:
            client = allowed_client(ws, reaching[0], clients)
            for value in values_alone if rule.arguments else ():
                ask(client, reaching[0], odd_path(rule, value))
            for name in own if not rule.arguments else ():
                for value in values_alone:
                    ask(client, reaching[0], rule.rule + "?" + urlencode({name: value}))
    return asked, failures


def test_no_get_route_answers_500_to_odd_path_or_query_values_as_any_role(ws_lite: Workspace) -> None:
    ws_lite.dispatched("sthj")
    asked, failures = fuzz(ws_lite, ("²", "99999999999999999999"), every_role=True)
    assert failures == [], "\n".join(failures[:40])
    assert asked > 1_500  # the fuzz really went through the routes


def test_nul_and_over_long_query_values_never_reach_the_database_as_a_500(ws: Workspace) -> None:
    """PostgreSQL refuses NUL in text where SQLite takes it: every query name alone, on both."""
    ws.dispatched("sthj")
    asked, failures = fuzz(ws, ("\x00", "x" * 10_000), every_role=False)
    assert failures == [], "\n".join(failures[:40])
    assert asked > 200
