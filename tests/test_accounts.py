"""Accounts (账号): password policy, lockout, expiry, 三员分立, login records, `hotline users` (AUTH-01..04, AC-04)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from click.testing import Result
from sqlalchemy.orm import Session

from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.models import LoginAttempt
from processes.accounts.models import PasswordHistory
from processes.accounts.passwords import AccountPolicy
from processes.accounts.passwords import check
from processes.accounts.roles import ADMIN_ROLES
from processes.accounts.roles import ROLES
from processes.accounts.roles import RoleConflict
from processes.accounts.roles import check_combination
from processes.accounts.users import AccountError
from processes.accounts.users import PasswordRejected
from processes.db.engines import create_db_engine
from processes.db.engines import writer_sessionmaker
from processes.db.schema import METADATA
from processes.reference.models import Department
from webapp.cli import cli


def wide(text: str) -> str:
    """Return the full-width form of ASCII text, as a Chinese IME types it."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


POLICY = AccountPolicy(time_cost=1, memory_cost=8, parallelism=1)  # cheap hashes: tests never wait on argon2
T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
GOOD = "Gongdan-2026-ok"
CHEAP = {"HOTLINE_ARGON2_TIME_COST": "1", "HOTLINE_ARGON2_MEMORY_KIB": "8", "HOTLINE_ARGON2_PARALLELISM": "1"}

ACCEPTED = [
    GOOD, "Zq8#mW2!pL5v", "Tr0ub4dor&3x", "Hotline#Case7", "洞头热线12345Abc", "winter-Rain-on-7-hills",
    "correct horse battery staple", "lowercase words only but long enough",
    wide("Gongdan-2026-ok"),  # full-width IME input: NFKC makes it GOOD
    "Kx9!" + "north-wind-harbour-" * 3,  # 61 characters
    "The quick brown fox jumps over 13 lazy dogs at Dongtou harbour!!",  # exactly 64
    ("Aa1!" + "flows-of-water-and-time-") * 4 + "Qz9!" * 4,  # 128 characters, the maximum
]
REJECTED = [
    ("", "too short"), ("Ab1!xyz", "too short"), ("Ab1!xyzw9Q", "too short"), ("Zq8#mW2!pL5", "too short"),
    ("abcdefqwzxyk", "3 of"), ("qzwxecrvtbyn", "3 of"), ("QZWXECRV7531", "3 of"), ("mango7river3", "3 of"),
    ("我的密码是洞头一二三四五", "3 of"),
    ("aaaaaaaaaaaaaaaaaaaaaaaa", "predictable"), ("12345678901234567890", "predictable"),
    ("Abcdefgh!234", "predictable"), ("Zz1!Zz1!Zz1!", "predictable"),
    ("Password1234", "too common"), ("Admin@123456", "too common"), ("Qwertyuiop123!", "too common"),
    ("Iloveyou2024!", "too common"), ("P@ssw0rd2026", "too common"), ("Dongtou12345!", "too common"),
    (wide("Password1234"), "too common"),
    ("zhangwei-Pass1", "username"), ("My-ZHANGWEI-2026", "username"),
    ("Aa1!" * 32 + "x", "too long"),
]


def test_the_role_table_is_canonical_and_separates_the_three_admins() -> None:
    assert len(ROLES) == 14 and {"sysadmin", "secadmin", "auditor"} == ADMIN_ROLES
    assert ROLES["dispatcher"].name_zh == "审核派单员" and ROLES["township_reporter"].unit == "township"
    assert check_combination(["operator", "callback"]) == {"operator", "callback"}
    for bad in (["sysadmin", "secadmin"], ["auditor", "secadmin"], ["sysadmin", "operator"], [], ["root"]):
        with pytest.raises(RoleConflict):
            check_combination(bad)


@pytest.mark.parametrize("password", ACCEPTED)
def test_policy_accepts(password: str) -> None:
    assert check(POLICY, password, username="zhangwei") == []


@pytest.mark.parametrize(("password", "why"), REJECTED)
def test_policy_refuses(password: str, why: str) -> None:
    problems = check(POLICY, password, username="ZhangWei")
    assert any(why in p for p in problems), problems


def test_min_length_is_configurable_but_never_below_8() -> None:
    assert check(AccountPolicy(min_length=8, min_strength=2), "Kx9!mw2p") == []
    with pytest.raises(ValueError, match="between 8"):
        AccountPolicy(min_length=7)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A writer session on the test database, with a department and a township."""
    engine = create_db_engine(db_url)
    with writer_sessionmaker(engine)() as s:
        s.add_all([Department(code="jtys", name="区交通运输局", kind="department"),
                   Department(code="beiao", name="北岙街道", kind="township")])
        s.commit()
        yield s
    engine.dispose()


def make(session: Session, username: str = "ZhangWei", roles: tuple[str, ...] = ("operator",),
         **kw: Any) -> AppUser:
    """Create and commit a user with the GOOD password."""
    user = accounts.create_user(session, username=username, password=GOOD, roles=roles, policy=POLICY, now=T0,
                                actor="test", **kw)
    session.commit()
    return user


def login(session: Session, password: str, at: datetime, username: str = "zhangwei") -> accounts.AuthResult:
    """Log in and commit, as the web layer will (failures must persist)."""
    result = accounts.authenticate(session, username, password, now=at, source_ip="10.0.0.7", policy=POLICY)
    session.commit()
    return result


def test_usernames_collide_under_case_and_width(session: Session) -> None:
    make(session)
    for twin in (wide("zhangwei"), "ZHANGWEI", " zhangwei "):
        with pytest.raises(AccountError, match="taken"):
            make(session, twin)
        session.rollback()
    assert accounts.get_user(session, wide("ZhangWei")).username == "ZhangWei"
    for bad in ("13812345678", "a b", "x", "user/../x"):
        with pytest.raises(AccountError):
            make(session, bad)
        session.rollback()


def test_lockout_after_5_failures_refuses_the_right_password_for_30_minutes(session: Session) -> None:
    make(session, must_change_password=False)
    reasons = [login(session, "Wrong-pass-99", T0 + timedelta(minutes=i)).reason for i in range(5)]
    assert reasons == ["bad_password"] * 4 + ["locked_out"]
    locked = login(session, GOOD, T0 + timedelta(minutes=5))
    assert not locked.ok and locked.reason == "locked" and locked.session_epoch is None
    assert login(session, GOOD, T0 + timedelta(minutes=33, seconds=59)).reason == "locked"
    opened = login(session, GOOD, T0 + timedelta(minutes=34))  # 30 minutes after the 5th failure
    assert opened.ok and opened.reason == "ok" and opened.roles == {"operator"}


def test_failures_outside_the_window_do_not_add_up_and_unlock_resets(session: Session) -> None:
    user = make(session, must_change_password=False)
    for i in range(4):
        login(session, "Wrong-pass-99", T0 + timedelta(minutes=i))
    assert login(session, "Wrong-pass-99", T0 + timedelta(minutes=16)).reason == "bad_password"
    for i in range(4):
        login(session, "Wrong-pass-99", T0 + timedelta(minutes=17 + i))
    assert user.locked_until is not None
    accounts.unlock_user(session, user)
    session.commit()
    assert login(session, GOOD, T0 + timedelta(minutes=22)).ok


def test_one_message_for_unknown_wrong_locked_and_disabled(session: Session) -> None:
    make(session, must_change_password=False)
    make(session, "lisi", must_change_password=False)
    unknown = login(session, GOOD, T0, username="nobody")
    wrong = login(session, "Wrong-pass-99", T0)
    for i in range(4):
        login(session, "Wrong-pass-99", T0 + timedelta(seconds=i + 1))
    locked = login(session, GOOD, T0 + timedelta(minutes=1))
    accounts.disable_user(session, accounts.get_user(session, "lisi"))
    session.commit()
    disabled = login(session, GOOD, T0, username="lisi")
    results = [unknown, wrong, locked, disabled]
    assert [r.reason for r in results] == ["unknown_user", "bad_password", "locked", "disabled"]
    assert {r.message for r in results} == {accounts.LOGIN_FAILED} and not any(r.ok for r in results)
    assert "locked" in accounts.LOGIN_FAILED  # the one sentence names every case, so none is singled out


def test_every_attempt_is_recorded_and_unknown_names_only_as_digests(session: Session) -> None:
    user = make(session, must_change_password=False)
    login(session, "Wrong-pass-99", T0)
    login(session, GOOD, T0 + timedelta(seconds=1))
    login(session, GOOD, T0 + timedelta(seconds=2), username="My-Secret-Pass1")  # a password in the name field
    rows = session.scalars(sa.select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [(r.success, r.reason, r.source_ip) for r in rows] == [
        (False, "bad_password", "10.0.0.7"), (True, "ok", "10.0.0.7"), (False, "unknown_user", "10.0.0.7")]
    assert rows[0].username_key == "zhangwei" and rows[2].user_id is None
    assert rows[2].username_key.startswith("#") and "secret" not in rows[2].username_key.casefold()
    history = accounts.login_history(session, user)
    assert [h.success for h in history] == [True, False]


def test_expiry_after_90_days_forces_a_change(session: Session) -> None:
    user = make(session, must_change_password=False)
    fresh = login(session, GOOD, T0 + timedelta(days=89))
    assert fresh.ok and not fresh.must_change_password
    old = login(session, GOOD, T0 + timedelta(days=91))
    assert old.ok and old.must_change_password and old.reason == "password_expired"
    assert user.must_change_password
    accounts.change_password(session, user, GOOD, "Fresh-Start-2027", policy=POLICY, now=T0 + timedelta(days=91))
    session.commit()
    assert login(session, "Fresh-Start-2027", T0 + timedelta(days=92)).reason == "ok"


def test_new_accounts_must_change_at_first_login(session: Session) -> None:
    make(session)
    first = login(session, GOOD, T0)
    assert first.ok and first.must_change_password and first.reason == "must_change"


def test_the_last_5_passwords_cannot_be_reused_and_changes_end_sessions(session: Session) -> None:
    user = make(session)
    epoch = user.session_epoch
    for n in range(1, 5):
        accounts.set_password(session, user, f"Second-Pass-{n}x", policy=POLICY, now=T0 + timedelta(days=n))
    with pytest.raises(PasswordRejected, match="last 5"):
        accounts.set_password(session, user, GOOD, policy=POLICY, now=T0 + timedelta(days=5))
    accounts.set_password(session, user, "Second-Pass-5x", policy=POLICY, now=T0 + timedelta(days=6))
    accounts.set_password(session, user, GOOD, policy=POLICY, now=T0 + timedelta(days=7))  # 6 back: allowed again
    session.commit()
    assert user.session_epoch == epoch + 6
    kept = session.scalars(sa.select(PasswordHistory).where(PasswordHistory.user_id == user.id)).all()
    assert len(kept) == 5 and all(h.password_hash.startswith("$argon2id$") for h in kept)
    with pytest.raises(AccountError, match="current password"):
        accounts.change_password(session, user, "Not-The-Pass-1", "Another-Pass-77", policy=POLICY, now=T0)


def test_three_admins_stay_apart_and_units_are_required(session: Session) -> None:
    admin = make(session, "sec", roles=("secadmin",))
    for roles in (("sysadmin", "auditor"), ("secadmin", "dispatcher")):
        with pytest.raises(RoleConflict, match="三员分立"):
            make(session, "other", roles=roles)
    with pytest.raises(RoleConflict, match="三员分立"):
        accounts.add_role(session, admin, "auditor")
    with pytest.raises(RoleConflict, match="at least one"):
        accounts.remove_role(session, admin, "secadmin")
    epoch = admin.session_epoch
    assert accounts.change_roles(session, admin, add=["auditor"], remove=["secadmin"]) == {"auditor"}
    assert admin.session_epoch == epoch + 1  # a removed right ends open sessions
    with pytest.raises(RoleConflict, match="needs a department"):
        make(session, "handler1", roles=("handler",))
    with pytest.raises(RoleConflict, match="needs a township"):
        make(session, "reporter1", roles=("township_reporter",), department="jtys")
    with pytest.raises(AccountError, match="unknown department"):
        make(session, "handler2", roles=("handler",), department="nope")
    assert make(session, "reporter2", roles=("township_reporter",), department="beiao").department == "beiao"


def test_disabling_ends_sessions_and_a_cost_change_rehashes(session: Session) -> None:
    user = make(session, must_change_password=False)
    stronger = AccountPolicy(time_cost=2, memory_cost=16, parallelism=1)
    assert accounts.authenticate(session, "zhangwei", GOOD, now=T0, source_ip=None, policy=stronger).ok
    assert "m=16,t=2" in user.password_hash
    epoch = user.session_epoch
    accounts.disable_user(session, user)
    assert user.session_epoch == epoch + 1 and not user.active


# --- hotline users ---------------------------------------------------------------------------------------------


@pytest.fixture
def hotline(session: Session, db_url: str) -> CliRunner:
    """A CLI runner on the test database (which has departments), with cheap argon2 settings."""
    return CliRunner(env={"HOTLINE_DATABASE_URL": db_url, **CHEAP})


def run(runner: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> Result:
    """Invoke `hotline ARGS` and check the exit status."""
    result = runner.invoke(cli, list(args), input=stdin, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def dump(db_url: str) -> str:
    """Return every row of every table as text."""
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        text = "\n".join(repr(conn.execute(sa.select(t)).all()) for t in METADATA.sorted_tables)
    engine.dispose()
    return text


def test_cli_create_list_disable_roles_unlock(hotline: CliRunner, db_url: str) -> None:
    secret = "Cli-Secret-Pass-42"
    made = run(hotline, "users", "create", "--username", "WangFang", "--role", "handler", "--department", "jtys",
               "--name", "王芳", "--password-stdin", stdin=secret + "\n")
    assert "created WangFang (handler); must change the password at first login" in made.output
    run(hotline, "users", "create", "--username", "sec1", "--role", "secadmin", "--password-stdin",
        "--no-force-change", stdin=secret + "\n")
    listing = run(hotline, "users", "list").output
    assert "WangFang" in listing and "王芳" in listing and "jtys" in listing and "must change password" in listing
    assert "argon2" not in listing
    run(hotline, "users", "roles", "wangfang", "--add", "callback", "--remove", "handler")
    assert run(hotline, "users", "roles", "WANGFANG").output.strip() == "WangFang: callback"
    failed = run(hotline, "users", "roles", "sec1", "--add", "auditor", code=1)
    assert "三员分立" in failed.output
    run(hotline, "users", "unlock", "wangfang")
    run(hotline, "users", "disable", wide("wangfang"))
    assert "disabled" in run(hotline, "users", "list").output
    run(hotline, "users", "disable", "nobody", code=1)
    everything = dump(db_url)
    assert secret not in everything and secret not in listing + made.output
    assert "user.create" in everything and "user.disable" in everything  # audited in the same transaction


def test_cli_refuses_weak_passwords_duplicates_and_passwords_on_the_command_line(hotline: CliRunner,
                                                                                 db_url: str) -> None:
    weak = run(hotline, "users", "create", "--username", "liu", "--role", "operator", "--password-stdin",
               stdin="Password1234\n", code=2)
    assert "password refused: too common" in weak.output and "Password1234" not in weak.output
    short = run(hotline, "users", "create", "--username", "liu", "--role", "operator", "--password-stdin",
                stdin="Ab1!\n", code=2)
    assert "too short: at least 12 characters" in short.output
    run(hotline, "users", "create", "--username", "liu", "--role", "operator", code=2)  # no --password-stdin
    run(hotline, "users", "create", "--username", "liu", "--role", "root", "--password-stdin", stdin=GOOD, code=2)
    run(hotline, "users", "create", "--username", "liu", "--role", "sysadmin", "--role", "operator",
        "--password-stdin", stdin=GOOD, code=1)
    run(hotline, "users", "create", "--username", "liu", "--role", "operator", "--password-stdin", stdin=GOOD)
    taken = run(hotline, "users", "create", "--username", "LIU", "--role", "operator", "--password-stdin",
                stdin=GOOD, code=1)
    assert "taken" in taken.output
    assert "Password1234" not in dump(db_url) and GOOD not in dump(db_url)
