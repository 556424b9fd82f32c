"""`hotline demo --history-days 5`: a past of closed cases that every page showing one answers, and true figures."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from processes.accounts import pii
from processes.accounts import totp
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.metrics import compute
from processes.metrics import rollup
from processes.metrics.definitions import METRICS
from processes.metrics.periods import Period
from processes.metrics.periods import office_day
from processes.metrics.settings import read_settings
from processes.reports.pdf import ReportFontMissing
from processes.reports.pdf import find_font
from processes.runtime.models import HistoryEvent
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from tests.admin_support import enrol_totp
from tests.reference_support import CHEAP_ENV
from tests.web_support import CHEAP
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from webapp import create_app
from webapp import runtime_of
from webapp.cli import cli
from webapp.cli.demo_history import DISPATCHERS
from webapp.cli.demo_history import PER_DAY

DAYS = 5


@dataclass
class Demo:
    """The demo's app, its accounts' passwords and one seeded case with a requester."""

    app: Flask
    passwords: dict[str, str]
    case: Case
    phone: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Set the demo up once with five days of history, and open the web app on it."""
    folder = tmp_path_factory.mktemp("demo")
    env = {"HOTLINE_INSTANCE_PATH": str(folder), "HOTLINE_DATABASE_URL": "", **CHEAP_ENV}
    result = CliRunner(env=env).invoke(cli, ["demo", "--no-serve", "--history-days", str(DAYS)],
                                       catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert re.search(rf"wrote {DAYS} days of history: \d+ closed cases", result.output), result.output
    lines = (folder / "demo-users.txt").read_text(encoding="utf-8").splitlines()
    passwords = {user: password for user, _, password in (line.split("\t") for line in lines)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOTLINE_INSTANCE_PATH", str(folder))  # its config.py holds the key the past was encrypted with
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{Path(folder) / 'hotline.sqlite'}", **CHEAP})
        with app.app_context(), runtime_of(app).read() as db:
            case = db.scalars(sa.select(Case).where(Case.requester_id.is_not(None), Case.status == "archived",
                                                    Case.lead_department.is_not(None)).order_by(Case.number)).first()
            assert case is not None
            requester = db.get(Requester, case.requester_id)
            assert requester is not None
            phone = str(pii.cipher().decrypt("phone", requester.phone))
        yield Demo(app, passwords, case, phone)


@pytest.fixture(autouse=True)
def instance_key(demo: Demo) -> None:
    """Use the demo instance's personal-data key (conftest sets the development key before every test)."""
    pii.configure(demo.app.config["PII_ENCRYPTION_KEY"], production=False)


def signed_in(demo: Demo, username: str) -> FlaskClient:
    """Return a client signed in as a demo account (the auditor with its second factor)."""
    client = demo.app.test_client()
    secret = enrol_totp(demo.app, username) if username == "audit1" else None
    response = login(client, username, demo.passwords[username])
    if secret is not None:
        response = post(client, "/auth/totp", {"code": totp.code_at(secret, runtime_of(demo.app).clock())})
    assert location(response) == "/", response.get_data(as_text=True)[:300]
    return client


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    """Return a page's text after checking its status."""
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[:500])
    return response.get_data(as_text=True)


def has_font() -> bool:
    """Return whether a CJK font for the PDF reports is installed (else generating answers 503)."""
    try:
        find_font("")
    except ReportFontMissing:
        return False
    return True


def past(demo: Demo) -> tuple[date, date]:
    """Return the first and last office day of the demo's past."""
    today = office_day(runtime_of(demo.app).clock())
    return today - timedelta(days=DAYS), today - timedelta(days=1)


def test_the_past_is_closed_by_day_with_encrypted_requesters(demo: Demo) -> None:
    first = past(demo)[0]
    with demo.app.app_context(), runtime_of(demo.app).read() as db:  # the instance's key, not the development one
        seeded = list(db.scalars(sa.select(Case).join(ProcessInstance, ProcessInstance.case_id == Case.id)
                                 .where(ProcessInstance.snapshot == "")))
        by_day = Counter(office_day(c.created_at) for c in seeded)
        assert set(by_day) == {first + timedelta(days=n) for n in range(DAYS)}
        assert all(PER_DAY["holiday"][0] <= n <= PER_DAY["workday"][1] for n in by_day.values())
        assert all(c.closed_at is not None and c.closed_at >= c.created_at for c in seeded)
        called = [c for c in seeded if c.callback_result]  # the flag the weekly upward report reads, as 回访 sets it
        assert called and all(c.flags["callback_result"] == c.callback_result for c in called)
        assert not {c.status for c in seeded} - {"closed", "published", "archived", "rejected", "transferred", "merged"}
        # every open task belongs to a live instance, which a command can load: nothing seeded can be opened
        open_instances = set(db.scalars(sa.select(HumanTask.instance_id).where(HumanTask.status == "open")))
        live = db.scalars(sa.select(ProcessInstance.snapshot).where(ProcessInstance.id.in_(open_instances)))
        assert open_instances and all(live)
        assert not db.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(
            HumanTask.case_id.in_([c.id for c in seeded]), HumanTask.status != "completed"))
        actors = set(db.scalars(sa.select(HistoryEvent.actor).where(HistoryEvent.case_id.in_([c.id for c in seeded]))))
        assert "cb1" in actors and actors & set(DISPATCHERS) and not any(a.startswith("seed") for a in actors)
        requesters = list(db.scalars(sa.select(Requester)))
        cipher = pii.cipher()
        for requester in requesters:
            assert str(requester.phone).startswith("v1:")
            assert requester.name is None or requester.name.startswith("v1:")
            plain = cipher.decrypt("phone", requester.phone)
            assert requester.phone_index == cipher.phone_index(plain) and requester.phone_last4 == str(plain)[-4:]


def test_the_rollup_equals_counting_the_cases(demo: Demo) -> None:
    first, last = past(demo)
    today = last + timedelta(days=1)
    period = Period(first, today)  # today too: the days the rollup holds end there
    rt = runtime_of(demo.app)
    with rt.read() as db:
        counted = {f.metric: f for f in compute.figures(db, period, now=rt.clock(), settings=read_settings(db))}
        rolled = {f.metric: f for f in rollup.figures(db, period)}
        in_days = sum(1 for c in db.scalars(sa.select(Case)) if first <= office_day(c.created_at) <= today)
    assert rolled["volume"].numerator == in_days > DAYS * PER_DAY["holiday"][0]
    nothing = compute.Figure("", (), 0, 0)
    for code in METRICS:  # a metric nothing fell due for is absent from both
        assert (rolled.get(code, nothing).numerator, rolled.get(code, nothing).denominator) == (
            counted.get(code, nothing).numerator, counted.get(code, nothing).denominator), code
    assert rolled["satisfied"].denominator > 0 and rolled["callback"].denominator > 0


@pytest.mark.parametrize("username", ["sv1", "chen.jun", "zhang.wei"])
def test_case_page_timeline_and_search_show_a_seeded_case(demo: Demo, username: str) -> None:
    client, case = signed_in(demo, username), demo.case
    text = page(client, f"/cases/{case.id}")
    assert case.number in text and str(case.content) in text
    for step in ("初审（理件）", "派单", "签收", "办理答复", "回访（核实）", "归档"):
        assert step in text, step
    assert demo.phone not in text and f"{demo.phone[:3]}****{demo.phone[-4:]}" in text  # masked, as real data is
    assert "seed_" not in text and "模拟数据" not in text
    found = page(client, f"/search?number={case.number}")
    assert case.number in found
    listed = page(client, "/search?status=archived&page=2")
    assert len(set(re.findall(r"DT\d{8}-\d{4}", listed))) >= 10
    by_phone = post(client, "/search", {"phone": demo.phone})  # the blind index finds the requester's cases
    assert by_phone.status_code == 200 and case.number in by_phone.get_data(as_text=True)


@pytest.mark.parametrize("username", ["sv1", "chen.jun"])
def test_dashboard_drill_down_monitor_heat_map_and_reports(demo: Demo, username: str) -> None:
    client, case = signed_in(demo, username), demo.case
    first, last = past(demo)
    span = f"start={first.isoformat()}&end={last.isoformat()}"
    with runtime_of(demo.app).read() as db:
        in_days = sum(1 for c in db.scalars(sa.select(Case)) if first <= office_day(c.created_at) <= last)
    assert "数据看板" in page(client, f"/dashboard/?{span}")
    data = client.get(f"/dashboard/data?{span}").get_json()
    volume = next(t for t in data["totals"] if t["code"] == "volume")
    assert volume["numerator"] == in_days
    drill = client.get(f"/dashboard/cases?{span}&metric=volume&part=numerator&format=json").get_json()
    assert drill["total"] == in_days and len(drill["numbers"]) > 0
    assert "按时办结率" in page(client, f"/dashboard/cases?{span}&metric=ontime&part=denominator")
    assert "督办台" in page(client, "/monitor")
    with runtime_of(demo.app).read() as db:
        instance = db.scalar(sa.select(ProcessInstance.id).where(ProcessInstance.case_id == case.id))
    shown = page(client, f"/monitor/instances/{instance}")
    assert case.number in shown and "归档" in shown
    assert page(client, f"/monitor/instances/{instance}/state")
    assert page(client, "/monitor/instances?status=completed")
    assert "热力图" in page(client, "/monitor/heatmap/case_phone/1")
    week = f"{first.isocalendar().year}-W{first.isocalendar().week:02d}"
    for kind, period in (("weekly", week), ("monthly", f"{first:%Y-%m}")):
        made = post(client, "/reports/generate", {"kind": kind, "period": period, "scope": "office"})
        assert made.status_code == (303 if has_font() else 503), made.get_data(as_text=True)[:300]
    for link in set(re.findall(r"/reports/[0-9a-f-]+/download", page(client, "/reports"))):
        downloaded = client.get(link)
        assert downloaded.status_code == 200 and len(downloaded.data) > 1000


def test_the_auditor_sees_the_history_written_and_no_case(demo: Demo) -> None:
    client = signed_in(demo, "audit1")
    assert "demo.history" in page(client, "/audit")
    page(client, f"/cases/{demo.case.id}", 403)
    page(client, "/dashboard/", 403)
