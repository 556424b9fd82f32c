"""复杂件 (complex cases): set at triage as a case attribute of its own, keyed by SLA rules, migrated from types."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from bench.dbsetup import scratch_database
from handlers import HandlerError
from handlers import casework
from handlers import deadlines
from handlers.reference.csvio import ImportRejected
from handlers.reference.csvio import Known
from handlers.reference.csvio import check_rows
from handlers.reference.csvio import read_rows
from handlers.reference.sla import REQUEST_TYPES
from processes.clock import FrozenClock
from processes.db.engines import create_db_engine
from processes.db.migrate import alembic_config
from processes.db.migrate import upgrade
from tests.lifecycle_support import REPLY
from tests.lifecycle_support import ROOT
from tests.lifecycle_support import Office
from tests.lifecycle_support import at
from tests.lifecycle_support import prepare_office
from tests.reference_support import context
from tests.reference_support import seeded_session
from tests.reference_support import shanghai
from tests.support import pg_server_url
from tests.workspace_support import DISPATCH
from tests.workspace_support import Workspace
from tests.workspace_support import text
from webapp import labels

BEFORE = "0011"  # the last revision with 复杂件 as a request type
MOMENT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def any_office(db_url: str) -> Iterator[Office]:
    """The product diagrams on SQLite and on PostgreSQL, on Wednesday 2026-11-25 09:00 Beijing time."""
    prepare_office(db_url)
    office = Office(db_url, FrozenClock(at("2026-11-25T09:00:00")))
    yield office
    office.close()


def test_a_complex_case_gets_the_complex_limit_and_keeps_its_request_type(any_office: Office) -> None:
    office = any_office
    case = office.open("case_phone", "phone", request_type="consult", category="噪音扰民")
    office.complete(case, "triage", {**DISPATCH, "request_type": "complaint", "complexity": "complex",
                                     "category": "市政设施"})
    row = office.case(case)
    assert (row.request_type, row.complexity, row.urgency) == ("complaint", "complex", "normal")
    assert row.category == "市政设施"  # what triage confirmed, not what intake typed
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "zjj",
                                       "assisting_departments": ["zhzf"]})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="zjj")
    # 15 working days from Thursday 11-26, not the complaint's 5 (which would be 12-02)
    assert office.task(case, "reply", "zjj").due_at == at("2026-12-16T23:59:59")
    assert office.case(case).deadline == at("2026-12-16T23:59:59")
    office.complete(case, "reply", REPLY, department="zjj")
    assert office.case(case).request_type == "complaint"  # per-type figures still count a complaint


def test_an_ordinary_triage_keeps_the_case_normal_with_the_types_limit(any_office: Office) -> None:
    office = any_office
    case = office.open("case_phone", "phone")
    office.complete(case, "triage", DISPATCH)  # the form's default: 否
    assert office.case(case).complexity == "normal"
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    assert office.task(case, "reply").due_at == at("2026-12-02T23:59:59")  # a complaint: 5 working days


def test_triage_urgency_reaches_the_case_and_beats_complexity(office: Office) -> None:
    case = office.open("case_phone", "phone")
    office.complete(case, "triage", {**DISPATCH, "urgency": "urgent", "complexity": "complex"})
    assert (office.case(case).urgency, office.case(case).complexity) == ("urgent", "complex")
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    assert office.task(case, "reply").due_at == at("2026-11-26T09:00:00")  # urgent: 24 hours, complex or not


def test_rules_are_compared_by_source_then_complexity_then_type_then_urgency(db_url: str) -> None:
    with seeded_session(db_url, complexity="complex") as session:
        spring = shanghai("2026-02-12T10:00:00")
        assert deadlines.compute_handler(context(session, spring), "handle")["rule"] \
            == "*/*/normal/complex/handle 15 workdays"
        session.execute(sa.text("UPDATE hotline_case SET urgency = 'critical' WHERE id = 'c1'"))
        assert deadlines.compute_handler(context(session, spring), "handle")["rule"] == "*/*/critical/handle 2 hours"
        session.execute(sa.text("UPDATE hotline_case SET urgency = 'normal', channel = 'police110' WHERE id = 'c1'"))
        assert deadlines.compute_handler(context(session, spring), "handle")["rule"] == "police110/*/*/handle 24 hours"


def test_classify_refuses_what_triage_cannot_choose(db_url: str) -> None:
    with seeded_session(db_url) as session:
        ctx = context(session, MOMENT)
        for bad in ({"request_type": "complex", "urgency": "normal"},
                    {"request_type": "help", "urgency": "soon"},
                    {"request_type": "help", "urgency": "normal", "complexity": "very"}):
            with pytest.raises(HandlerError):
                casework.classify(ctx, **bad)
        assert casework.classify(ctx, "help", "normal", None, None) == {
            "request_type": "help", "urgency": "normal", "category": None, "complexity": "normal"}


def test_complex_is_an_attribute_not_a_request_type() -> None:
    assert "complex" not in REQUEST_TYPES and "complex" not in labels.REQUEST_TYPES
    assert labels.COMPLEXITIES["complex"] == "复杂件"
    for path in (ROOT / "bpmn").rglob("*.schema.json"):
        types = json.loads(path.read_text(encoding="utf-8"))["properties"].get("request_type", {})
        assert "complex" not in {o["const"] for o in types.get("oneOf", [])}, path
    triage = json.loads((ROOT / "bpmn/_shared/forms/triage.schema.json").read_text(encoding="utf-8"))
    field = triage["properties"]["complexity"]
    assert field["title"] == "复杂件" and field["default"] == "normal" and "时限" in field["description"]
    assert "complexity" not in triage["required"]


def test_sla_files_key_on_complexity_and_older_files_still_import() -> None:
    new = ("source,request_type,urgency,complexity,stage,amount,unit,note\n"
           "*,*,*,*,handle,5,workdays,\n*,*,normal,complex,handle,15,workdays,复杂件\n")
    for stage in ("sign_for", "return", "extension_max", "callback", "notice"):
        new += f"*,*,*,*,{stage},1,workdays,\n"
    rows = check_rows("sla", read_rows("sla", new), Known())
    assert {(r["request_type"], r["complexity"], r["amount"]) for r in rows if r["stage"] == "handle"} == {
        ("*", "*", 5), ("*", "complex", 15)}
    old = "source,request_type,urgency,stage,amount,unit,note\n" + "".join(
        f"*,*,*,{stage},1,workdays,\n" for stage in ("handle", "sign_for", "return", "extension_max", "callback",
                                                        "notice"))
    assert {r["complexity"] for r in check_rows("sla", read_rows("sla", old), Known())} == {"*"}
    with pytest.raises(ImportRejected) as refused:
        check_rows("sla", read_rows("sla", old + "*,complex,normal,handle,15,workdays,\n"), Known())
    assert refused.value.errors == [
        "line 8: 复杂件 is no longer a request type: write request_type * and complexity complex"]


def test_the_triage_form_offers_complexity_and_the_case_shows_it(ws_lite: Workspace) -> None:
    ws = ws_lite
    case = ws.case()
    dispatcher = ws.user("d1", "dispatcher")
    triage = ws.office.task(case, "triage")
    form = text(dispatcher.get(f"/tasks/{triage.id}"))
    assert "复杂件" in form and "诉求类型不变" in form and 'value="complex"' in form
    ws.office.complete(case, "triage", {**DISPATCH, "complexity": "complex"})
    page = text(dispatcher.get(f"/cases/{case.case_id}"))
    assert '<span class="badge">复杂件</span>' in page and "投诉" in page


@contextmanager
def blank_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (SQLite file, or a new PostgreSQL database dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite'}"
        return
    request.getfixturevalue("pg_url")  # skips, or fails under HOTLINE_REQUIRE_PG, like every PostgreSQL test
    server = pg_server_url()
    assert server is not None
    with scratch_database(server, "hotline_migrate") as url:
        yield url


def _old_case(number: str, request_type: str | None) -> dict[str, object]:
    return {"id": number, "number": number, "channel": "phone", "request_type": request_type, "urgency": "normal",
            "status": "dispatched", "warning_level": "none", "return_count": 0, "extension_count": 0,
            "rehandle_count": 0, "created_at": MOMENT, "updated_at": MOMENT}


def _old_rule(request_type: str, urgency: str, amount: int) -> dict[str, object]:
    return {"source": "*", "request_type": request_type, "urgency": urgency, "stage": "handle", "amount": amount,
            "unit": "workdays", "note": ""}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_migration_moves_old_complex_request_types(kind: str, request: pytest.FixtureRequest,
                                                       tmp_path: Path) -> None:
    with blank_database(kind, request, tmp_path) as url:
        upgrade(url, BEFORE)
        engine = create_db_engine(url)
        meta = sa.MetaData()
        cases, rules = (sa.Table(name, meta, autoload_with=engine) for name in ("hotline_case", "sla_rule"))
        with engine.begin() as conn:
            conn.execute(cases.insert(), [_old_case("C1", "complex"), _old_case("C2", "help"),
                                          _old_case("C3", None)])
            # the complex rule and a rule for any type share the old key but for the type, so they must not collide
            conn.execute(rules.insert(), [_old_rule("complex", "normal", 15), _old_rule("*", "normal", 5)])
        engine.dispose()

        upgrade(url)
        engine = create_db_engine(url)
        with Session(engine) as session:
            moved = session.execute(sa.text(
                "SELECT number, request_type, complexity FROM hotline_case ORDER BY number")).all()
            assert [tuple(r) for r in moved] == [("C1", "other", "complex"), ("C2", "help", "normal"),
                                                 ("C3", None, "normal")]
            kept = session.execute(sa.text(
                "SELECT request_type, urgency, complexity, amount FROM sla_rule ORDER BY amount")).all()
            assert [tuple(r) for r in kept] == [("*", "normal", "*", 5), ("*", "normal", "complex", 15)]
        engine.dispose()

        command.downgrade(alembic_config(url), BEFORE)  # and back: 复杂件 is a request type again there
        engine = create_db_engine(url)
        with engine.connect() as conn:
            back = conn.execute(sa.text("SELECT number, request_type FROM hotline_case ORDER BY number")).all()
            rules_back = conn.execute(sa.text("SELECT request_type, amount FROM sla_rule ORDER BY amount")).all()
        engine.dispose()
        assert [tuple(r) for r in back] == [("C1", "complex"), ("C2", "help"), ("C3", None)]
        assert [tuple(r) for r in rules_back] == [("*", 5), ("complex", 15)]
