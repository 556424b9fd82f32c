"""Issue 16, findings 6 and 7: look-alike usernames and guessable passphrases are refused on the web and in
`hotline users create` (exit 2), with zxcvbn's advice in Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask import Flask

from processes.accounts import lookalike
from processes.accounts import users as accounts
from processes.accounts.passwords import AccountPolicy
from processes.accounts.passwords import check
from processes.clock import FrozenClock
from processes.reference.models import Department
from tests.admin_support import sign_in
from tests.web_support import CHEAP
from tests.web_support import PASSWORD
from tests.web_support import add_user
from tests.web_support import audit_rows
from tests.web_support import login
from tests.web_support import post
from tests.web_support import web_app
from webapp import runtime_of
from webapp.cli import cli

CYRILLIC_OP1 = "\u043ep1"  # op1 with a Cyrillic o (U+043E)
WEAK = "password password password"


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


@pytest.mark.parametrize(("name", "why"), [
    (CYRILLIC_OP1, "mixes scripts"),  # Cyrillic with Latin
    ("0p1", "looks like"), ("OPL", "looks like"), ("op\u0406", "mixes scripts"),  # digit 0, l, Ukrainian I
    ("\uff4f\uff50\uff11", "taken"),  # full-width op1: the same key already
])
def test_look_alike_usernames_are_refused_beside_an_existing_one(app: Flask, name: str, why: str) -> None:
    add_user(app, "op1", "operator")
    with pytest.raises(accounts.AccountError, match=why):
        add_user(app, name, "operator")
    add_user(app, "op2", "operator")  # a different name still goes through
    add_user(app, "张伟zw", "operator")  # Latin with Han is one writing system here


def test_skeletons_follow_the_unicode_table() -> None:
    key = accounts.username_key
    assert lookalike.skeleton(key(CYRILLIC_OP1)) == lookalike.skeleton(key("op1")) == lookalike.skeleton(key("0P1"))
    assert lookalike.skeleton(key("mike")) == lookalike.skeleton(key("rnike"))  # 'm' and 'rn'
    assert lookalike.skeleton(key("op1")) != lookalike.skeleton(key("op2"))
    assert lookalike.mixed_script(CYRILLIC_OP1) and not lookalike.mixed_script("zhang张") \
        and not lookalike.mixed_script("wang.fang-2")


def test_the_administrator_cannot_create_a_look_alike_account(app: Flask, clock: FrozenClock) -> None:
    add_user(app, "op1", "operator")
    admin = sign_in(app, clock, "admin1", "sysadmin")
    answer = post(admin, "/admin/users/new", {"username": CYRILLIC_OP1, "real_name": "王建", "roles": "operator"})
    assert answer.status_code == 400
    assert "不能混用不同文字的字母" in answer.get_data(as_text=True)
    answer = post(admin, "/admin/users/new", {"username": "0p1", "real_name": "王建", "roles": "operator"})
    assert answer.status_code == 400 and "形近易混" in answer.get_data(as_text=True)
    with runtime_of(app).read() as db:
        assert [u.username for u, _ in accounts.list_users(db)] == ["admin1", "op1"]
    refused = [r for r in audit_rows(app, "user.create") if r["result"] != "success"]
    assert len(refused) == 2 and all(r["detail"]["fields"] == ["username"] for r in refused)


def test_the_command_line_refuses_a_look_alike_with_exit_2(db_url: str, app: Flask) -> None:
    with runtime_of(app).write() as db, db.begin():
        db.add(Department(code="jtys", name="区交通运输局", kind="department"))
    hotline = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, **{f"HOTLINE_{k}": str(v) for k, v in CHEAP.items()}})
    made = hotline.invoke(cli, ["users", "create", "--username", "op1", "--role", "operator", "--password-stdin"],
                          input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    for name in (CYRILLIC_OP1, "0p1"):
        refused = hotline.invoke(cli, ["users", "create", "--username", name, "--role", "operator",
                                       "--password-stdin"], input=PASSWORD + "\n")
        assert refused.exit_code == 2, refused.output
        assert "username refused" in refused.output


def test_zxcvbn_refuses_what_the_composition_rules_let_through() -> None:
    policy = AccountPolicy(time_cost=1, memory_cost=8, parallelism=1)
    problems = check(policy, WEAK, username="op1")
    assert problems[0] == "too guessable: strength 2 of 4, at least 3 needed"
    assert any(p.startswith("hint: ") for p in problems)
    assert check(AccountPolicy(min_strength=0), WEAK) == []  # the rules alone (what passed before)
    assert check(policy, "Haibian#Fengjing-9", username="op1") == []
    with pytest.raises(ValueError, match="PASSWORD_MIN_STRENGTH"):
        AccountPolicy(min_strength=5)


def test_the_command_line_refuses_a_weak_passphrase_with_exit_2(db_url: str, app: Flask) -> None:
    hotline = CliRunner(env={"HOTLINE_DATABASE_URL": db_url, **{f"HOTLINE_{k}": str(v) for k, v in CHEAP.items()}})
    weak = hotline.invoke(cli, ["users", "create", "--username", "liu", "--role", "operator", "--password-stdin"],
                          input=WEAK + "\n")
    assert weak.exit_code == 2, weak.output
    assert "password refused: too guessable" in weak.output and WEAK not in weak.output
    with runtime_of(app).read() as db:
        assert accounts.find_user(db, "liu") is None


def test_changing_to_a_weak_passphrase_shows_the_advice_in_chinese(app: Flask) -> None:
    add_user(app, "zhou", "operator")
    client = app.test_client()
    assert login(client, "zhou").status_code == 302
    answer = post(client, "/auth/change-password", {"old": PASSWORD, "new": WEAK, "confirm": WEAK})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "密码容易被猜中：强度 2/4，至少需要 3。" in html and "避免重复的词和字符。" in html
    assert "Repeats like" not in html  # no English left
