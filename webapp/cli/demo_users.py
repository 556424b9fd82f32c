"""Demo accounts (演示账号): one or more per role, with generated passwords printed once and kept in the instance."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask

from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.passwords import policy_from_config
from processes.runtime.core import Runtime

# username, real name, roles, department or township; the duty roster (reference/duty_roster.csv) names the
# dispatchers and the leader on duty, so the demo's weekend tasks land on real accounts.
DEMO_USERS: list[tuple[str, str, tuple[str, ...], str | None]] = [
    ("op1", "王小燕", ("operator",), None),
    ("tr1", "林晓", ("transcriber",), None),
    ("zhang.wei", "张伟", ("dispatcher",), None),
    ("li.na", "李娜", ("dispatcher",), None),
    ("wang.fang", "王芳", ("dispatcher",), None),
    ("chen.jing", "陈静", ("operator",), None),
    ("h.sthj", "生态环境分局联络员", ("handler",), "sthj"),
    ("h.zjj", "住建局联络员", ("handler",), "zjj"),
    ("h.zhzf", "综合执法局联络员", ("handler",), "zhzf"),
    ("h.scjg", "市场监管局联络员", ("handler",), "scjg"),
    ("tw.luxi", "鹿西乡上报员", ("township_reporter",), "luxi"),
    ("ins1", "郑巡查", ("inspector",), None),
    ("cb1", "周回访", ("callback",), None),
    ("sv1", "吴督办", ("supervisor",), None),
    ("dl1", "冯值班长", ("duty_leader",), None),
    ("chen.jun", "陈军", ("leader",), None),
    ("an1", "何分析", ("analyst",), None),
    ("admin1", "系统管理员", ("sysadmin",), None),
    ("sec1", "安全管理员", ("secadmin",), None),
    ("audit1", "审计员", ("auditor",), None),
]
PASSWORD_FILE = "demo-users.txt"  # noqa: S105  (a file name, not a password)


def demo_password() -> str:
    """A random password that meets the policy (four character classes, 16 characters)."""
    return f"{secrets.token_hex(3)}-{secrets.token_hex(3)}-Hx{secrets.randbelow(10)}"


def seed_users(app: Flask, rt: Runtime) -> list[tuple[str, str, str]]:
    """Create the demo accounts that do not exist yet; return (username, roles, password) of the new ones."""
    policy = policy_from_config(app.config)
    created = []
    with rt.write() as session, session.begin():
        existing = set(session.scalars(sa.select(AppUser.username)))
        for username, name, roles, unit in DEMO_USERS:
            if username in existing:
                continue
            password = demo_password()
            # demo accounts skip the first-login change so the demo opens at once; real accounts never do
            accounts.create_user(session, username=username, password=password, roles=roles, policy=policy,
                                 now=rt.clock(), actor="demo", real_name=name, department=unit,
                                 must_change_password=False)
            created.append((username, ",".join(roles), password))
    if created:
        _keep(Path(app.instance_path) / PASSWORD_FILE, created)
    return created


def _keep(path: Path, created: list[tuple[str, str, str]]) -> None:
    """Append the new demo passwords to a file only the owner can read (the demo prints them once)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.writelines(f"{user}\t{roles}\t{password}\n" for user, roles, password in created)


def print_users(created: list[tuple[str, str, str]], path: Path) -> None:
    """Show the new accounts and where their passwords are kept."""
    if not created:
        click.echo(f"demo accounts exist; passwords in {path}")
        return
    click.echo("\n演示账号 demo accounts (password shown once; also in " + str(path) + "):")
    for user, roles, password in created:
        click.echo(f"  {user:<11} {roles:<18} {password}")
