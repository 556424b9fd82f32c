"""`hotline users` commands: create, list, disable, change roles and unlock accounts (账号管理)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click
from flask import current_app
from flask.cli import FlaskGroup
from sqlalchemy.orm import Session

from processes.accounts import totp
from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.passwords import policy_from_config
from processes.accounts.roles import ROLES
from webapp import runtime_of
from webapp.cli.handover_held import hand_over_held
from webapp.cli.support import audited
from webapp.cli.support import friendly_errors

INVALID_INPUT = 2  # the exit status of a refused password, like click's usage errors
ROLE_CHOICE = click.Choice(list(ROLES))


def _actor(actor: str | None) -> str:
    """Return the acting user: the option, else the configured CLI actor."""
    return actor or str(current_app.config["CLI_ACTOR"])


def _read_password() -> str:
    """Read one password line from standard input (never from the command line, where `ps` and history see it)."""
    text = sys.stdin.read()
    password = text.removesuffix("\n").removesuffix("\r")
    if "\n" in password:
        raise click.UsageError("give one password line on standard input")
    return password


def register(cli: FlaskGroup) -> None:
    """Add the `users` command group to the `hotline` group."""

    @cli.group("users")
    def users_group() -> None:
        """User accounts (账号): real-name users with a unit and roles; no default accounts exist."""

    @users_group.command("create")
    @click.option("--username", required=True)
    @click.option("--role", "roles", multiple=True, required=True, type=ROLE_CHOICE,
                  help="Role code; repeat for more (三员分立: an admin role stands alone).")
    @click.option("--department", help="Code of the user's department or township (承办单位/乡镇街道).")
    @click.option("--name", "real_name", default="", help="Real name (实名).")
    @click.option("--password-stdin", is_flag=True, help="Read the initial password from standard input.")
    @click.option("--force-change/--no-force-change", default=True, show_default=True,
                  help="Make the user change the password at first login.")
    @click.option("--actor")
    @friendly_errors
    def create_command(username: str, roles: tuple[str, ...], department: str | None, real_name: str,
                       password_stdin: bool, force_change: bool, actor: str | None) -> None:
        """Create an account; the password comes from standard input and must pass the policy (else exit 2)."""
        if not password_stdin:
            raise click.UsageError("pass the password on standard input with --password-stdin, never as an argument")
        password = _read_password()
        rt, who = runtime_of(current_app), _actor(actor)
        with audited("user.create", actor=who, object_type="app_user") as note:
            try:
                with rt.write() as session, session.begin():
                    user = accounts.create_user(
                        session, username=username, password=password, roles=roles, real_name=real_name,
                        department=department, policy=policy_from_config(current_app.config), now=rt.clock(),
                        actor=who, must_change_password=force_change)
                    note.object_id = user.username
                    note.after = {"roles": sorted(roles), "department": department, "must_change": force_change}
                    note.write(session)  # in the creation's transaction
            except accounts.PasswordRejected as exc:
                note.error = "PasswordRejected"
                for problem in exc.problems:
                    click.echo(f"password refused: {problem}", err=True)
                raise click.exceptions.Exit(INVALID_INPUT) from None
            except accounts.UsernameRefused as exc:  # a look-alike name is bad input, like a weak password
                note.error = "UsernameRefused"
                click.echo(f"username refused: {exc}", err=True)
                raise click.exceptions.Exit(INVALID_INPUT) from None
        change = "must change the password at first login" if force_change else "password need not be changed"
        click.echo(f"created {user.username} ({', '.join(sorted(roles))}); {change}")

    @users_group.command("list")
    def list_command() -> None:
        """List accounts: username, real name, unit, roles and state (never password hashes)."""
        rt = runtime_of(current_app)
        with rt.read() as session:
            rows = accounts.list_users(session)
        now = rt.clock()
        for user, held in rows:
            state = ["active" if user.active else "disabled"]
            if user.locked_until is not None and user.locked_until > now:
                state.append(f"locked until {user.locked_until:%Y-%m-%d %H:%M}Z")
            if user.must_change_password:
                state.append("must change password")
            click.echo(f"{user.username:<20} {user.real_name or '-':<12} {user.department or '-':<10} "
                       f"{','.join(sorted(held)):<30} {'; '.join(state)}")

    def account_action(name: str, action: str, change: Callable[[Session, AppUser], None], done: str,
                       summary: str) -> None:
        """Register `users NAME USERNAME`: one audited change to one account, in one transaction."""

        @users_group.command(name, help=summary)
        @click.argument("username")
        @click.option("--actor")
        @friendly_errors
        def command(username: str, actor: str | None) -> None:
            rt = runtime_of(current_app)
            with audited(action, actor=_actor(actor), object_type="app_user") as note, \
                    rt.write() as session, session.begin():
                user = accounts.get_user(session, username)
                change(session, user)
                note.object_id = user.username
                note.write(session)
            click.echo(done.format(user.username))

    @users_group.command("disable")
    @click.argument("username")
    @click.option("--tasks-to", "tasks_to", metavar="USERNAME",
                  help="Colleague who receives the open tasks the account holds (those they may work on); "
                       "by default, and for the rest, the tasks go back to their group (退回待认领).")
    @click.option("--actor")
    @friendly_errors
    def disable_command(username: str, tasks_to: str | None, actor: str | None) -> None:
        """Disable an account, end its sessions and hand its open tasks over in the same transaction."""
        rt, who = runtime_of(current_app), _actor(actor)
        with audited("user.disable", actor=who, object_type="app_user") as note, \
                rt.write() as session, session.begin():
            user = accounts.get_user(session, username)
            moved = hand_over_held(session, user.username, tasks_to, actor=who, at=rt.clock())
            accounts.disable_user(session, user)
            note.object_id = user.username
            note.after = {"active": False, **moved} if moved else None  # as the admin page records it
            note.write(session)
        given, back = moved.get("tasks_given", 0), moved.get("tasks_to_group", 0)
        click.echo(f"disabled {user.username}; its sessions are ended"
                   + (f"; {given} task(s) to {tasks_to}, {back} back to their group" if given or back else ""))

    account_action("unlock", "user.unlock", accounts.unlock_user, "unlocked {}",
                   "Lift a lockout after failed logins.")
    account_action("reset-totp", "user.reset_totp", lambda _session, user: totp.reset(user),
                   "second factor of {} removed; its sessions are ended",
                   "Remove a user's second factor (动态口令, e.g. a lost phone) and end their sessions; "
                   "they enrol again.")

    @users_group.command("roles")
    @click.argument("username")
    @click.option("--add", multiple=True, type=ROLE_CHOICE, help="Role to give; repeatable.")
    @click.option("--remove", multiple=True, type=ROLE_CHOICE, help="Role to take away; repeatable.")
    @click.option("--actor")
    @friendly_errors
    def roles_command(username: str, add: tuple[str, ...], remove: tuple[str, ...], actor: str | None) -> None:
        """Show a user's roles, or add and remove some (三员分立 enforced on the result)."""
        rt = runtime_of(current_app)
        if not add and not remove:
            with rt.read() as session:
                user = accounts.get_user(session, username)
                click.echo(f"{user.username}: {', '.join(sorted(accounts.roles_of(session, user)))}")
            return
        with audited("user.roles", actor=_actor(actor), object_type="app_user") as note, \
                rt.write() as session, session.begin():
            user = accounts.get_user(session, username)
            before = sorted(accounts.roles_of(session, user))
            held = accounts.change_roles(session, user, add=add, remove=remove)
            note.object_id, note.after = user.username, {"roles_before": before, "roles": sorted(held)}
            note.write(session)
        click.echo(f"{user.username}: {', '.join(sorted(held))}")
