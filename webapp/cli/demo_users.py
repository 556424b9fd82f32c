"""Demo accounts (演示账号): the office's desks and every handling unit, with generated passwords printed once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.passwords import policy_from_config
from processes.reference.models import Department
from processes.runtime.core import Runtime

# The hotline office's own staff (热线中心): username, real name, roles, unit. The duty rotation
# (reference/duty_rotation.csv) names the dispatchers, supervisors, duty leaders and leaders on duty, so the
# demo's night and weekend tasks land on real accounts. README.md says which desk each account works at.
DEMO_USERS: list[tuple[str, str, tuple[str, ...], str | None]] = [
    ("op1", "王小燕", ("operator",), None),
    ("tr1", "林晓", ("transcriber",), None),
    ("zhang.wei", "张伟", ("dispatcher",), None),
    ("li.na", "李娜", ("dispatcher",), None),
    ("wang.fang", "王芳", ("dispatcher",), None),
    ("zhao.lei", "赵磊", ("dispatcher",), None),
    ("chen.jing", "陈静", ("operator",), None),
    ("ins1", "郑巡查", ("inspector",), None),
    ("cb1", "周回访", ("callback",), None),
    ("sv1", "吴督办", ("supervisor",), None),
    ("sv2", "孙督办", ("supervisor",), None),
    ("dl1", "冯值班长", ("duty_leader",), None),
    ("dl2", "蒋值班长", ("duty_leader",), None),
    ("dl3", "沈值班长", ("duty_leader",), None),
    ("chen.jun", "陈军", ("leader",), None),
    ("lin.hai", "林海", ("leader",), None),
    ("an1", "何分析", ("analyst",), None),
    ("admin1", "系统管理员", ("sysadmin",), None),
    ("sec1", "安全管理员", ("secadmin",), None),
    ("audit1", "审计员", ("auditor",), None),
]
UNIT_KINDS = ("department", "township")
PASSWORD_FILE = "demo-users.txt"  # noqa: S105  (a file name, not a password)


def demo_password() -> str:
    """A random password that meets the policy (four character classes, 16 characters)."""
    return f"{secrets.token_hex(3)}-{secrets.token_hex(3)}-Hx{secrets.randbelow(10)}"


def unit_users(session: Session) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    """Return the accounts of the handling units: a 承办人 (`h.<code>`) for every active department and township,
    and a 民情难题 上报员 (`tw.<code>`) for every township; units added to departments.csv get theirs too."""
    units = session.execute(sa.select(Department.code, Department.name, Department.kind).where(
        Department.active.is_(True), Department.kind.in_(UNIT_KINDS)).order_by(Department.kind, Department.code))
    users: list[tuple[str, str, tuple[str, ...], str | None]] = []
    for code, name, kind in units:
        users.append((f"h.{code}", f"{name}联络员", ("handler",), code))
        if kind == "township":
            users.append((f"tw.{code}", f"{name}上报员", ("township_reporter",), code))
    return users


def seed_users(app: Flask, rt: Runtime) -> list[tuple[str, str, str]]:
    """Create the demo accounts that do not exist yet; return (username, roles, password) of the new ones."""
    policy = policy_from_config(app.config)
    created = []
    with rt.write() as session, session.begin():
        existing = set(session.scalars(sa.select(AppUser.username)))
        for username, name, roles, unit in [*DEMO_USERS, *unit_users(session)]:
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
