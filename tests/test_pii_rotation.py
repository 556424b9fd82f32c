"""Key rotation of personal data (S6.3): rows under key A read back under key B, plain rows get encrypted."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from processes.accounts import pii
from processes.accounts import totp
from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.passwords import AccountPolicy
from processes.accounts.pii_rotation import reencrypt
from processes.audit.models import AuditLog
from processes.cases.models import Requester
from processes.cases.personal import read_requester
from processes.db.schema import METADATA
from processes.runtime import commands
from processes.runtime.core import Runtime
from tests.support import deploy
from webapp.cli import cli

KEY_A, KEY_B, KEY_C = "a1" * 32, "b2" * 32, "c3" * 32
PHONE, PLAIN_PHONE, ID_NUMBER = "13812345678", "13900001111", "11010119900307123X"
CHEAP = AccountPolicy(time_cost=1, memory_cost=8, parallelism=1)


def requesters(rt: Runtime) -> dict[str, dict[str, str | None]]:
    """Every requester decrypted under the configured key, with its stored blind index, keyed by last four."""
    with rt.read() as session:
        return {str(r.phone_last4): {**read_requester(r), "index": r.phone_index}
                for r in session.scalars(sa.select(Requester))}


def dump(rt: Runtime) -> str:
    """Every text column of every table, as a database dump would show them."""
    parts = []
    with rt.read() as session:
        for table in METADATA.sorted_tables:
            text = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
            if text:
                parts += [str(v) for row in session.execute(sa.select(*text)) for v in row]
    return " ".join(parts)


def seed(rt: Runtime) -> str:
    """Register a case under key A, add a requester row from before encryption and a TOTP secret; return it."""
    deploy(rt, "simple", "simple.bpmn")
    pii.configure(KEY_A, production=False)
    commands.open_case(rt, "simple", {"requester_name": "张三", "requester_phone": PHONE, "requester_id_number":
                                      ID_NUMBER, "requester_address": "洞头区北岙街道中心街88号"},
                       actor="op", channel="phone")
    with rt.write() as session, session.begin():
        session.add(Requester(name="李四", phone=PLAIN_PHONE, address="鹿西乡", created_at=rt.clock()))
        user = accounts.create_user(session, username="anquan", password="Gongdan-2026-ok", roles=["secadmin"],
                                    policy=CHEAP, now=rt.clock(), actor="test")
        return totp.begin_enrolment(user)


def test_rows_written_under_one_key_read_back_under_the_next(runtime: Runtime) -> None:
    secret = seed(runtime)
    assert PLAIN_PHONE in dump(runtime)  # the row from before encryption
    pii.configure(KEY_B, production=False)
    new, old = pii.PiiCipher.from_hex(KEY_B), pii.PiiCipher.from_hex(KEY_A)

    report = reencrypt(runtime.db, new, old, batch=1)  # one row per transaction: batches resume where they left
    assert (report.rows, report.rows_written, report.reencrypted, report.encrypted_plain, report.indexes,
            report.unreadable) == (3, 3, 5, 3, 2, 0)
    assert requesters(runtime) == {
        "5678": {"name": "张三", "phone": PHONE, "id_number": ID_NUMBER, "address": "洞头区北岙街道中心街88号",
                 "index": new.phone_index(PHONE)},
        "1111": {"name": "李四", "phone": PLAIN_PHONE, "id_number": None, "address": "鹿西乡",
                 "index": new.phone_index(PLAIN_PHONE)},
    }
    with runtime.read() as session:
        user = session.scalars(sa.select(AppUser)).one()
        assert totp.secret_of(user) == secret
    text = dump(runtime)
    assert PHONE not in text and PLAIN_PHONE not in text and ID_NUMBER not in text and "李四" not in text

    again = reencrypt(runtime.db, new, old)
    assert (again.rows_written, again.current, again.reencrypted, again.encrypted_plain) == (0, 8, 0, 0)


def test_cli_reencrypt_counts_in_the_audit_and_reports_values_no_key_reads(runtime: Runtime, db_url: str) -> None:
    seed(runtime)
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, "HOTLINE_PII_ENCRYPTION_KEY": KEY_B,
                            "OLD_PII_KEY": KEY_A})
    stuck = runner.invoke(cli, ["pii", "reencrypt"])  # without the old key the key-A values stay unreadable
    assert stuck.exit_code == 1 and "unreadable=5" in stuck.output and "encrypted_plain=3" in stuck.output
    done = runner.invoke(cli, ["pii", "reencrypt", "--from-key-env", "OLD_PII_KEY"])
    assert done.exit_code == 0 and "reencrypted=5" in done.output and "unreadable=0" in done.output
    missing = runner.invoke(cli, ["pii", "reencrypt", "--from-key-env", "NO_SUCH_VARIABLE"])
    assert missing.exit_code == 2 and "not set" in missing.output
    rotated = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, "HOTLINE_PII_ENCRYPTION_KEY": KEY_C,
                             "OLD_PII_KEY": KEY_B}).invoke(cli, ["pii", "reencrypt", "--from-key-env", "OLD_PII_KEY"])
    assert rotated.exit_code == 0 and "reencrypted=8" in rotated.output
    pii.configure(KEY_C, production=False)
    assert requesters(runtime)["5678"]["phone"] == PHONE
    with runtime.read() as session:
        rows = session.execute(sa.select(AuditLog.result, AuditLog.after, AuditLog.detail)
                               .where(AuditLog.action == "pii.reencrypt").order_by(AuditLog.id)).all()
    assert [r.result for r in rows] == ["success", "success", "success"]
    assert rows[1].after["reencrypted"] == 5 and rows[1].detail["key_id"] == pii.PiiCipher.from_hex(KEY_B).key_id()
    assert rows[1].detail["from_key_id"] == pii.PiiCipher.from_hex(KEY_A).key_id()
    assert PHONE not in str([tuple(r) for r in rows])
