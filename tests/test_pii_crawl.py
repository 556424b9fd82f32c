"""Crawl every page a role can reach and look for personal data and live payloads (S4.3, S5.5, S2, IN-02).

Cases carry full phone and ID numbers in the requester fields and in their free text, and script / template /
SQL payloads in every text field. Signed in as an operator, a unit handler and a township reporter, the crawler
follows every same-site link (GET only, as a person clicking), also asks each page for JSON, searches by phone, and
the captured log output of the whole run is searched too: no full mobile or ID number, no unescaped payload.
"""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from tests.workspace_support import Workspace
from tests.workspace_support import post_form
from tests.workspace_support import text

FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
PAYLOADS = ["<script>alert('x')</script>", "<img src=x onerror=alert(1)>", "{{7*7}}", "'; DROP TABLE hotline_case;--"]
LIVE = [re.compile(p) for p in (r"<script>alert", r"<img src=x onerror")]
SKIP = ("/auth/logout", "/auth/sessions/end-all", "/static/", "/lang")
MAX_PAGES = 120


class Links(HTMLParser):
    """Collect the href of every link on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note a link's target."""
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def crawl(client: FlaskClient, start: str = "/") -> dict[str, str]:
    """Follow every same-site GET link from `start`; return path → body of every page reached."""
    seen: dict[str, str] = {}
    queue = [start, "/worklist?tab=group", "/worklist?tab=unit", "/search"]
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen or any(path.startswith(skip) for skip in SKIP):
            continue
        response = client.get(path)
        assert response.status_code < 500, f"{path}: {response.status_code}"
        body = text(response) if response.mimetype.startswith(("text/", "application/json")) else ""
        seen[path] = body
        parser = Links()
        parser.feed(body)
        for href in parser.hrefs:
            target = urlsplit(urljoin(f"http://localhost{path}", href))
            if target.netloc == "localhost" and target.path.startswith("/"):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return seen


def problems(body: str) -> list[str]:
    """Return the personal numbers and live payloads found in a body."""
    found = [f"phone {m}" for m in FULL_PHONE.findall(body)] + [f"id {m}" for m in FULL_ID.findall(body)]
    return found + [f"payload {p.pattern}" for p in LIVE if p.search(body)]


def seed_cases(ws: Workspace) -> list[str]:
    """Cases in several states with numbers and payloads everywhere; return their ids."""
    noisy = " ".join(PAYLOADS) + " 回电 13912345678 身份证 11010119900307123X"
    first = ws.dispatched("sthj", title=PAYLOADS[0], content=noisy, location=PAYLOADS[1])
    second = ws.case(content=noisy, title="{{7*7}}", requester_name=PAYLOADS[1])
    third = ws.case("case_township", "township", township="luxi", content=noisy)
    confidential = ws.dispatched("sthj", confidential=True, content=noisy)
    ws.office.complete(first, "sign_for", {"sign_decision": "sign"}, department="sthj")
    return [c.case_id for c in (first, second, third, confidential)]


def test_no_role_without_a_contact_task_ever_receives_a_full_number_or_a_live_payload(
        ws_lite: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ids = seed_cases(ws_lite)
    visitors = {"operator": ws_lite.user("crawl.op", "operator"),
                "dispatcher": ws_lite.user("crawl.disp", "dispatcher"),
                "supervisor": ws_lite.user("crawl.sup", "supervisor"),
                "unit": ws_lite.user("crawl.zjj", "handler", department="zjj"),
                "township": ws_lite.user("crawl.luxi", "township_reporter", department="luxi")}
    reached: dict[str, int] = {}
    for role, client in visitors.items():
        pages = crawl(client)
        for case_id in ids:  # also straight to each case, the way a pasted link would go
            pages[f"/cases/{case_id}"] = text(client.get(f"/cases/{case_id}"))
            pages[f"/cases/{case_id} json"] = text(client.get(f"/cases/{case_id}",
                                                              headers={"Accept": "application/json"}))
        found = {path: problems(body) for path, body in pages.items() if problems(body)}
        assert found == {}, f"{role}: {found}"
        reached[role] = sum(1 for body in pages.values() if body)
        searched = post_form(client, "/search", {"phone": "13812345678"}, page="/search")
        assert searched.status_code < 500 and problems(text(searched)) == []
        shown = [body for path, body in pages.items() if path.startswith("/cases/")]
        if role == "unit":  # zjj has no task on any of these cases: none of them exists for it
            assert all(client.get(f"/cases/{case_id}").status_code == 404 for case_id in ids)
        else:
            assert any("{{7*7}}" in body for body in shown), role  # shown as typed, never evaluated
    assert reached["operator"] >= 8 and reached["dispatcher"] >= 8  # the crawl really went through the office
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert FULL_PHONE.findall(logged) == [] and FULL_ID.findall(logged) == []


def test_the_crawl_would_catch_a_leak(ws_lite: Workspace) -> None:
    """The checks above are not vacuous: a unit holding its contact task does receive the full number."""
    case = ws_lite.dispatched("sthj")
    unit = ws_lite.user("crawl.sthj", "handler", department="sthj")
    sign = next(t for t in ws_lite.office.tasks(case.case_id) if t.bpmn_id == "sign_for")
    claimed = post_form(unit, f"/worklist/tasks/{sign.id}/claim", page="/worklist?tab=group")
    assert claimed.status_code in (200, 302, 303)
    assert "phone" in " ".join(problems(text(unit.get(f"/cases/{case.case_id}"))))
