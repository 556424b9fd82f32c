"""Wake a sleeping scheduler when new work commits: LISTEN/NOTIFY on PostgreSQL, a short poll on SQLite."""

from __future__ import annotations

import threading
from typing import Protocol

import psycopg
from sqlalchemy.engine import make_url

from processes.runtime.jobs import NOTIFY_CHANNEL

SQLITE_POLL_SECONDS = 0.25


class Wakeup(Protocol):
    """Sleep until woken, the timeout passes, or the scheduler is stopped."""

    def wait(self, timeout: float) -> None:
        """Block for at most `timeout` seconds."""

    def close(self) -> None:
        """Release resources."""


class PollWakeup:
    """SQLite has no notifications: sleep in short steps so new work is seen within a fraction of a second."""

    def __init__(self, stop: threading.Event, interval: float = SQLITE_POLL_SECONDS) -> None:
        self.stop = stop
        self.interval = interval

    def wait(self, timeout: float) -> None:
        """Sleep for the shorter of the timeout and the poll interval."""
        self.stop.wait(min(timeout, self.interval))

    def close(self) -> None:
        """Nothing to release."""


class ListenWakeup:
    """PostgreSQL: LISTEN on the jobs channel; commands NOTIFY when they commit new or moved due times."""

    def __init__(self, url: str, stop: threading.Event, slice_seconds: float = 1.0) -> None:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self.stop = stop
        self.slice = slice_seconds  # bound each wait so a stop request is seen promptly

    def wait(self, timeout: float) -> None:
        """Return at the first notification, or when the timeout passes."""
        remaining = timeout
        while remaining > 0 and not self.stop.is_set():
            step = min(remaining, self.slice)
            if any(True for _ in self.conn.notifies(timeout=step, stop_after=1)):
                return
            remaining -= step

    def close(self) -> None:
        """Close the listening connection."""
        self.conn.close()


def wakeup_for(url: str, stop: threading.Event) -> Wakeup:
    """Return the wake-up mechanism that suits the database."""
    return ListenWakeup(url, stop) if url.startswith("postgresql") else PollWakeup(stop)
