"""The outbox page (消息): who may open it, masked content and errors, filters and paging, audited resend."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from processes.accounts.roles import ROLE_CODES
from processes.runtime import outbox
from processes.runtime.models import OutboxMessage
from tests.intake_support import PHONE
from tests.intake_support import office_app
from tests.intake_support import office_url
from tests.intake_support import open_case
from tests.intake_support import signed_in
from tests.lifecycle_support import at
from tests.web_support import audit_rows
from tests.web_support import post
from webapp import runtime_of

OUTBOX_ROLES = {"supervisor", "duty_leader", "leader", "transcriber"}
ROW_RE = re.compile(r'<tr data-message="(\d+)"')


@pytest.fixture
def both(db_url: str, office_template: Path, tmp_path: Path) -> Iterator[Flask]:
    yield from office_app(office_url(db_url, office_template, tmp_path))


def queue(app: Flask, channel: str = "sms", kind: str = "urging", *, case_id: str | None = None,
          status: str = "pending", when: str = "2026-11-25T09:00:00", error: str | None = None,
          **payload: Any) -> int:
    """Put one message in the outbox as a command would, then give it a status; return its id."""
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        key = f"test:{channel}:{kind}:{db.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))}"
        outbox.enqueue(db, channel=channel, kind=kind, payload={"v": 1, **payload}, key=key, now=at(when),
                       case_id=case_id)
        message = db.scalars(sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()
        message.status, message.last_error = status, error
        message.attempts = 5 if status == "failed" else 0
        return message.id


def shown(client: FlaskClient, **args: str) -> list[int]:
    """The message ids the page lists, in order."""
    response = client.get("/monitor/outbox", query_string=args)
    assert response.status_code == 200
    return [int(i) for i in ROW_RE.findall(response.get_data(as_text=True))]


def status_of(app: Flask, message_id: int) -> str:
    """A message's status as stored."""
    with runtime_of(app).read() as db:
        return str(db.scalar(sa.select(OutboxMessage.status).where(OutboxMessage.id == message_id)))


def test_every_role_may_or_may_not_open_the_outbox(both: Flask) -> None:
    failed = queue(both, status="failed")
    for role in sorted(ROLE_CODES):
        unit = {"handler": "sthj", "township_reporter": "luxi"}.get(role)
        client = signed_in(both, f"u-{role}", role, department=unit)
        expected = 200 if role in OUTBOX_ROLES else 403
        assert client.get("/monitor/outbox").status_code == expected, role
        if role not in OUTBOX_ROLES:
            assert post(client, f"/monitor/outbox/{failed}/resend").status_code == 403, role
    assert status_of(both, failed) == "failed"


def test_personal_data_in_a_message_and_its_error_shows_masked(both: Flask) -> None:
    case = open_case(both, requester_phone=PHONE, requester_name="王小明", township="beiao")
    personal = {"phone": {"ref": "requester", "field": "phone"}, "name": {"ref": "requester", "field": "name"}}
    message = queue(both, "sms", "closure", case_id=str(case.case_id), status="failed",
                    error=f"gateway refused {PHONE}", case_number=case.case_number, personal=personal,
                    to={"type": "requester", "code": None, "name": "诉求人", "address": None},
                    text=f"请回电 {PHONE}，联系人王小明")
    page = signed_in(both, "tr1", "transcriber").get("/monitor/outbox").get_data(as_text=True)
    assert f'data-message="{message}"' in page
    assert PHONE not in page and "王小明" not in page
    assert page.count("138****5678") >= 3  # the phone read for delivery, the text and the gateway's error
    assert "王**" in page
    assert f'href="/cases/{case.case_id}">{case.case_number}</a>' in page


def test_resend_a_failed_message_is_audited_and_a_second_one_is_a_conflict(both: Flask) -> None:
    failed = queue(both, "upstream", "writeback", status="failed", error="HTTP 502")
    client = signed_in(both, "sup1", "supervisor")
    response = post(client, f"/monitor/outbox/{failed}/resend")
    assert response.status_code == 303
    assert status_of(both, failed) == "pending"
    [row] = audit_rows(both, "outbox.resend")
    assert (row["actor"], row["object_id"], row["result"]) == ("sup1", str(failed), "success")

    again = post(client, f"/monitor/outbox/{failed}/resend")  # somebody already did: it is pending now
    assert again.status_code == 409
    assert "已不是发送失败状态" in again.get_data(as_text=True)
    assert [r["result"] for r in audit_rows(both, "outbox.resend")] == ["success", "failure"]


def test_resend_a_delivered_or_unknown_message_is_refused(both: Flask) -> None:
    delivered = queue(both, status="delivered")
    client = signed_in(both, "tr1", "transcriber")
    assert post(client, f"/monitor/outbox/{delivered}/resend").status_code == 409
    assert status_of(both, delivered) == "delivered"
    assert post(client, "/monitor/outbox/999999/resend").status_code == 404
    assert post(client, f"/monitor/outbox/{2**40}/resend").status_code == 404
    assert client.post(f"/monitor/outbox/{delivered}/resend").status_code == 400  # no CSRF token
    htmx = post(client, f"/monitor/outbox/{delivered}/resend", headers={"HX-Request": "true"})
    assert htmx.status_code == 409


def test_filters_by_channel_status_case_and_dates(both: Flask) -> None:
    case = open_case(both, township="beiao")
    number = str(case.case_number)
    with runtime_of(both).read() as db:  # messages the case's own registration queued, if any
        own = set(db.scalars(sa.select(OutboxMessage.id)))
    sms = queue(both, "sms", when="2026-11-20T09:00:00")
    upstream = queue(both, "upstream", "writeback", case_id=str(case.case_id), status="failed",
                     when="2026-11-24T09:00:00", case_number=number)
    police = queue(both, "police110", "feedback", status="delivered", when="2026-11-25T09:00:00")
    client = signed_in(both, "sup1", "supervisor")
    assert set(shown(client)) - own == {sms, upstream, police}
    assert shown(client) == sorted(shown(client), reverse=True)  # newest first
    assert shown(client, channel="upstream") == [upstream]
    assert shown(client, status="delivered") == [police]
    assert set(shown(client, number=number)) - own == {upstream}
    assert set(shown(client, number=number[:8])) >= {upstream}  # the first part of a number
    assert sms not in shown(client, number=number)
    assert set(shown(client, date_from="2026-11-21", date_to="2026-11-24")) - own == {upstream}
    assert set(shown(client, date_to="2026-11-20")) - own == {sms}


def test_pages_continue_by_id(both: Flask) -> None:
    ids = [queue(both, "township", "closure") for _ in range(55)]
    client = signed_in(both, "sup1", "supervisor")
    first = shown(client, channel="township")
    assert first == sorted(ids, reverse=True)[:50]
    page = client.get("/monitor/outbox", query_string={"channel": "township"}).get_data(as_text=True)
    link = re.search(r'href="(/monitor/outbox\?[^"]*before=\d+[^"]*)">', page)
    assert link is not None
    rest = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert [int(i) for i in ROW_RE.findall(rest)] == sorted(ids, reverse=True)[50:]


@pytest.mark.parametrize("args", [{"channel": "fax"}, {"status": "lost"}, {"number": "<b>"},
                                  {"date_from": "2026-13-01"}, {"date_to": "yesterday"},
                                  {"date_from": "2026-11-26", "date_to": "2026-11-01"}, {"before": "abc"},
                                  {"before": "0"}, {"before": str(2**40)}])
def test_bad_filters_answer_400(both: Flask, args: dict[str, str]) -> None:
    response = signed_in(both, "sup1", "supervisor").get("/monitor/outbox", query_string=args)
    assert response.status_code == 400
    assert "筛选条件不正确" in response.get_data(as_text=True)
