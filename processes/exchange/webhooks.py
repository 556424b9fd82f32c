"""Webhooks (事件订阅) for secondary development: case events sent, signed, to subscribed URLs through the outbox.

A scheduler's sweep (`fan_out`) reads new history events (the projection, never workflow snapshots) and queues
one outbox message per event and subscription (channel ``webhook``, idempotency key per pair), so delivery,
retries, backoff and the failed list are the outbox's. `WebhookAdapter` signs each body with the subscription's
own secret exactly as `outbox_http` signs channel messages (key id: the subscription id).

No personal data in a webhook: an event names the case by id and number with its routing (channel, category,
township, status), never the requester, title, content or place; a receiver with a right to more asks the API.
The sweep reads only events older than a short lag, so a slower transaction that commits a lower id later is
not skipped (a command is one short transaction; the lag is far longer).
"""

from __future__ import annotations

import json
import secrets
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts import pii
from processes.cases.models import Case
from processes.exchange.models import WebhookSubscription
from processes.runtime import outbox
from processes.runtime import outbox_http
from processes.runtime.core import Runtime
from processes.runtime.models import HistoryEvent
from processes.runtime.models import OutboxMessage
from processes.runtime.outbox import Message

CHANNEL = "webhook"
SECRET_FIELD = "webhook_secret"  # noqa: S105  (the cipher's purpose label for subscription secrets, not a secret)
# Event kinds one may subscribe to: history event kinds of case instances, with their Chinese names.
EVENTS = {"started": "工单登记", "task_completed": "环节办理", "status_changed": "状态变更",
          "deadline_extended": "时限调整", "completed": "流程结束", "terminated": "流程终止"}
BATCH = 500


class SubscriptionInvalid(ValueError):
    """A subscription's URL, secret, name or events are unusable (the message says which)."""


@dataclass(frozen=True)
class NewSubscription:
    """What the system administrator gives for a subscription."""

    name: str
    url: str
    secret: str
    events: tuple[str, ...]


def check(new: NewSubscription) -> None:
    """Raise SubscriptionInvalid unless the subscription can be used (https, secret length, known events)."""
    if not new.name.strip() or len(new.name) > 64:
        raise SubscriptionInvalid("名称不能为空，且不超过 64 个字符。")
    try:
        outbox_http.check_url(new.url)
    except outbox_http.EndpointInvalid:
        raise SubscriptionInvalid("地址须为 https://（http:// 仅限本机回环地址）。") from None
    if len(new.url) > 500:
        raise SubscriptionInvalid("地址过长。")
    parts = urlsplit(new.url)
    if parts.username is not None or parts.password is not None:
        raise SubscriptionInvalid("地址中不能包含用户名或密码（接收方用签名核验来源）。")
    if len(new.secret) < outbox_http.MIN_SECRET:
        raise SubscriptionInvalid(f"签名密钥至少 {outbox_http.MIN_SECRET} 个字符。")
    unknown = sorted(set(new.events) - EVENTS.keys())
    if not new.events or unknown:
        raise SubscriptionInvalid("事件类型须从以下选择：" + "、".join(EVENTS) + (f"（未知：{'、'.join(unknown)}）"
                                                                             if unknown else ""))


def subscribe(session: Session, new: NewSubscription, *, actor: str, now: datetime) -> WebhookSubscription:
    """Add a subscription in the caller's transaction; it receives events from now on (not the past)."""
    check(new)
    if session.scalar(sa.select(WebhookSubscription.id).where(WebhookSubscription.name == new.name)):
        raise SubscriptionInvalid(f"已有名为 {new.name} 的订阅。")
    latest = session.scalar(sa.select(sa.func.max(HistoryEvent.id))) or 0
    sub = WebhookSubscription(name=new.name.strip(), url=new.url, events=sorted(set(new.events)), active=True,
                              secret=pii.cipher().encrypt(SECRET_FIELD, new.secret) or "", cursor=latest,
                              created_by=actor, created_at=now)
    session.add(sub)
    session.flush()
    return sub


def set_active(session: Session, name: str, active: bool) -> WebhookSubscription | None:
    """Pause or resume a subscription by name (a paused one skips the events in between); None if unknown."""
    sub = session.scalar(sa.select(WebhookSubscription).where(WebhookSubscription.name == name))
    if sub is not None:
        sub.active = active
        if active:  # resumed: from now on, not the backlog of the pause
            sub.cursor = session.scalar(sa.select(sa.func.max(HistoryEvent.id))) or 0
    return sub


def remove(session: Session, name: str) -> bool:
    """Delete a subscription by name; its queued deliveries are dropped when they come up."""
    return bool(getattr(session.execute(sa.delete(WebhookSubscription).where(
        WebhookSubscription.name == name)), "rowcount", 0))


def new_secret() -> str:
    """Return a fresh signing secret (43 URL-safe characters, 256 bits) for the page to show once."""
    return secrets.token_urlsafe(32)


def rotate_secret(session: Session, sub: WebhookSubscription, secret: str) -> None:
    """Replace a subscription's signing secret (stored encrypted); queued deliveries are signed with the new one."""
    if len(secret) < outbox_http.MIN_SECRET:
        raise SubscriptionInvalid(f"签名密钥至少 {outbox_http.MIN_SECRET} 个字符。")
    sub.secret = pii.cipher().encrypt(SECRET_FIELD, secret) or ""


def key_prefix(subscription_id: str) -> str:
    """Return the outbox idempotency-key prefix of a subscription's deliveries (`webhook:<id>:<event>`)."""
    return f"webhook:{subscription_id}:"


def deliveries(session: Session, subscription_id: str, *, limit: int = 100) -> list[OutboxMessage]:
    """Return a subscription's recent outbox messages, newest first."""
    return list(session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.channel == CHANNEL, OutboxMessage.idempotency_key.startswith(key_prefix(subscription_id),
                                                                                  autoescape=True))
        .order_by(OutboxMessage.id.desc()).limit(limit)))


def delivery(session: Session, subscription_id: str, message_id: int) -> OutboxMessage | None:
    """Return one outbox message of a subscription, None when it is another's or unknown."""
    return session.scalar(sa.select(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.channel == CHANNEL,
        OutboxMessage.idempotency_key.startswith(key_prefix(subscription_id), autoescape=True)))


@dataclass(frozen=True)
class DeliveryState:
    """A subscription's last delivery status and how many of its messages failed."""

    last_status: str | None
    failed: int


def delivery_state(session: Session, subscription_id: str) -> DeliveryState:
    """Return the last delivery's status and the count of failed messages of one subscription."""
    mine = sa.and_(OutboxMessage.channel == CHANNEL,
                   OutboxMessage.idempotency_key.startswith(key_prefix(subscription_id), autoescape=True))
    last = session.scalar(sa.select(OutboxMessage.status).where(mine).order_by(OutboxMessage.id.desc()).limit(1))
    failed = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        mine, OutboxMessage.status == "failed")) or 0
    return DeliveryState(last, failed)


def listing(session: Session) -> list[WebhookSubscription]:
    """Return every subscription by name."""
    return list(session.scalars(sa.select(WebhookSubscription).order_by(WebhookSubscription.name)))


def fan_out(rt: Runtime, *, lag: timedelta = timedelta(seconds=5)) -> int:
    """Queue the new events of every active subscription in the outbox; return how many messages were queued."""
    now = rt.clock()
    queued = 0
    with rt.write() as session, session.begin():
        upto = session.scalar(sa.select(sa.func.max(HistoryEvent.id)).where(HistoryEvent.at <= now - lag)) or 0
        for sub in session.scalars(sa.select(WebhookSubscription).where(WebhookSubscription.active.is_(True))):
            events = _events(session, sub, upto)
            for event, case in events:
                queued += outbox.enqueue(session, channel=CHANNEL, kind=f"webhook.{event.kind}",
                                         payload=payload(sub.id, event, case, now), case_id=event.case_id,
                                         key=f"webhook:{sub.id}:{event.id}", now=now)
            sub.cursor = events[-1][0].id if len(events) == BATCH else max(sub.cursor, upto)
    return queued


def _events(session: Session, sub: WebhookSubscription, upto: int) -> list[tuple[HistoryEvent, Case]]:
    rows = session.execute(sa.select(HistoryEvent, Case).join(Case, Case.id == HistoryEvent.case_id).where(
        HistoryEvent.id > sub.cursor, HistoryEvent.id <= upto, HistoryEvent.kind.in_(list(sub.events)))
        .order_by(HistoryEvent.id).limit(BATCH))
    return [(event, case) for event, case in rows]


def payload(subscription_id: str, event: HistoryEvent, case: Case, now: datetime) -> dict[str, Any]:
    """Return the stored message of one event: routing facts only, never personal data."""
    detail = event.detail or {}
    body: dict[str, Any] = {
        "id": event.id, "kind": event.kind, "at": event.at.isoformat(), "case_id": case.id,
        "case_number": case.number, "channel": case.channel, "category": case.category,
        "township": case.township, "task": event.bpmn_id}
    if event.kind == "status_changed":
        body |= {"status": detail.get("status"), "previous": detail.get("previous")}
    return {"v": 1, "subscription": subscription_id, "event": body, "case_number": case.number,
            "kind_name": f"事件订阅：{EVENTS.get(event.kind, event.kind)}", "sent_at": now.isoformat()}


class WebhookAdapter:
    """Deliver queued webhook messages to their subscription's URL, signed with its secret (`outbox.Adapter`)."""

    name = CHANNEL
    wants_personal = False  # a webhook never carries personal data

    def __init__(self, rt: Runtime, *, timeout: float = 10.0, context: ssl.SSLContext | None = None) -> None:
        """Read subscriptions through this runtime at each delivery (a changed URL or secret applies at once)."""
        self.rt, self.timeout, self.context = rt, timeout, context

    def deliver(self, message: Message) -> None:
        """POST one event; a subscription removed or paused since drops it (delivered to no one)."""
        with self.rt.read() as session:
            sub = session.get(WebhookSubscription, str(message.payload.get("subscription")))
            if sub is None or not sub.active:
                return
            url, secret = sub.url, pii.cipher().decrypt(SECRET_FIELD, sub.secret) or ""
        body = json.dumps({"id": message.idempotency_key, "event": message.payload.get("event")},
                          ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
        headers = outbox_http.signed_headers(key_id=str(message.payload.get("subscription")), secret=secret,
                                             body=body, idempotency_key=message.idempotency_key)
        outbox_http.post(url, body, headers, timeout=self.timeout, context=self.context)


def kinds(text: Iterable[str]) -> tuple[str, ...]:
    """Split comma-separated event kinds as typed (CLI, page) into a tuple."""
    return tuple(k.strip() for item in text for k in item.replace("，", ",").split(",") if k.strip())
