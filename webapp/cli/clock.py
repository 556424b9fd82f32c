"""`hotline clock`: show, set, advance or reset the demo clock (演示时钟) that every process of the instance shares.

The clock lives in the instance folder (`webapp.democlock`), so the web server and the schedulers follow a move at
their next look at the clock; sleeping PostgreSQL schedulers are woken at once (SQLite ones poll). Refused, like
every command, when HOTLINE_ENV=production.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import FlaskGroup
from sqlalchemy.exc import SQLAlchemyError

from processes.clock import system_clock
from processes.runtime import jobs
from webapp import democlock
from webapp import runtime_of
from webapp.timefmt import local_time


def _show() -> None:
    """Print the clock as every process of the instance sees it now."""
    store = democlock.store_of(current_app)
    state = store.state()
    now = runtime_of(current_app).clock()
    if state is None:
        click.echo(f"实际时间（未使用演示时钟）：{local_time(now)}")
        return
    click.echo(democlock.describe(state, now))
    sign = "-" if state.offset < timedelta() else "+"
    click.echo(f"offset {sign}{democlock.spoken(state.offset)} from real time; moved {local_time(state.set_at)} by "
               f"{state.set_by}{f'; recorded from HOTLINE_CLOCK={state.from_setting}' if state.from_setting else ''}"
               f"; file {store.path}")


def _moved() -> None:
    """Show the new time and wake sleeping schedulers so they look at what is due by it."""
    _show()
    try:
        jobs.wake_schedulers(runtime_of(current_app))
    except SQLAlchemyError as exc:  # no database yet: schedulers that start later read the clock anyway
        click.echo(f"schedulers not woken ({type(exc).__name__}); they see the new time within seconds", err=True)


def register(cli: FlaskGroup) -> None:
    """Add the `clock` command group."""

    @cli.group("clock")
    def clock_group() -> None:
        """The demo clock (演示时钟): run training and demos at another time; never in production."""

    @clock_group.command("show")
    def show_command() -> None:
        """Print the time every process of this instance uses, and how far it is moved."""
        _show()

    # ignore_unknown_options: `hotline clock set -2h` is an offset, not an unknown option -2
    @clock_group.command("set", context_settings={"ignore_unknown_options": True})
    @click.argument("setting")
    def set_command(setting: str) -> None:
        """Move the clock to an offset (+3d, -2h, +1w) or a start time (2027-01-29T22:00+08:00)."""
        try:
            offset = democlock.parse_setting(setting, system_clock())
        except democlock.ClockSettingError as exc:
            raise click.BadParameter(str(exc), param_hint="SETTING") from exc
        democlock.store_of(current_app).move(offset, by=f"hotline clock set {setting}")
        _moved()

    @clock_group.command("advance", context_settings={"ignore_unknown_options": True})
    @click.argument("duration")
    def advance_command(duration: str) -> None:
        """Move the clock forward by a duration (2d, 3h, 1w, 1d12h, 90m); due timers fire."""
        try:
            step = democlock.parse_duration(duration)
        except democlock.ClockSettingError as exc:
            raise click.BadParameter(str(exc), param_hint="DURATION") from exc
        if step <= timedelta():
            raise click.BadParameter("advance moves forward; `hotline clock set` goes anywhere",
                                     param_hint="DURATION")
        store = democlock.store_of(current_app)
        store.move(store.offset() + step, by=f"hotline clock advance {duration}")
        _moved()

    @clock_group.command("reset")
    def reset_command() -> None:
        """Go back to real time."""
        removed = democlock.store_of(current_app).remove()
        click.echo("back to real time" if removed else "the clock was not moved")
        if democlock.configured(current_app.config):
            click.echo("HOTLINE_CLOCK is still set here: the next command started with it moves the clock again",
                       err=True)
        if removed:
            _moved()
