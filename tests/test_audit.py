"""Audit trail: rows commit with their change, personal data is refused, the HMAC chain catches tampering."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from processes.audit.chain import Problem
from processes.audit.chain import purge
from processes.audit.chain import verify
from processes.audit.models import AuditChainHead
from processes.audit.models import AuditLog
from processes.audit.record import AuditRefused
from processes.audit.record import chain_lock
from processes.audit.record import record
from processes.audit.record import seal
from processes.db.engines import create_db_engine
from tests.audit_support import unguarded
from tests.support import truncate_all
from webapp import create_app
from webapp.cli import cli
from webapp.config import ConfigError
from webapp.config import audit_key

KEY = b"test-audit-key-0123456789abcdef0123456789"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LOG = AuditLog.__table__
REFERENCE = Path(__file__).resolve().parent.parent / "reference"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the parametrised, empty database."""
    eng = create_db_engine(db_url)
    yield eng
    eng.dispose()


def add_rows(engine: Engine, count: int, *, start: datetime = T0, step: timedelta = timedelta(seconds=1)) -> None:
    """Insert `count` unsealed rows, `step` apart, in one transaction."""
    with engine.begin() as conn:
        conn.execute(LOG.insert(), [
            {"at": start + i * step, "actor": f"user{i % 7}", "role": "operator", "source_ip": "10.0.0.8",
             "session_hash": "ab" * 16, "action": "task.complete", "object_type": "human_task",
             "object_id": f"t{i}", "before": {"status": "open"}, "after": {"status": "completed", "n": i},
             "result": "success", "request_id": f"r{i}", "detail": {"fields": ["reply_text"]}}
            for i in range(count)])


def execute(engine: Engine, *statements: Any) -> None:
    """Run statements in one transaction (the attacker's edits)."""
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def problem(engine: Engine, **kwargs: Any) -> Problem:
    """Verify and return the problem found (there must be one)."""
    report = verify(engine, KEY, **kwargs)
    assert report.problem is not None, report
    return report.problem


def by_seq(seq: int) -> Any:
    """WHERE seq = :seq."""
    return LOG.c.seq == seq


def test_a_row_commits_and_rolls_back_with_the_change(engine: Engine) -> None:
    with engine.begin() as conn:
        row_id = record(conn, action="task.complete", actor="alice", role="operator", object_type="human_task",
                        object_id="t1", after={"status": "completed"}, at=T0 + timedelta(microseconds=123_456))
    with pytest.raises(RuntimeError), engine.begin() as conn:
        record(conn, action="task.claim", actor="bob")
        raise RuntimeError("the change failed")
    with Session(engine) as session:
        with session.begin():
            record(session, action="case.open", actor="carol")
            session.rollback()
        rows = session.execute(sa.select(AuditLog)).scalars().all()
    assert [(r.id, r.action, r.actor, r.result) for r in rows] == [(row_id, "task.complete", "alice", "success")]
    assert rows[0].at == T0 + timedelta(milliseconds=123) and rows[0].seq is None


@pytest.mark.parametrize("bad", [
    {"object_id": "13812345678"}, {"detail": {"note": "call 138 1234 5678 / 13812345678"}},
    {"after": {"id": "11010119900307123X"}}, {"detail": {"n": 13812345678}}, {"before": {"text": "长" * 501}},
    {"result": "maybe"}, {"detail": {"x": float("nan")}}, {"detail": {"x": object()}}, {"action": ""},
    {"at": datetime(2026, 1, 1)},  # naive
])
def test_personal_numbers_and_bad_values_are_refused(engine: Engine, bad: dict[str, Any]) -> None:
    with pytest.raises(AuditRefused), engine.begin() as conn:
        record(conn, **{"action": "case.open", "actor": "alice", **bad})


def test_line_breaks_are_blanked_and_identifiers_pass(engine: Engine) -> None:
    instance = "5f3a9c1e-0b2d-4e6f-8a7b-138123456789"  # a UUID whose digits look like a phone number
    with engine.begin() as conn:
        record(conn, action="case.open\r\n2026-01-01 admin login ok", actor="eve\n", object_id=instance,
               detail={"note\r": "a\r\nb\u2028c", "sha256": "ab" * 32, "ids": [instance]})
    with engine.connect() as conn:
        row = conn.execute(sa.select(LOG)).mappings().one()
    assert row["action"] == "case.open  2026-01-01 admin login ok" and row["actor"] == "eve "
    assert row["object_id"] == instance and row["detail"] == {"note ": "a  b c", "sha256": "ab" * 32,
                                                              "ids": [instance]}


def test_tampering_is_reported_where_it_happened(engine: Engine) -> None:
    add_rows(engine, 10_000)
    assert seal(engine, KEY) == 10_000
    report = verify(engine, KEY)
    assert report.intact and (report.checked, report.last_seq, report.head_seq, report.unsealed) == (
        10_000, 10_000, 10_000, 0)
    with unguarded(engine):  # an attacker with DDL rights drops the triggers first (test_audit_guard.py)
        tamper_and_detect(engine)


def tamper_and_detect(engine: Engine) -> None:
    """Edit, delete, insert, reorder and truncate sealed rows; verify reports each where it happened."""
    execute(engine, LOG.update().where(by_seq(5000)).values(action="task.cancel"))  # edit
    found = problem(engine)
    assert (found.kind, found.seq) == ("edited", 5000)
    execute(engine, LOG.update().where(by_seq(5000)).values(action="task.complete"))
    assert verify(engine, KEY).intact
    with engine.connect() as conn:
        hash_4000 = conn.scalar(sa.select(LOG.c.chain_hash).where(by_seq(4000)))
    execute(engine, LOG.update().where(by_seq(4000)).values(chain_hash="not hex"))  # garbage is a finding too
    found = problem(engine)
    assert (found.kind, found.seq) == ("edited", 4000)
    execute(engine, LOG.update().where(by_seq(4000)).values(chain_hash=hash_4000))

    with engine.connect() as conn:
        saved = dict(conn.execute(sa.select(LOG).where(by_seq(5000))).mappings().one())
    execute(engine, LOG.delete().where(by_seq(5000)))  # delete
    found = problem(engine)
    assert (found.kind, found.seq, found.row_id) == ("deleted", 5000, None) and "seq 5000 missing" in str(found)
    execute(engine, LOG.insert().values(saved))
    assert verify(engine, KEY).intact

    execute(engine, LOG.update().where(LOG.c.seq >= 5000).values(seq=LOG.c.seq + 1_000_000),  # insert
            LOG.update().where(LOG.c.seq >= 1_000_000).values(seq=LOG.c.seq - 999_999),
            LOG.insert().values({**saved, "id": 99_999, "actor": "mallory", "seq": 5000, "chain_hash": "0" * 64}))
    found = problem(engine)
    assert (found.kind, found.seq, found.row_id) == ("inserted", 5000, 99_999)
    execute(engine, LOG.delete().where(LOG.c.id == 99_999),
            LOG.update().where(LOG.c.seq > 5000).values(seq=LOG.c.seq + 1_000_000),
            LOG.update().where(LOG.c.seq >= 1_000_000).values(seq=LOG.c.seq - 1_000_001))
    assert verify(engine, KEY).intact

    swap = (LOG.update().where(by_seq(3000)).values(seq=-1), LOG.update().where(by_seq(3001)).values(seq=3000),
            LOG.update().where(by_seq(-1)).values(seq=3001))
    execute(engine, *swap)  # reorder
    found = problem(engine)
    assert (found.kind, found.seq) == ("reordered", 3000)
    execute(engine, *swap)
    assert verify(engine, KEY).intact

    with engine.connect() as conn:
        tail = conn.execute(sa.select(LOG.c.seq, LOG.c.chain_hash).where(LOG.c.seq.in_((9000, 10_000)))).all()
    (seq_9000, hash_9000), (seq_last, hash_last) = sorted(tail)
    execute(engine, LOG.delete().where(LOG.c.seq > 9000))  # truncate the tail
    found = problem(engine)
    assert (found.kind, found.seq) == ("truncated", 9001)
    head = AuditChainHead.__table__
    execute(engine, head.update().values(seq=seq_9000, hash=hash_9000))  # … and rewind the head with it
    assert verify(engine, KEY).intact  # only an anchor kept outside the database catches this
    found = problem(engine, anchor=(seq_last, hash_last))
    assert (found.kind, found.seq) == ("truncated", 9001) and "anchor" in found.message


def test_unsealed_rows_are_counted_and_a_wrong_key_fails(engine: Engine) -> None:
    add_rows(engine, 30)
    assert seal(engine, KEY, batch=7) == 30
    add_rows(engine, 5)
    report = verify(engine, KEY)
    assert report.intact and report.unsealed == 5 and report.checked == 30
    assert verify(engine, b"another key").problem is not None
    assert seal(engine, KEY) == 5 and verify(engine, KEY).unsealed == 0


def test_concurrent_sealers_build_one_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                with engine.begin() as conn:
                    for j in range(5):
                        record(conn, action="task.claim", actor=f"worker{n}", object_id=f"{i}-{j}")
                seal(engine, KEY, batch=8)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seal(engine, KEY)
    with engine.connect() as conn:
        seqs = conn.execute(sa.select(LOG.c.seq).order_by(LOG.c.seq)).scalars().all()
    assert seqs == list(range(1, 601))
    report = verify(engine, KEY)
    assert report.intact and report.checked == 600


def test_a_lower_id_committed_after_sealing_is_sealed_later_and_inserts_never_wait(pg_url: str) -> None:
    truncate_all(pg_url)
    engine = create_db_engine(pg_url)
    try:
        with engine.connect() as slow:
            transaction = slow.begin()
            late = record(slow, action="case.open", actor="slow")  # takes the lower id, commits last
            with engine.begin() as fast:
                early = record(fast, action="case.open", actor="fast")
            assert late < early and seal(engine, KEY) == 1
            with chain_lock(engine), engine.begin() as other:  # a sealer holds the lock …
                other.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                third = record(other, action="case.open", actor="other")  # … and a commit goes through
            transaction.commit()
        assert seal(engine, KEY) == 2
        with engine.connect() as conn:
            order = conn.execute(sa.select(LOG.c.id).order_by(LOG.c.seq)).scalars().all()
        assert order == [early, late, third]  # the chain runs in sealing order, not id order
        report = verify(engine, KEY)
        assert report.intact and report.unsealed == 0 and report.checked == 3
    finally:
        engine.dispose()


def test_purge_keeps_the_chain_verifiable_and_refuses_young_records(engine: Engine, tmp_path: Path) -> None:
    now, archive = T0 + timedelta(days=400), tmp_path / "archive"
    add_rows(engine, 400, step=timedelta(days=1))
    seal(engine, KEY)
    with pytest.raises(AuditRefused, match="younger than 180 days"):
        purge(engine, KEY, now - timedelta(days=179), now=now, actor="admin", archive_dir=archive)
    with pytest.raises(AuditRefused, match="at least 180"):
        purge(engine, KEY, now - timedelta(days=300), now=now, actor="admin", retention_days=90,
              archive_dir=archive)

    with unguarded(engine):
        execute(engine, LOG.update().where(by_seq(150)).values(actor="mallory"))
        with pytest.raises(AuditRefused, match="broken chain"):  # purging would destroy the evidence
            purge(engine, KEY, now - timedelta(days=200), now=now, actor="admin", archive_dir=archive)
        execute(engine, LOG.update().where(by_seq(150)).values(actor="user2"))
    assert not archive.exists()  # nothing archived for refused purges

    result = purge(engine, KEY, now - timedelta(days=200), now=now, actor="admin", archive_dir=archive)
    assert (result.deleted, result.checkpoint_seq) == (200, 200)
    report = verify(engine, KEY)
    assert report.intact and (report.first_seq, report.checked, report.unsealed) == (201, 200, 1)
    assert seal(engine, KEY) == 1  # the purge's own audit row
    assert verify(engine, KEY).intact
    assert purge(engine, KEY, now - timedelta(days=200), now=now, actor="admin", archive_dir=archive).deleted == 0
    with unguarded(engine):
        execute(engine, LOG.delete().where(by_seq(201)))
        assert (problem(engine).kind, problem(engine).seq) == ("deleted", 201)


def test_the_key_is_required_in_production_and_fixed_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_AUDIT_HMAC_KEY", raising=False)
    monkeypatch.setenv("HOTLINE_ENV", "production")
    with pytest.raises(ConfigError, match="AUDIT_HMAC_KEY"):
        audit_key(create_app({"AUDIT_HMAC_KEY": None}, serving=False))
    assert audit_key(create_app({"AUDIT_HMAC_KEY": "c4" * 32}, serving=False)) == (b"c4" * 32, None)
    monkeypatch.setenv("HOTLINE_ENV", "development")
    key, warning = audit_key(create_app({"AUDIT_HMAC_KEY": None}, serving=False))
    assert key and warning and "development key" in warning


def test_cli_seal_verify_purge_export_and_command_audit(db_url: str, engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, "HOTLINE_AUDIT_HMAC_KEY": KEY.decode()})
    add_rows(engine, 20)
    with engine.begin() as conn:
        record(conn, action="case.open", actor="=HYPERLINK(\"http://x\")", at=T0)
    assert "sealed 21 record(s)" in runner.invoke(cli, ["audit", "seal"]).output
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 21 sealed" in ok.output and "unsealed: 0" in ok.output

    missing = str(uuid.uuid4())
    failed = runner.invoke(cli, ["instance", "suspend", missing, "--reason", "test"])
    assert failed.exit_code == 1 and "NotFound" in failed.output
    imported = runner.invoke(cli, ["ref", "import", "settings", str(REFERENCE / "settings.csv"), "--actor", "admin"])
    assert imported.exit_code == 0, imported.output
    with engine.connect() as conn:
        rows = conn.execute(sa.select(LOG.c.action, LOG.c.actor, LOG.c.object_id, LOG.c.result, LOG.c.detail)
                            .where(LOG.c.id > 21).order_by(LOG.c.id)).all()
    assert [(r.action, r.result) for r in rows] == [
        ("instance.suspend", "failure"), ("reference.import", "success"), ("deadlines.reschedule", "success")]
    assert rows[0].object_id == missing and rows[0].detail["error"] == "NotFound" and rows[1].actor == "admin"

    with unguarded(engine):
        execute(engine, LOG.update().where(by_seq(7)).values(result="failure"))
        broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1 and "BROKEN: edited at seq 7 (id 7)" in broken.output
    assert "unsealed: 3 record(s)" in broken.output
    young = runner.invoke(cli, ["audit", "purge", "--before", datetime.now(UTC).date().isoformat()])
    assert young.exit_code == 1 and "younger than 180 days" in young.output

    out = tmp_path / "audit.csv"
    exported = runner.invoke(cli, ["audit", "export", "--from", "2026-01-01", "--to", "2026-01-01",
                                   "--output", str(out)])
    assert exported.exit_code == 0 and "wrote 21 record(s)" in exported.output
    text = out.read_text(encoding="utf-8-sig")
    assert text.startswith("id,at,actor,") and "'=HYPERLINK" in text and ",=" not in text
    with engine.connect() as conn:
        last = conn.execute(sa.select(LOG.c.action, LOG.c.detail).order_by(LOG.c.id.desc()).limit(1)).one()
    assert last.action == "audit.export" and last.detail["rows"] == 21
