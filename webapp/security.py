"""Response hardening for every request (CFG-01..03): security headers, no caching of pages, proxy trust."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
       "base-uri 'self'; form-action 'self'")


def add_headers(response: Response) -> Response:
    """Add the security headers; pages (everything but static files) are never stored by browsers or proxies."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":  # pages carry personal data and CSRF tokens
        headers["Cache-Control"] = "no-store"
    if request.is_secure or current_app.config.get("PREFERRED_URL_SCHEME") == "https":
        headers.setdefault("Strict-Transport-Security",
                           f"max-age={int(current_app.config['HSTS_SECONDS'])}; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    """Trust the configured number of proxy hops and add the headers to every response."""
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.after_request(add_headers)
