"""HTTP delivery of outbox messages (发件箱 HTTP 接口): a signed JSON POST per message, to an endpoint per channel.

Signature: HMAC-SHA256 over ``<timestamp>.<body>`` with the channel's secret, sent as
``X-Hotline-Signature: sha256=<hex>`` beside ``X-Hotline-Timestamp`` (Unix seconds), ``X-Hotline-Key-Id`` and
``Idempotency-Key``. A receiver recomputes it with `verify`, refuses a timestamp outside its replay window and
drops a repeated idempotency key (the outbox delivers at least once). Retries and backoff are the outbox's own: a
refused or unanswered POST raises, and `outbox.deliver_due` tries again later, then marks the message failed.

TLS certificates and host names are always verified (a private CA may be added); plain http is accepted only
for the loopback interface (a relay on the same machine, tests). Redirects are not followed: a signed body goes
to the configured address or nowhere. Personal values go only to channels configured with ``personal``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from processes.runtime.outbox import Adapter
from processes.runtime.outbox import Message
from processes.runtime.outbox import SpoolAdapter

SIGNATURE = "X-Hotline-Signature"
TIMESTAMP = "X-Hotline-Timestamp"
KEY_ID = "X-Hotline-Key-Id"
IDEMPOTENCY = "Idempotency-Key"
REPLAY_SECONDS = 300
MIN_SECRET = 32
ERROR_BODY = 300  # characters of a refusal's body kept in the outbox row's last error


class EndpointInvalid(ValueError):
    """A configured or subscribed endpoint is unusable (scheme, host, secret)."""


class DeliveryRefused(RuntimeError):
    """The receiver answered with an error status (the outbox retries, then marks the message failed)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value of a body sent at `timestamp`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
           window: int = REPLAY_SECONDS) -> bool:
    """Check a received body's signature and that its timestamp lies within the replay window (receivers' side)."""
    try:
        stamp = int(headers.get(TIMESTAMP, ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - stamp) > window:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), headers.get(SIGNATURE, ""))


def check_url(url: str) -> str:
    """Return the URL if it may receive signed bodies: https, or http to a loopback address only."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise EndpointInvalid("endpoint must be https:// (http:// only to the loopback interface)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answer a redirect as the error it is for a signed POST."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        """Follow no redirect."""
        return None


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float,
         context: ssl.SSLContext | None = None) -> int:
    """POST a body; return the status, raise DeliveryRefused on any answer outside 2xx (or OSError if none)."""
    request = urllib.request.Request(check_url(url), data=body, method="POST",  # noqa: S310  (scheme checked)
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    opener = urllib.request.build_opener(_NoRedirect(), urllib.request.HTTPSHandler(
        context=context or ssl.create_default_context()))
    try:
        with opener.open(request, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        text = exc.read(ERROR_BODY).decode("utf-8", "replace")
        raise DeliveryRefused(f"HTTP {exc.code}: {text}") from None


def signed_headers(*, key_id: str, secret: str, body: bytes, idempotency_key: str,
                   now: float | None = None) -> dict[str, str]:
    """Return the headers that sign a body (timestamp now, or `now`)."""
    stamp = int(time.time() if now is None else now)
    return {KEY_ID: key_id, TIMESTAMP: str(stamp), SIGNATURE: sign(secret, stamp, body),
            IDEMPOTENCY: idempotency_key}


@dataclass
class HttpAdapter:
    """Deliver one channel's messages by signed POST to its endpoint (`Adapter`)."""

    url: str
    key_id: str
    secret: str
    timeout: float = 10.0
    wants_personal: bool = False  # only channels that need the values (upstream write-back) get them
    context: ssl.SSLContext | None = None
    name: str = "http"

    def __post_init__(self) -> None:
        """Refuse an unusable endpoint or a short secret at start, not at the first message."""
        check_url(self.url)
        if len(self.secret) < MIN_SECRET:
            raise EndpointInvalid(f"the signing secret must have at least {MIN_SECRET} characters")

    def deliver(self, message: Message) -> None:
        """POST the message as signed JSON; raise on a refusal, a timeout or a network error."""
        body = json.dumps(envelope(message, personal=self.wants_personal), ensure_ascii=False,
                          separators=(",", ":"), sort_keys=True).encode("utf-8")
        headers = signed_headers(key_id=self.key_id, secret=self.secret, body=body,
                                 idempotency_key=message.idempotency_key)
        post(self.url, body, headers, timeout=self.timeout, context=self.context)


def envelope(message: Message, *, personal: bool) -> dict[str, Any]:
    """Return what is sent: the payload without its pointers to personal values, and the values if allowed."""
    payload = {k: v for k, v in message.payload.items() if k != "personal"}
    sent: dict[str, Any] = {"id": message.idempotency_key, "channel": message.channel, "kind": message.kind,
                            "payload": payload}
    if personal and message.personal:
        sent["personal"] = dict(message.personal)
    return sent


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Return the TLS context of deliveries: the system's CAs (and a private CA's file), names checked."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def adapters_from_config(channels: Mapping[str, Mapping[str, Any]], *, ca_file: str | None = None
                         ) -> dict[str, Adapter]:
    """Build the outbox adapters by channel from settings: an HttpAdapter per configured channel, else the spool.

    `channels` maps a channel (or "*" for every other one) to {url, key_id, secret, timeout, personal}.
    """
    context = tls_context(ca_file)
    adapters: dict[str, Adapter] = {"*": SpoolAdapter()}
    for channel, spec in channels.items():
        try:
            adapters[channel] = HttpAdapter(url=str(spec["url"]), key_id=str(spec.get("key_id", "hotline")),
                                            secret=str(spec["secret"]), timeout=float(spec.get("timeout", 10.0)),
                                            wants_personal=bool(spec.get("personal", False)), context=context,
                                            name=f"http:{channel}")
        except KeyError as exc:
            raise EndpointInvalid(f"outbox channel {channel!r}: {exc.args[0]} is missing") from None
    return adapters
