"""`hotline ref seed|import|export` against a real database: validation, all-or-nothing, round trips, 2027."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from sqlalchemy.orm import Session

from handlers import deadlines
from processes.cases.models import Case
from processes.db.engines import create_db_engine
from tests.reference_support import NOTICE_2027
from tests.reference_support import NOTICE_2027_NUMBER
from tests.reference_support import SEEDED_AT
from tests.reference_support import context
from tests.reference_support import shanghai
from webapp.cli import cli

KINDS = ("sla", "catalogue", "departments", "roster", "settings")


@pytest.fixture
def hotline(db_url: str) -> CliRunner:
    """A CLI runner on the test database, seeded from reference/ and the package calendar."""
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": db_url})
    seeded = run(runner, "ref", "seed")
    assert "calendar: 23 years loaded from chinesecalendar (2004-2026)" in seeded.output
    return runner


def run(runner: CliRunner, *args: str, code: int = 0) -> Result:
    """Invoke `hotline ARGS` and check the exit status."""
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def write(tmp_path: Path, name: str, text: str) -> str:
    """Write a CSV file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_seed_is_idempotent_and_keeps_what_people_changed(hotline: CliRunner, tmp_path: Path) -> None:
    run(hotline, "ref", "import", "settings", write(tmp_path, "s.csv", "name,value,note\nyellow_share,0.3,\n"))
    again = run(hotline, "ref", "seed").output
    assert "departments: 0 added, 37 kept" in again and "sla: kept the existing rows" in again
    assert "from duty_rotation.csv" in again and ", 0 planned day-roles kept" not in again  # the first seed planned
    assert "calendar: 0 years loaded from chinesecalendar (all present)" in again
    assert "yellow_share,0.3," in run(hotline, "ref", "export", "settings").output


def test_a_catalogue_with_errors_is_refused_whole_with_line_numbers(hotline: CliRunner, tmp_path: Path) -> None:
    before = run(hotline, "ref", "export", "catalogue").output
    bad = write(tmp_path, "catalogue.csv", "category,township,lead,assisting,note\n"
                "城市管理,*,zhzf,,fine\n"
                "供水,*,nope,,unknown lead\n"
                "供电,atlantis,gdj,,unknown township\n"
                "城市管理,*,zhzf,,duplicate\n"
                "教育,*,jyj,\"jyj,wjj\",lead assists itself\n")
    result = run(hotline, "ref", "import", "catalogue", bad, code=2)
    assert "line 3: unknown department code 'nope'" in result.output
    assert "line 4: unknown township code 'atlantis'" in result.output
    assert "line 5: duplicate of line 2 (城市管理/*)" in result.output
    assert "line 6: assisting units repeat each other or the lead" in result.output
    assert "refused, nothing was written" in result.output and "line 2" not in result.output.split("line 5")[0]
    assert run(hotline, "ref", "export", "catalogue").output == before


@pytest.mark.parametrize(("kind", "text", "messages"), [
    ("sla", "source,request_type,urgency,stage,amount,unit,note\n*,*,*,handle,0,days,\nfax,*,*,handle,1,hours,\n",
     ["line 2: amount '0': must be more than 0",
      "line 2: unit 'days': must be one of hours, minutes, workday_close, workdays",
      "line 3: source 'fax'", "missing the catch-all rule *,*,*,*,sign_for"]),
    ("departments", "code,name,kind,township,active,sms_target\n"
     "zjj,区住建局,bureau,,true,\nx y,,department,luxi,maybe,\n",
     ["line 2: kind 'bureau'", "line 3: code 'x y'", "line 3: name '': is required", "line 3: active 'maybe'"]),
    ("roster", "day,role,username,shift_start,shift_end\n2026-13-01,dispatcher,a,08:00,20:00\n"
     "2026-12-01,dispatcher,a,8am,20:00\n", ["line 2: day '2026-13-01'", "line 3: shift_start '8am'"]),
    ("settings", "name,value,note\nyellow_share,1.5,\nsecret,1,\n",
     ["line 2: value '1.5'", "line 3: unknown setting 'secret'"]),
    ("sla", "source,stage\n*,handle\n", ["line 1: columns must be source,request_type,urgency,complexity,stage"]),
])
def test_every_kind_is_validated_row_by_row(hotline: CliRunner, tmp_path: Path, kind: str, text: str,
                                            messages: list[str]) -> None:
    before = run(hotline, "ref", "export", kind).output
    result = run(hotline, "ref", "import", kind, write(tmp_path, f"{kind}.csv", text), code=2)
    for message in messages:
        assert message in result.output
    assert run(hotline, "ref", "export", kind).output == before


def test_a_bad_calendar_notice_is_refused(hotline: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, "2027.csv", "date,is_workday,reason\n2027-02-30,false,春节\n2026-12-31,false,元旦\n"
                "2027-01-01,false,元旦\n2027-01-01,true,\n2027-01-04,perhaps,\n")
    result = run(hotline, "ref", "import", "calendar", bad, "--year", "2027", "--notice", "x", code=2)
    for message in ("line 2: date '2027-02-30'", "line 3: date 2026-12-31 is not in 2027",
                    "line 5: duplicate of line 4 (2027-01-01)", "line 6: is_workday 'perhaps'"):
        assert message in result.output
    no_year = run(hotline, "ref", "import", "calendar", write(tmp_path, "ok.csv", NOTICE_2027), code=2)
    assert "needs --year" in no_year.output
    assert run(hotline, "ref", "export", "calendar", "--year", "2027").output == "date,is_workday,reason\n"


def test_dry_run_checks_and_writes_nothing(hotline: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "name,value,note\nemergency_mode,true,台风\n")
    assert "would load 1 settings rows" in run(hotline, "ref", "import", "settings", path, "--dry-run").output
    assert "emergency_mode,false," in run(hotline, "ref", "export", "settings").output


@pytest.mark.parametrize("kind", KINDS)
def test_export_then_import_gives_the_same_table(hotline: CliRunner, tmp_path: Path, kind: str) -> None:
    exported = str(tmp_path / f"{kind}.csv")
    assert f"wrote {exported}" in run(hotline, "ref", "export", kind, exported).output
    loaded = run(hotline, "ref", "import", kind, exported).output
    assert "loaded" in loaded
    assert run(hotline, "ref", "export", kind).output == Path(exported).read_text(encoding="utf-8")


def test_calendar_round_trip_and_a_2027_notice_change_deadlines(hotline: CliRunner, db_url: str,
                                                                tmp_path: Path) -> None:
    year_2026 = str(tmp_path / "2026.csv")
    run(hotline, "ref", "export", "calendar", year_2026, "--year", "2026")
    assert "2026-02-14,true,调休上班" in Path(year_2026).read_text(encoding="utf-8")
    out = run(hotline, "ref", "import", "calendar", year_2026, "--year", "2026", "--notice", "国办发明电2025").output
    assert "loaded 2026: 39 listed days, 248 working days" in out and "0 open cases rescheduled" in out
    assert run(hotline, "ref", "export", "calendar", "-", "--year", "2026").output == Path(year_2026).read_text()

    engine = create_db_engine(db_url)
    with Session(engine) as session:
        session.add(Case(id="c1", number="DT20261228-0001", channel="phone", request_type="complaint",
                         created_at=SEEDED_AT, updated_at=SEEDED_AT))
        session.commit()
        december = context(session, shanghai("2026-12-28T10:00:00"))
        before = deadlines.compute_handler(december, "handle")
        session.commit()
        out = run(hotline, "ref", "import", "calendar", write(tmp_path, "2027.csv", NOTICE_2027), "--year", "2027",
                  "--notice", NOTICE_2027_NUMBER).output
        assert "loaded 2027: 3 listed days, 260 working days" in out
        after = deadlines.compute_handler(december, "handle")
    engine.dispose()
    assert (before["due"], before["calendar_warning"]) == (
        "2027-01-04T23:59:59+08:00", "2027年节假日安排未录入，按周一至周五计算")
    assert (after["due"], after["calendar_warning"]) == ("2027-01-05T23:59:59+08:00", None)
