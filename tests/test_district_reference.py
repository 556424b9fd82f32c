"""The reference data of the real district (洞头区): townships, units, 派单目录, duty roster, demo accounts."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from handlers import routing
from handlers import workdays
from handlers.reference.csvio import ImportRejected
from handlers.reference.roster import ROSTER_WEEKS
from handlers.reference.roster import expand
from handlers.reference.roster import parse_rotation
from handlers.reference.roster import planning_window
from handlers.reference.roster import roster_csv
from handlers.reference.seed import seed_all
from handlers.reference.store import export
from handlers.reference.store import load
from processes.accounts.models import AppUser
from processes.accounts.models import UserRole
from processes.accounts.roles import ROLE_CODES
from processes.clock import FrozenClock
from processes.db.engines import create_db_engine
from processes.reference.models import Department
from processes.reference.models import DutyRoster
from tests.reference_support import CHEAP_ENV
from tests.reference_support import REFERENCE_DIR
from tests.web_support import login
from tests.web_support import web_app
from webapp.cli import cli
from webapp.cli.demo_users import DEMO_USERS

# 洞头区 today: six 街道, one 镇, one 乡 (灵昆 and 昆鹏 included), by code.
TOWNSHIPS = {"beiao": "北岙街道", "dongping": "东屏街道", "yuanjue": "元觉街道", "niyu": "霓屿街道",
             "lingkun": "灵昆街道", "kunpeng": "昆鹏街道", "damen": "大门镇", "luxi": "鹿西乡"}
# Codes the diagrams, the demo and other tests use: they must stay.
STABLE = {"zjj": "区住建局", "zhzf": "区综合行政执法局", "sthj": "区生态环境分局", "gafj": "区公安分局",
          "scjg": "区市场监管局", "rx12345": "区12345热线中心"}
FILES = {"departments": "departments.csv", "catalogue": "dispatch_catalogue.csv", "sla": "sla_rules.csv",
         "settings": "settings.csv"}


def rows(text: str) -> list[dict[str, str]]:
    """Parse CSV text into dicts."""
    return list(csv.DictReader(text.splitlines()))


def seed_file(name: str) -> list[dict[str, str]]:
    """The rows of a file in reference/."""
    return rows((REFERENCE_DIR / name).read_text(encoding="utf-8"))


def rotation_text() -> str:
    """The office's duty rotation."""
    return (REFERENCE_DIR / "duty_rotation.csv").read_text(encoding="utf-8")


@pytest.fixture
def seeded(db_url: str) -> Iterator[Session]:
    """A database seeded from reference/ today (the roster reaches eight weeks from now)."""
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        seed_all(session, REFERENCE_DIR, actor="tester", now=datetime.now(UTC), years=range(2026, 2027))
        session.commit()
        yield session
    engine.dispose()


def test_every_street_and_town_of_dongtou_is_a_township_unit() -> None:
    units = {row["code"]: row for row in seed_file("departments.csv")}
    townships = {code: row["name"] for code, row in units.items() if row["kind"] == "township"}
    assert townships == TOWNSHIPS
    assert all(units[code]["active"] == "true" and units[code]["sms_target"] == f"sms:{code}" for code in townships)
    assert {code: units[code]["name"] for code in STABLE} == STABLE
    assert [code for code, row in units.items() if row["kind"] == "office"] == ["rx12345"]
    assert all(row["township"] == "" for row in units.values())  # no unit belongs to a township yet
    assert len(units) == len({row["name"] for row in units.values()})  # one name, one unit


def test_townships_resolve_by_name_and_code_in_the_database(seeded: Session) -> None:
    stored = dict(seeded.execute(sa.select(Department.code, Department.name).where(
        Department.kind == "township", Department.active.is_(True))).all())
    assert stored == TOWNSHIPS
    for code, name in TOWNSHIPS.items():
        assert routing.township_code(seeded, name) == code == routing.township_code(seeded, code)
    local = routing.suggest(seeded, "环境卫生", "灵昆街道")
    assert (local["lead"], local["lead_name"], local["assisting"]) == ("lingkun", "灵昆街道", ["zhzf"])


def test_every_catalogue_target_is_an_active_unit_and_every_category_has_a_district_line() -> None:
    units = {row["code"]: row for row in seed_file("departments.csv") if row["active"] == "true"}
    catalogue = seed_file("dispatch_catalogue.csv")
    for line in catalogue:
        targets = [line["lead"], *[c for c in line["assisting"].split(",") if c]]
        assert set(targets) <= set(units), line
        assert line["township"] == "*" or units[line["township"]]["kind"] == "township", line
    categories = {line["category"] for line in catalogue}
    assert categories == {line["category"] for line in catalogue if line["township"] == "*"}
    assert len(categories) >= 30
    led = {line["lead"] for line in catalogue}
    assert {code for code, row in units.items() if row["kind"] == "department"} <= led  # every department leads


def test_every_category_gets_a_suggestion_in_every_township(seeded: Session) -> None:
    units = set(seeded.scalars(sa.select(Department.code).where(Department.active.is_(True))))
    categories = {line["category"] for line in seed_file("dispatch_catalogue.csv")}
    for township in TOWNSHIPS:
        for category in categories:
            suggestion = routing.suggest(seeded, category, township)
            assert suggestion["lead"] in units and set(suggestion["assisting"]) <= units, (township, category)


def test_the_seed_files_round_trip(seeded: Session) -> None:
    for kind, name in FILES.items():
        text = (REFERENCE_DIR / name).read_text(encoding="utf-8")
        header = list(rows(text)[0])
        load(seeded, kind, text, actor="tester", now=datetime.now(UTC))
        exported = [tuple(row[c] for c in header) for row in rows(export(seeded, kind))]
        assert sorted(exported) == sorted(tuple(row[c] for c in header) for row in rows(text)), kind
    seeded.rollback()


def test_the_roster_seeded_today_is_the_rotation_and_round_trips(seeded: Session) -> None:
    first, days = planning_window(datetime.now(UTC))
    planned = roster_csv(expand(parse_rotation(rotation_text()), first, days))
    assert export(seeded, "roster") == planned  # nothing else: no fixed past range
    load(seeded, "roster", planned, actor="tester", now=datetime.now(UTC))
    assert export(seeded, "roster") == planned
    seeded.rollback()


def covered_until(session: Session, role: str, start: datetime) -> datetime:
    """Return how far the roster covers a role without a gap from `start` (Beijing time)."""
    shifts = []
    for row in session.scalars(sa.select(DutyRoster).where(DutyRoster.role == role)):
        begin = datetime.combine(row.day, row.shift_start, workdays.SHANGHAI)
        end = datetime.combine(row.day, row.shift_end, workdays.SHANGHAI)
        shifts.append((begin, end if end > begin else end + timedelta(days=1)))
    reached = start
    for begin, end in sorted(shifts):
        if begin > reached:
            break
        reached = max(reached, end)
    return reached


@pytest.mark.parametrize("seeded_on", ["today", "2031-06-14T23:30:00+08:00"])
def test_the_roster_covers_the_next_eight_weeks_day_and_night_without_gaps(db_url: str, seeded_on: str) -> None:
    now = datetime.now(UTC) if seeded_on == "today" else datetime.fromisoformat(seeded_on)
    engine = create_db_engine(db_url)
    with Session(engine) as session:
        seed_all(session, REFERENCE_DIR, actor="tester", now=now, years=range(2026, 2027))
        session.commit()
        roles = {line.role for line in parse_rotation(rotation_text())}
        assert {"dispatcher", "duty_leader", "supervisor", "leader"} <= roles
        horizon = now + timedelta(weeks=ROSTER_WEEKS)
        for role in roles:
            assert covered_until(session, role, now) >= horizon, role
        today = workdays.local_date(now)
        for week in range(ROSTER_WEEKS):
            saturday = today + timedelta(days=(5 - today.weekday()) % 7 + 7 * week)
            for day, clock in ((saturday, time(3)), (saturday, time(21)), (saturday + timedelta(days=1), time(14)),
                               (saturday + timedelta(days=3), time(23, 30)), (saturday + timedelta(days=4), time(7))):
                at = datetime.combine(day, clock, workdays.SHANGHAI)
                if now <= at < horizon:
                    for role in roles:
                        assert routing.on_duty(session, role, at) is not None, (role, at)
        night = {row.username for row in session.scalars(sa.select(DutyRoster).where(
            DutyRoster.role == "dispatcher", DutyRoster.shift_start == time(20)))}
        assert len(night) == 4  # the night shift goes round, not one person every night
    engine.dispose()


def test_a_broken_rotation_is_refused_whole_with_line_numbers() -> None:
    bad = ("role,shift_start,shift_end,rotate,people,note\n"
           "dispatcher,08:00,20:00,day,\"a,b\",ok\n"
           "dispatch,8am,20:00,fortnight,\"a,a\",\n"
           "dispatcher,08:00,09:00,day,c,duplicate shift\n")
    with pytest.raises(ImportRejected) as refused:
        parse_rotation(bad)
    errors = "\n".join(refused.value.errors)
    for message in ("line 3: shift_start '8am'", "line 3: role 'dispatch'", "line 3: rotate 'fortnight'",
                    "line 3: people", "line 4: duplicate of line 2"):
        assert message in errors
    with pytest.raises(ImportRejected, match="columns must be"):
        parse_rotation("role,people\ndispatcher,a\n")


def test_people_take_turns_by_the_date_so_planning_again_changes_nothing() -> None:
    rotation = parse_rotation(rotation_text())
    early = expand(rotation, date(2027, 3, 1), 28)
    later = expand(rotation, date(2027, 3, 15), 28)
    assert [r for r in early if r["day"] >= date(2027, 3, 15)] == [r for r in later if r["day"] < date(2027, 3, 29)]
    leaders = {r["username"] for r in early if r["role"] == "leader" and r["day"] < date(2027, 3, 8)}
    assert len(leaders) == 1  # the leader on call changes by week, on Mondays


def test_hotline_ref_roster_writes_the_import_format(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": db_url})
    out = tmp_path / "plan.csv"
    result = runner.invoke(cli, ["ref", "roster", str(out), "--from", "2027-02-01", "--weeks", "2"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    planned = rows(out.read_text(encoding="utf-8"))
    assert {r["day"] for r in planned} == {(date(2027, 2, 1) + timedelta(days=n)).isoformat() for n in range(14)}
    imported = runner.invoke(cli, ["ref", "import", "roster", str(out)], catch_exceptions=False)
    assert imported.exit_code == 0 and f"loaded {len(planned)} roster rows" in imported.output
    exported = runner.invoke(cli, ["ref", "export", "roster"], catch_exceptions=False).output
    assert exported == out.read_text(encoding="utf-8")


def test_every_unit_and_desk_has_a_demo_account_that_can_sign_in(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner(env={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_DATABASE_URL": db_url, **CHEAP_ENV})
    demo = runner.invoke(cli, ["demo", "--no-serve"], catch_exceptions=False)
    assert demo.exit_code == 0, demo.output
    passwords = {user: password for user, _, password in (
        line.split("\t") for line in (tmp_path / "demo-users.txt").read_text(encoding="utf-8").splitlines())}
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        accounts: dict[str, tuple[str | None, set[str]]] = {
            username: (department, set()) for username, department in conn.execute(
                sa.select(AppUser.username, AppUser.department))}
        for username, role in conn.execute(sa.select(AppUser.username, UserRole.role).join(
                UserRole, UserRole.user_id == AppUser.id)):
            accounts[username][1].add(role)
        units = dict(conn.execute(sa.select(Department.code, Department.kind).where(Department.active.is_(True))).all())
    engine.dispose()
    assert set(passwords) == set(accounts)
    for code, kind in units.items():
        if kind == "office":
            continue
        held = {role for department, roles in accounts.values() if department == code for role in roles}
        assert "handler" in held, code
        assert kind != "township" or "township_reporter" in held, code
    assert {role for _, roles in accounts.values() for role in roles} == set(ROLE_CODES)
    office = {username: set(roles) for username, _, roles, _ in DEMO_USERS}
    for line in parse_rotation(rotation_text()):
        for person in line.people:
            assert line.role in office.get(person, set()), (line.role, person)
    with contextmanager(web_app)(db_url, FrozenClock(datetime.now(UTC))) as app:
        for username, password in passwords.items():
            response = login(app.test_client(), username, password)
            assert response.status_code == 302 and "/auth/login" not in response.headers["Location"], username
