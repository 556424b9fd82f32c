"""Webhook subscriptions on the web (事件订阅, system administrator): list, create, pause, resume, delete, rotate.

The same functions as `hotline platform webhook` (processes/exchange/webhooks.py). The signing secret is generated
here and shown once, in the answer to the create or rotate request, and stored encrypted like personal fields; the
deliveries page lists the subscription's outbox messages and requeues a failed one (`outbox.resend`). Every action
is a POST with a CSRF token and one audit row in the change's transaction (webhook.subscribe, webhook.pause,
webhook.resume, webhook.remove, webhook.rotate_secret, outbox.resend); a state changed since the page was loaded
answers 409, an unknown id 404, bad input 400 with the message by its field.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.orm import Session

from processes.exchange import webhooks
from processes.exchange.models import WebhookSubscription
from processes.runtime import outbox
from webapp.admin import bp
from webapp.auth.forms import ActionForm
from webapp.casework import record
from webapp.context import now
from webapp.context import runtime
from webapp.messages import N_

STALE = N_("订阅状态已被他人修改，请刷新页面后重试。")
NOT_FAILED = N_("这条消息已不是投递失败状态，无需重发。")
PAUSED = N_("已暂停订阅 %(name)s。")
RESUMED = N_("已恢复订阅 %(name)s，从现在起推送新事件。")
REMOVED = N_("已删除订阅 %(name)s。")
REQUEUED = N_("消息 %(id)s 已重新排队投递。")


def _checked() -> None:
    """Refuse a POST without a valid CSRF token (400)."""
    if not ActionForm().validate_on_submit():
        abort(400)


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    with runtime().read() as db:
        rows = [(sub, webhooks.delivery_state(db, sub.id)) for sub in webhooks.listing(db)]
    return render_template("admin/webhooks.html", rows=rows, events=webhooks.EVENTS, form=ActionForm(),
                           typed=context.pop("typed", {}), error=context.pop("error", None), **context), status


def _get(db: Session, subscription_id: str) -> WebhookSubscription:
    """Return a subscription by id, or answer 404."""
    sub = db.get(WebhookSubscription, subscription_id) if len(subscription_id) <= 36 else None
    if sub is None:
        abort(404)
    return sub


@bp.get("/webhooks")
def webhooks_index() -> ResponseReturnValue:
    """List the subscriptions and offer a new one."""
    return _page()


@bp.post("/webhooks")
def webhook_create() -> ResponseReturnValue:
    """Subscribe a URL to case events; the generated signing secret is shown once."""
    _checked()
    name, url, events = request.form.get("name", "").strip(), request.form.get("url", "").strip(), \
        request.form.getlist("events")
    typed = {"name": name, "url": url, "events": events}
    secret = webhooks.new_secret()
    new = webhooks.NewSubscription(name, url, secret, tuple(events))
    try:
        with runtime().write() as db, db.begin():
            sub = webhooks.subscribe(db, new, actor=current_user.username, now=now())
            record(db, "webhook.subscribe", object_type="webhook", object_id=sub.name, events=list(sub.events),
                   subscription=sub.id)
            shown = {"name": sub.name, "id": sub.id, "secret": secret}
    except webhooks.SubscriptionInvalid as error:
        return _page(400, typed=typed, error=gettext(str(error)))
    return _page(201, created=shown)


@bp.post("/webhooks/<subscription_id>/disable")
def webhook_disable(subscription_id: str) -> ResponseReturnValue:
    """Pause a subscription (events in between are not sent)."""
    return _switch(subscription_id, False)


@bp.post("/webhooks/<subscription_id>/enable")
def webhook_enable(subscription_id: str) -> ResponseReturnValue:
    """Resume a subscription from now on."""
    return _switch(subscription_id, True)


def _switch(subscription_id: str, active: bool) -> ResponseReturnValue:
    """Pause or resume, audited; 409 when it is already in that state (a stale page)."""
    _checked()
    with runtime().write() as db, db.begin():
        sub = _get(db, subscription_id)
        if sub.active == active:
            abort(409, description=gettext(STALE))
        webhooks.set_active(db, sub.name, active)
        record(db, "webhook.resume" if active else "webhook.pause", object_type="webhook", object_id=sub.name,
               subscription=sub.id)
        name = sub.name
    flash(gettext(RESUMED if active else PAUSED, name=name), "success")
    return redirect(url_for("admin.webhooks_index"), code=303)


@bp.post("/webhooks/<subscription_id>/delete")
def webhook_delete(subscription_id: str) -> ResponseReturnValue:
    """Delete a subscription; its queued deliveries are dropped when they come up."""
    _checked()
    with runtime().write() as db, db.begin():
        sub = _get(db, subscription_id)
        name = sub.name
        webhooks.remove(db, name)
        record(db, "webhook.remove", object_type="webhook", object_id=name, subscription=subscription_id)
    flash(gettext(REMOVED, name=name), "success")
    return redirect(url_for("admin.webhooks_index"), code=303)


@bp.post("/webhooks/<subscription_id>/rotate")
def webhook_rotate(subscription_id: str) -> ResponseReturnValue:
    """Give a subscription a new signing secret, shown once; the old one stops signing at once."""
    _checked()
    secret = webhooks.new_secret()
    with runtime().write() as db, db.begin():
        sub = _get(db, subscription_id)
        webhooks.rotate_secret(db, sub, secret)
        record(db, "webhook.rotate_secret", object_type="webhook", object_id=sub.name, subscription=sub.id)
        shown = {"name": sub.name, "id": sub.id, "secret": secret}
    return _page(200, rotated=shown)


@bp.get("/webhooks/<subscription_id>/deliveries")
def webhook_deliveries(subscription_id: str) -> ResponseReturnValue:
    """List a subscription's recent deliveries (outbox messages): status, attempts, last error."""
    with runtime().read() as db:
        sub = _get(db, subscription_id)
        rows = webhooks.deliveries(db, sub.id)
    return render_template("admin/webhook_deliveries.html", sub=sub, rows=rows, form=ActionForm())


@bp.post("/webhooks/<subscription_id>/deliveries/<int:message_id>/resend")
def webhook_resend(subscription_id: str, message_id: int) -> ResponseReturnValue:
    """Queue a failed delivery again (as `hotline outbox resend`), audited; 409 when it is not failed."""
    _checked()
    with runtime().read() as db:
        sub = _get(db, subscription_id)
        if webhooks.delivery(db, sub.id, message_id) is None:
            abort(404)
        name = sub.name

    def audit(session: Session) -> None:
        record(session, "outbox.resend", object_type="outbox", object_id=str(message_id), webhook=name)

    if not outbox.resend(runtime(), message_id, also=audit):
        abort(409, description=gettext(NOT_FAILED))
    flash(gettext(REQUEUED, id=message_id), "success")
    return redirect(url_for("admin.webhook_deliveries", subscription_id=subscription_id), code=303)
