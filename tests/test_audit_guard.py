"""The audit trail protected in the database (AUD-02/03, S4.4, S5.2, S5.3): triggers, anchors, archives, app role."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url

from processes.audit import anchor as audit_anchor
from processes.audit.archive import verify_archive
from processes.audit.chain import purge
from processes.audit.chain import verify
from processes.audit.models import AuditChainHead
from processes.audit.models import AuditPurgeGate
from processes.audit.record import AuditRefused
from processes.audit.record import record
from processes.audit.record import seal
from processes.db.engines import create_db_engine
from processes.runtime import commands
from tests.audit_support import unguarded
from tests.support import deploy
from tests.support import make_runtime
from tests.support import truncate_all
from tests.test_audit import KEY
from tests.test_audit import LOG
from tests.test_audit import T0
from tests.test_audit import add_rows
from tests.test_audit import by_seq
from tests.test_audit import execute
from webapp.cli import cli

HEAD = AuditChainHead.__table__
REFUSED = (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.InternalError)  # SQLite ABORT / PostgreSQL 42501


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the parametrised, empty database."""
    eng = create_db_engine(db_url)
    yield eng
    eng.dispose()


def refused(engine: Engine, statement: sa.Executable) -> str:
    """Run a statement that the database must refuse; return its message."""
    with pytest.raises(REFUSED) as caught, engine.begin() as conn:
        conn.execute(statement)
    return str(caught.value)


def test_sealed_records_cannot_be_changed_or_deleted_even_by_the_owner(engine: Engine) -> None:
    add_rows(engine, 30)
    assert seal(engine, KEY) == 30
    add_rows(engine, 2)  # unsealed: not even these may change, except by sealing
    assert "append-only" in refused(engine, LOG.update().where(by_seq(7)).values(action="task.cancel"))
    assert "append-only" in refused(engine, LOG.update().where(by_seq(7)).values(seq=99))
    assert "append-only" in refused(engine, LOG.update().where(LOG.c.seq.is_(None)).values(actor="mallory"))
    assert "append-only" in refused(engine, LOG.delete().where(by_seq(30)))
    assert "append-only" in refused(engine, LOG.delete().where(LOG.c.seq.is_(None)))
    assert refused(engine, HEAD.update().values(seq=10))  # rewinding the head
    assert refused(engine, HEAD.update().values(hash="0" * 64))
    assert refused(engine, HEAD.update().values(checkpoint_seq=5))  # moving the checkpoint outside a purge
    assert refused(engine, HEAD.delete())
    assert seal(engine, KEY) == 2  # the sealer still writes its seal columns
    report = verify(engine, KEY)
    assert report.intact and report.checked == 32 and report.unsealed == 0


def test_purge_archives_first_and_refuses_when_it_cannot(engine: Engine, tmp_path: Path) -> None:
    now = T0 + timedelta(days=400)
    add_rows(engine, 400, step=timedelta(days=1))
    seal(engine, KEY)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the archive folder should be")
    with pytest.raises(AuditRefused, match="cannot write the audit archive"):
        purge(engine, KEY, now - timedelta(days=200), now=now, actor="admin", archive_dir=blocked)
    assert verify(engine, KEY).checked == 400  # nothing deleted

    result = purge(engine, KEY, now - timedelta(days=200), now=now, actor="admin", archive_dir=tmp_path / "arc")
    assert result.deleted == 200 and result.archive is not None and result.archive.exists()
    checksum = result.archive.with_name(result.archive.name + ".sha256").read_text()
    assert checksum == f"{result.archive_sha256}  {result.archive.name}\n"
    report = verify_archive(result.archive, KEY)
    assert report.intact and (report.first_seq, report.through_seq, report.rows) == (1, 200, 200)
    assert not verify_archive(result.archive, b"another key").intact
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(AuditPurgeGate)) == 0  # the gate closed again
        young = conn.scalar(sa.select(sa.func.min(LOG.c.at)).where(LOG.c.seq.is_not(None)))
    assert young is not None and young.replace(tzinfo=UTC) >= now - timedelta(days=200)
    assert verify(engine, KEY).intact

    lines = gzip.decompress(result.archive.read_bytes()).decode().splitlines()
    edited = json.loads(lines[50])
    edited["actor"] = "mallory"
    lines[50] = json.dumps(edited, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    result.archive.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    assert "checksum" in str(verify_archive(result.archive, KEY).problem)
    sha = hashlib.sha256(result.archive.read_bytes()).hexdigest()
    result.archive.with_name(result.archive.name + ".sha256").write_text(f"{sha}  {result.archive.name}\n")
    assert verify_archive(result.archive, KEY).problem == "seq 50: chain value does not match"


def test_an_anchor_kept_outside_catches_a_cut_tail_with_a_rewound_head(engine: Engine, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    add_rows(engine, 50)
    seal(engine, KEY)
    first, added = audit_anchor.anchor(engine, anchors, now=T0, actor="system:timer")
    assert added and first.seq == 50
    assert audit_anchor.anchor(engine, anchors, now=T0, actor="system:timer")[1] is False  # head unchanged
    seal(engine, KEY)  # the anchor's own audit row
    latest, added = audit_anchor.anchor(engine, anchors, now=T0 + timedelta(days=1), actor="system:timer")
    assert added and latest.seq == 51 and len(anchors.read_text().splitlines()) == 2
    assert audit_anchor.latest(anchors) == latest
    assert verify(engine, KEY, anchor=(latest.seq, latest.hash)).intact
    with unguarded(engine):
        with engine.connect() as conn:
            row_40 = conn.execute(sa.select(LOG.c.seq, LOG.c.chain_hash).where(by_seq(40))).one()
        execute(engine, LOG.delete().where(LOG.c.seq > 40), HEAD.update().values(seq=40, hash=row_40.chain_hash))
        assert verify(engine, KEY).intact  # the database alone cannot tell
        found = verify(engine, KEY, anchor=(latest.seq, latest.hash)).problem
    assert found is not None and (found.kind, found.seq) == ("truncated", 41)


def test_cli_anchor_verify_purge_and_verify_archive(db_url: str, engine: Engine, tmp_path: Path) -> None:
    anchors, archives = tmp_path / "anchors.jsonl", tmp_path / "archives"
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, "HOTLINE_AUDIT_HMAC_KEY": KEY.decode(),
                            "HOTLINE_AUDIT_ARCHIVE_DIR": str(archives)})
    old = datetime.now(UTC) - timedelta(days=400)
    add_rows(engine, 300, start=old, step=timedelta(days=1))
    assert runner.invoke(cli, ["audit", "seal"]).exit_code == 0
    anchored = runner.invoke(cli, ["audit", "anchor", "--to", str(anchors)])
    assert anchored.exit_code == 0 and "anchored 300:" in anchored.output
    verified = runner.invoke(cli, ["audit", "verify", "--anchors", str(anchors)])
    assert verified.exit_code == 0 and "intact" in verified.output

    cutoff = (old + timedelta(days=100)).date().isoformat()
    purged = runner.invoke(cli, ["audit", "purge", "--before", cutoff])
    assert purged.exit_code == 0 and "purged 100 record(s)" in purged.output, purged.output
    [archive] = archives.glob("*.jsonl.gz")
    checked = runner.invoke(cli, ["audit", "verify-archive", str(archive)])
    assert checked.exit_code == 0 and "intact: 100 record(s), seq 1..100" in checked.output
    archive.write_bytes(archive.read_bytes()[:-8])
    broken = runner.invoke(cli, ["audit", "verify-archive", str(archive)])
    assert broken.exit_code == 1 and "BROKEN" in broken.output
    assert runner.invoke(cli, ["audit", "verify", "--anchors", str(anchors)]).exit_code == 0  # purge keeps it
    with engine.connect() as conn:
        actions = conn.execute(sa.select(LOG.c.action, LOG.c.result, LOG.c.detail).where(LOG.c.seq.is_(None))
                               .order_by(LOG.c.id)).all()
    assert [(a.action, a.result) for a in actions][-2:] == [("audit.anchor", "success"), ("audit.purge", "success")]
    assert actions[-1].detail["archive"] == archive.name and actions[-1].detail["deleted"] == 100


@pytest.fixture
def app_role(pg_url: str) -> Iterator[str]:
    """A fresh login role on the test server, dropped afterwards (roles belong to the whole server)."""
    role = f"hotline_app_{uuid.uuid4().hex[:8]}"
    admin = create_db_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
    yield role
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP OWNED BY {role}"))
        conn.execute(sa.text(f"DROP ROLE {role}"))
    admin.dispose()


def test_the_app_role_may_insert_and_seal_but_never_update_or_delete(pg_url: str, app_role: str) -> None:
    truncate_all(pg_url)
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": pg_url})
    granted = runner.invoke(cli, ["db", "grant-app-role", "--role", app_role])
    assert granted.exit_code == 0 and "grant statement(s) applied" in granted.output, granted.output
    as_app = create_db_engine(make_url(pg_url).set(username=app_role).render_as_string(hide_password=False))
    owner = create_db_engine(pg_url)
    try:
        with as_app.begin() as conn:
            record(conn, action="case.open", actor="op1")
        assert seal(as_app, KEY) == 2  # with the grant's row: INSERT, SELECT and the seal columns suffice
        assert "permission denied" in refused(as_app, LOG.update().values(action="task.cancel"))
        assert "permission denied" in refused(as_app, LOG.delete())
        assert "permission denied" in refused(as_app, sa.text("TRUNCATE audit_log"))
        assert "must be owner" in refused(as_app, sa.text("DROP TRIGGER audit_log_guard ON audit_log"))
        assert "append-only" in refused(owner, LOG.update().values(action="task.cancel"))  # the owner too
        with owner.connect() as conn:
            grants = conn.execute(sa.select(LOG.c.action, LOG.c.detail).where(
                LOG.c.action == "db.grant_app_role")).one()
        assert grants.detail["statements"] > 10
        assert runner.invoke(cli, ["db", "grant-app-role", "--role", "postgres"]).exit_code == 1  # a superuser
        rt = make_runtime(as_app.url.render_as_string(hide_password=False))
        deploy(rt, "simple", "simple.bpmn")  # the app's own work needs nothing more
        opened = commands.open_case(rt, "simple", {"requester_phone": "13812345678"}, actor="op", channel="phone")
        assert opened.status == "running"
        rt.db.dispose()
    finally:
        as_app.dispose()
        owner.dispose()
