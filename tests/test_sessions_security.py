"""Sessions (S3.5, PII-05): a third concurrent session raises an alert; old session rows are purged nightly; the
scheduler anchors the audit chain daily."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from processes.accounts.models import UserSession
from processes.audit import anchor as audit_anchor
from processes.clock import FrozenClock
from processes.runtime.models import OutboxMessage
from tests.web_support import add_user
from tests.web_support import audit_rows
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from tests.web_support import user_row
from tests.web_support import web_app
from webapp import runtime_of
from webapp.scheduler import daily_anchor
from webapp.scheduler import nightly_retention


@pytest.fixture
def app(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Flask]:
    yield from web_app(db_url, clock, AUDIT_ANCHOR_PATH=str(tmp_path / "anchors.jsonl"))


def notices(app: Flask) -> list[OutboxMessage]:
    """Messages queued for the security administrators."""
    with runtime_of(app).read() as db:
        return list(db.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "internal")))


def flashed(client: FlaskClient) -> object:
    """Messages waiting to be shown to this browser."""
    with client.session_transaction() as session:
        return session.get("_flashes")


def test_a_third_concurrent_session_raises_an_alert_and_lets_the_user_in(app: Flask, clock: FrozenClock) -> None:
    add_user(app, "zhangwei", "operator")
    browsers = [app.test_client() for _ in range(4)]
    for browser in browsers[:2]:
        assert location(login(browser, "zhangwei")) == "/"
    assert audit_rows(app, "session.concurrent_alert") == [] and notices(app) == []

    third = login(browsers[2], "zhangwei")
    assert third.status_code == 302 and location(third) == "/" and flashed(browsers[2]) is None
    [alert] = audit_rows(app, "session.concurrent_alert")
    assert (alert["result"], alert["actor"], alert["role"], alert["detail"]) == (
        "alert", "zhangwei", "operator", {"open_sessions": 3, "limit": 2})
    assert len(alert["session_hash"]) == 64 and alert["source_ip"] == "127.0.0.1" and alert["request_id"]
    [notice] = notices(app)
    assert (notice.kind, notice.status) == ("security.concurrent_sessions", "pending")
    assert (notice.payload["schema"], notice.payload["to"]["code"], notice.payload["user_id"],
            notice.payload["detail"]) == ("hotline.outbox.internal", "secadmin", user_row(app, "zhangwei").id,
                                          {"open_sessions": 3, "limit": 2})
    assert "zhangwei" not in str(notice.payload)  # the account name is read when the notice is shown

    for browser in browsers[:2]:
        assert location(post(browser, "/auth/logout")) == "/auth/login"
    login(browsers[3], "zhangwei")  # two open again: within the limit
    assert len(audit_rows(app, "session.concurrent_alert")) == 1
    clock.advance(hours=13)  # past the absolute timeout, old sessions no longer count
    login(browsers[0], "zhangwei")
    assert len(audit_rows(app, "session.concurrent_alert")) == 1 and len(notices(app)) == 1


def test_the_limit_is_configurable(db_url: str, clock: FrozenClock) -> None:
    for limit, alerts in ((0, 0), (1, 2)):
        for one in web_app(db_url, clock, MAX_CONCURRENT_SESSIONS=limit):
            add_user(one, f"user{limit}")
            for _ in range(3):
                login(one.test_client(), f"user{limit}")
            assert len(audit_rows(one, "session.concurrent_alert")) == alerts


def test_browsers_closed_without_logout_stop_counting_once_idle(app: Flask, clock: FrozenClock) -> None:
    add_user(app, "lina", "operator")
    working, closed, polling = (app.test_client() for _ in range(3))
    for browser in (working, closed, polling):
        login(browser, "lina")  # the third already alerts: three live sessions
    assert len(audit_rows(app, "session.concurrent_alert")) == 1
    clock.advance(minutes=20)
    assert working.get("/").status_code == 200  # in use
    polling.get("/worklist/rows", headers={"X-Background-Refresh": "1"})  # a tab left open: polling is not use
    clock.advance(minutes=20)  # `closed` was shut without logout 40 minutes ago, `polling` idle as long
    login(app.test_client(), "lina")  # an ordinary login the next time round: working + this one are live
    assert len(audit_rows(app, "session.concurrent_alert")) == 1 and len(notices(app)) == 1
    login(app.test_client(), "lina")  # a third live one is still an alert
    alerts = audit_rows(app, "session.concurrent_alert")
    assert len(alerts) == 2 and alerts[-1]["detail"] == {"open_sessions": 3, "limit": 2}
    with runtime_of(app).read() as db:  # the closed browsers' rows stay open until they time out or are purged
        assert db.scalar(sa.select(sa.func.count()).select_from(UserSession).where(UserSession.ended_at.is_(None))) == 5


def test_nightly_retention_purges_old_session_rows_and_audits_it(app: Flask, clock: FrozenClock) -> None:
    user_id = add_user(app, "lina")
    now = clock()
    rows = {"ended-long-ago": (now - timedelta(days=40), now - timedelta(days=31)),
            "ended-yesterday": (now - timedelta(days=2), now - timedelta(days=1)),
            "expired-long-ago": (now - timedelta(days=40), None),
            "open-now": (now - timedelta(hours=1), None)}
    with runtime_of(app).write() as db, db.begin():
        db.add_all(UserSession(id=key.ljust(64, "0"), user_id=user_id, created_at=created, ended_at=ended)
                   for key, (created, ended) in rows.items())
    assert nightly_retention(app) == {"jobs": 0, "sessions": 2}
    with runtime_of(app).read() as db:
        left = sorted(s.rstrip("0") for s in db.scalars(sa.select(UserSession.id)))
    assert left == ["ended-yesterday", "open-now"]
    [purged] = audit_rows(app, "session.purge")
    assert purged["actor"] == "system:timer" and purged["detail"] == {"deleted": 2}
    assert nightly_retention(app) == {"jobs": 0, "sessions": 0} and len(audit_rows(app, "session.purge")) == 1


def test_the_daily_job_seals_and_anchors_the_chain(app: Flask, tmp_path: Path) -> None:
    add_user(app, "wangfang")
    login(app.test_client(), "wangfang")
    daily_anchor(app, b"k" * 32)
    [first] = audit_anchor.read_anchors(tmp_path / "anchors.jsonl")
    assert first.seq == len(audit_rows(app)) - 1  # everything before the anchor's own row was sealed
    assert audit_rows(app, "audit.anchor")[0]["detail"]["seq"] == first.seq
