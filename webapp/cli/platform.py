"""`hotline platform import FILE`: import upstream orders (民呼我为 / 12345) from a JSON, Excel or CSV file;
`hotline platform webhook add|list|pause|resume|remove`: subscriptions to case events (事件订阅), for the system
administrator.

Row by row through the platform intake form, like the upload page, and prints the same report: one line per row
that was not registered (duplicate or refused, with its reason), then the counts. Exit status 1 when the file
cannot be read at all (nothing imported), 0 otherwise.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from processes.exchange import platform_import
from processes.exchange import webhooks
from webapp import runtime_of
from webapp.cli.support import audited
from webapp.cli.support import friendly_errors
from webapp.platform.orders import CREATED
from webapp.platform.orders import Intake
from webapp.platform.orders import NotDeployed
from webapp.platform.runner import import_rows
from webapp.platform.runner import limits

LABELS = {"created": "已登记", "duplicate": "重复", "refused": "未导入"}


def register(cli: FlaskGroup) -> None:
    """Add the `platform` group (order import)."""

    @cli.group("platform")
    def platform() -> None:
        """Exchange with the upstream platform (上级平台): import order files."""

    @platform.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--all-rows", is_flag=True, help="Print created rows too (default: only rows not registered).")
    @friendly_errors
    def import_command(file: Path, all_rows: bool) -> None:
        """Import the orders of FILE (.json, .xlsx or .csv in UTF-8 or GBK) and print the per-row report."""
        max_bytes, max_rows = limits(current_app)
        actor = str(current_app.config["CLI_ACTOR"])
        with file.open("rb") as handle:
            content = handle.read(max_bytes + 1)
        try:
            source = platform_import.open_file(file.name, content, max_bytes=max_bytes, max_rows=max_rows)
            intake = Intake(runtime_of(current_app), actor=actor, via="cli")
        except (platform_import.FileRefused, NotDeployed) as exc:
            raise click.ClickException(f"{exc}（未导入任何工单）") from exc
        click.echo(f"文件：{file.name}，格式 {source.file_format}"
                   + (f"，编码 {source.encoding}" if source.encoding else "") + f"，共 {source.total} 行")
        with audited("platform.import", actor=actor, object_type="platform_import", object_id=file.name) as note:
            outcomes, counts = import_rows(intake, source)
            note.after = dict(counts)
        for note_text in source.notes:
            click.echo(note_text)
        for outcome in outcomes:
            if all_rows or outcome.outcome != CREATED:
                click.echo(f"第 {outcome.row} 行\t{outcome.order or '-'}\t{LABELS[outcome.outcome]}\t"
                           f"{outcome.reason}\t{outcome.case}".rstrip())
        click.echo(f"已登记 {counts['created']}，重复 {counts['duplicates']}，未导入 {counts['refused']}")

    @platform.group("webhook")
    def webhook() -> None:
        """Subscriptions of secondary development to case events (事件订阅): signed, no personal data."""

    @webhook.command("add")
    @click.argument("name")
    @click.argument("url")
    @click.option("--event", "events", multiple=True, required=True,
                  help=f"Event kinds, comma-separated or repeated: {', '.join(webhooks.EVENTS)}.")
    @click.option("--secret", prompt=True, hide_input=True, confirmation_prompt=False,
                  help="The HMAC signing secret (at least 32 characters); asked for when not given.")
    @friendly_errors
    def add(name: str, url: str, events: tuple[str, ...], secret: str) -> None:
        """Subscribe URL to case events; it receives events from now on, signed with the secret."""
        actor = str(current_app.config["CLI_ACTOR"])
        rt = runtime_of(current_app)
        new = webhooks.NewSubscription(name, url, secret, webhooks.kinds(events))
        try:
            with audited("webhook.subscribe", actor=actor, object_type="webhook", object_id=name,
                         events=list(new.events)) as note, rt.write() as db, db.begin():
                sub = webhooks.subscribe(db, new, actor=actor, now=rt.clock())
                note.write(db)
        except webhooks.SubscriptionInvalid as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"已订阅：{sub.name} → {sub.url}（{'、'.join(sub.events)}），签名密钥编号 {sub.id}")

    @webhook.command("list")
    def list_command() -> None:
        """List the subscriptions (never their secrets)."""
        with runtime_of(current_app).read() as db:
            for sub in webhooks.listing(db):
                state = "在用" if sub.active else "暂停"
                click.echo(f"{sub.name}\t{state}\t{sub.url}\t{','.join(sub.events)}\t{sub.id}")

    @webhook.command("pause")
    @click.argument("name")
    def pause(name: str) -> None:
        """Pause a subscription (events in between are not sent)."""
        _switch(name, False)

    @webhook.command("resume")
    @click.argument("name")
    def resume(name: str) -> None:
        """Resume a subscription from now on."""
        _switch(name, True)

    @webhook.command("remove")
    @click.argument("name")
    @friendly_errors
    def remove(name: str) -> None:
        """Delete a subscription; its queued deliveries are dropped."""
        actor = str(current_app.config["CLI_ACTOR"])
        rt = runtime_of(current_app)
        with audited("webhook.remove", actor=actor, object_type="webhook", object_id=name) as note, \
                rt.write() as db, db.begin():
            if not webhooks.remove(db, name):
                raise click.ClickException(f"没有名为 {name} 的订阅。")
            note.write(db)
        click.echo(f"已删除订阅：{name}")


def _switch(name: str, active: bool) -> None:
    """Pause or resume a subscription, audited."""
    actor = str(current_app.config["CLI_ACTOR"])
    rt = runtime_of(current_app)
    with audited("webhook.resume" if active else "webhook.pause", actor=actor, object_type="webhook",
                 object_id=name) as note, rt.write() as db, db.begin():
        if webhooks.set_active(db, name, active) is None:
            raise click.ClickException(f"没有名为 {name} 的订阅。")
        note.write(db)
    click.echo(f"{'已恢复' if active else '已暂停'}：{name}")
