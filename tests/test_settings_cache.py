"""Office settings (系统参数) are read once per transaction, and a change made in it is still seen."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event

from handlers.reference.editing import save_setting
from handlers.reference.settings import get_setting
from processes.reference.models import Setting
from processes.runtime.core import Runtime


@contextmanager
def setting_reads(rt: Runtime) -> Iterator[list[str]]:
    """Collect the SELECTs on the setting table sent while the block runs."""
    seen: list[str] = []

    def before(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM setting" in statement:
            seen.append(statement)

    event.listen(rt.db, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(rt.db, "before_cursor_execute", before)


def test_settings_are_read_once_per_transaction_and_again_in_the_next(runtime: Runtime) -> None:
    with runtime.write() as session, session.begin():
        session.add(Setting(name="yellow_share", value="0.4"))
    with setting_reads(runtime) as reads, runtime.write() as session:
        with session.begin():
            values = [get_setting(session, n) for n in ("office_opens_at", "office_closes_at", "emergency_mode",
                                                         "yellow_share", "office_opens_at", "yellow_workdays")]
            assert values == ["08:30", "17:30", False, 0.4, "08:30", 1]
            assert len(reads) == 1
        with runtime.write() as other, other.begin():  # changed by someone else and committed
            other.get_one(Setting, "yellow_share").value = "0.3"
        with session.begin():
            assert get_setting(session, "yellow_share") == 0.3  # a new transaction reads afresh
            assert len(reads) == 3  # one more for the other session's get_one


def test_a_setting_changed_in_the_same_transaction_is_seen(runtime: Runtime) -> None:
    with runtime.write() as session, session.begin():
        assert get_setting(session, "emergency_mode") is False
        save_setting(session, "emergency_mode", "true")  # the reference page's writer (ORM, flushed)
        assert get_setting(session, "emergency_mode") is True
        session.get_one(Setting, "emergency_mode").value = "false"  # not flushed yet
        assert get_setting(session, "emergency_mode") is False
        session.execute(sa.update(Setting).where(Setting.name == "emergency_mode").values(value="是"))
        assert get_setting(session, "emergency_mode") is True
        session.execute(sa.delete(Setting).where(Setting.name == "emergency_mode"))
        assert get_setting(session, "emergency_mode") is False  # the default again
        with session.no_autoflush:
            session.add(Setting(name="yellow_workdays", value="3"))
            assert get_setting(session, "yellow_workdays") == 1  # not written yet: the database's value
        assert get_setting(session, "yellow_workdays") == 3


def test_a_rolled_back_savepoint_takes_its_setting_change_with_it(runtime: Runtime) -> None:
    with runtime.write() as session, session.begin():
        assert get_setting(session, "callback_max_attempts") == 3
        savepoint = session.begin_nested()
        save_setting(session, "callback_max_attempts", "5")
        assert get_setting(session, "callback_max_attempts") == 5
        savepoint.rollback()
        assert get_setting(session, "callback_max_attempts") == 3
        with session.begin_nested():  # a released savepoint keeps what it wrote
            save_setting(session, "callback_max_attempts", "6")
        assert get_setting(session, "callback_max_attempts") == 6
    with runtime.write() as session, session.begin():
        assert get_setting(session, "callback_max_attempts") == 6
