"""The outbox's delivery adapters from the settings (发件箱投递方式): HTTP per channel, webhooks, else the spool."""

from __future__ import annotations

from flask import Flask

from processes.exchange.webhooks import CHANNEL as WEBHOOK
from processes.exchange.webhooks import WebhookAdapter
from processes.runtime import outbox_http
from processes.runtime.outbox import Adapter
from webapp.config import ConfigError


def outbox_adapters(app: Flask) -> dict[str, Adapter]:
    """Return the adapters by channel: OUTBOX_HTTP's endpoints, the webhook adapter, the spool for the rest.

    A wrong endpoint (not https, a short secret, no url) stops the app and every scheduler at start, not at the
    first message.
    """
    ca_file = app.config.get("OUTBOX_HTTP_CA_FILE") or None
    timeout = float(app.config.get("OUTBOX_HTTP_TIMEOUT_SECONDS", 10.0))
    channels = {name: {"timeout": timeout, **spec} for name, spec in (app.config.get("OUTBOX_HTTP") or {}).items()}
    try:
        adapters = outbox_http.adapters_from_config(channels, ca_file=ca_file)
    except outbox_http.EndpointInvalid as exc:
        raise ConfigError(f"OUTBOX_HTTP: {exc}") from exc
    context = outbox_http.tls_context(ca_file)
    adapters[WEBHOOK] = WebhookAdapter(app.extensions["hotline.runtime"], timeout=timeout, context=context)
    return adapters
