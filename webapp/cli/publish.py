"""`hotline publish`: put a deployed process version live, by a second person with a TOTP code (流程发布).

The rule (who, which code) is `processes.runtime.publishing`; this command reads the code from standard input (never
from the command line, where `ps` and the shell history see it) and audits every attempt as `definition.publish`:
success with the version and its sha256, or `denied` with the reason, in the same transaction as the publication or
the publisher's TOTP counters. A refusal exits with status 2.
"""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import FlaskGroup

from processes.accounts import users as accounts
from processes.accounts.passwords import policy_from_config
from processes.audit import record as audit
from processes.clock import wall_clock
from processes.modeling import versions
from processes.runtime import publishing
from processes.runtime.core import Runtime
from processes.runtime.models import ProcessDefinition
from webapp import runtime_of
from webapp.cli.support import audited
from webapp.cli.support import friendly_errors

REFUSED = 2  # the exit status of a refused publication
MESSAGES = {
    "no_publisher": "give --publisher USERNAME (a system administrator other than who deployed the version) "
                    "and --totp-stdin with their current code on standard input",
    "unknown_publisher": "no active system administrator (sysadmin) account of that name",
    "disabled": "no active system administrator (sysadmin) account of that name",
    "not_allowed": "only a system administrator (sysadmin) publishes process versions",
    "same_person": "the publisher deployed this version; a second person must publish it (AC-04)",
    "no_code": "no TOTP code on standard input (--totp-stdin)",
    "invalid": "the version has validation errors (above); fix them in a new version, which is then published",
    "not_enrolled": "the publisher has no second factor (TOTP) enrolled; enrol it on the web first",
}
CODE_REFUSED = "wrong or already used TOTP code, or the account is locked"


def _read_code() -> str:
    """Read one code line from standard input."""
    return sys.stdin.read().strip()[:16]


def _deny_without_check(key: str, version: int, reason: str) -> None:
    """Audit a publish refused before any account was checked (options missing) and exit with status 2."""
    with runtime_of(current_app).write() as session, session.begin():
        audit.record(session, action="definition.publish", actor=str(current_app.config["CLI_ACTOR"]),
                     result="denied", at=runtime_of(current_app).clock(), object_type="process_definition",
                     object_id=f"{key} v{version}", detail={"via": "cli", "reason": reason})
    click.echo(f"publish refused: {MESSAGES[reason]}", err=True)
    raise click.exceptions.Exit(REFUSED)


def _refuse_invalid(rt: Runtime, key: str, version: int) -> None:
    """Refuse (audited, exit 2) a version whose diagrams have validation errors; warnings do not block."""
    with rt.read() as session:
        row = session.scalar(sa.select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                                ProcessDefinition.version == version))
        report = versions.check(row, {k: str(v) for k, v in row.files.items()}, rt.handlers) if row else None
    if report is None or report.ok:
        return  # an unknown version is answered by publish_by, as before
    for problem in report.errors:
        click.echo(problem.one_line(), err=True)
    _deny_without_check(key, version, "invalid")


def register(cli: FlaskGroup) -> None:
    """Add the `publish` command to the `hotline` group."""

    @cli.command("publish")
    @click.argument("key")
    @click.argument("version", type=int)
    @click.option("--publisher", help="Username of the system administrator (sysadmin) publishing; not the one "
                                      "who deployed the version.")
    @click.option("--totp-stdin", is_flag=True, help="Read the publisher's current TOTP code from standard input.")
    @friendly_errors
    def publish_command(key: str, version: int, publisher: str | None, totp_stdin: bool) -> None:
        """Publish a deployed version for new cases: a second person, with their TOTP code (else exit 2)."""
        if not publisher or not totp_stdin:
            _deny_without_check(key, version, "no_publisher")
        code = _read_code() or None
        rt = runtime_of(current_app)
        _refuse_invalid(rt, key, version)  # before the code is checked: a refused version does not use it up
        fallback = str(current_app.config["CLI_ACTOR"])
        with audited("definition.publish", actor=fallback, object_type="process_definition",
                     object_id=f"{key} v{version}") as note, rt.write() as session, session.begin():
            outcome = publishing.publish_by(session, key, version, publisher=str(publisher), code=code,
                                            now=rt.clock(), policy=policy_from_config(current_app.config),
                                            code_at=wall_clock(rt.clock)())  # the phone keeps real time
            user = outcome.publisher
            audit.record(  # the publisher is the actor when the account exists (an unknown name is not recorded)
                session, action="definition.publish", actor=user.username if user else fallback,
                role=",".join(sorted(accounts.roles_of(session, user))) or None if user else None,
                result="success" if outcome.ok else "denied", at=rt.clock(), object_type="process_definition",
                object_id=f"{key} v{version}",
                after={"version": version, "sha256": outcome.sha256, "status": "published"} if outcome.ok else None,
                detail={"via": "cli", "reason": outcome.reason, "uploaded_by": outcome.uploaded_by,
                        **({"already_published": True} if outcome.was_published else {})})
            note.written = True  # in the publication's transaction (or with the refused attempt's TOTP counters)
        if not outcome.ok:
            click.echo(f"publish refused: {MESSAGES.get(outcome.reason, CODE_REFUSED)}", err=True)
            raise click.exceptions.Exit(REFUSED)
        click.echo(f"{key} v{version} published by {outcome.publisher.username if outcome.publisher else '?'} "
                   f"(sha256 {outcome.sha256[:12]})")
