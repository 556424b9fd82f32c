"""Second factor (动态口令, TOTP RFC 6238, AUTH-06 / S3.6): enrolment, verification, no reuse, lockout.

The secret is stored encrypted with the personal-data cipher under the field name "totp" and is in use once the
user confirmed it with a code. A code is accepted within ±1 time step (30 s) and only for a step later than the
last accepted one, so a code cannot be used twice. Wrong codes at login count like wrong passwords: after
LOGIN_MAX_FAILURES within the failure window the account is locked for the lockout period.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp

from processes.accounts import pii
from processes.accounts.models import AppUser
from processes.accounts.passwords import AccountPolicy

FIELD = "totp"  # the personal-data cipher's field name (associated data) of TOTP secrets
STEP_SECONDS = 30
WINDOW = 1  # steps accepted either side of now
DIGITS = 6


@dataclass(frozen=True)
class TotpResult:
    """The outcome of a code check: `reason` is for the audit trail (ok / bad_code / reused / locked_out / locked)."""

    ok: bool
    reason: str


def enrolled(user: AppUser) -> bool:
    """Return whether the user has a confirmed second factor."""
    return user.totp_confirmed_at is not None and user.totp_secret is not None


def begin_enrolment(user: AppUser) -> str:
    """Give the user a new, unconfirmed secret (replacing an unconfirmed one) and return it for display."""
    if enrolled(user):
        raise ValueError("a confirmed second factor is reset by an administrator, not replaced by its owner")
    secret = pyotp.random_base32()
    user.totp_secret = pii.cipher().encrypt(FIELD, secret)
    user.totp_last_step = None
    return secret


def secret_of(user: AppUser) -> str | None:
    """Return the user's decrypted secret (confirmed or pending), None when there is none."""
    return pii.cipher().decrypt(FIELD, user.totp_secret)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """Return the otpauth:// URI an authenticator app imports (shown as text; no external QR service)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=username,
                                                                                     issuer_name=issuer)


def code_at(secret: str, when: datetime) -> str:
    """Return the code of a secret at a time (tests and the enrolment page's self-check use it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(when)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """Return the time step within the window whose code equals `code`, else None (constant-time compares)."""
    code = code.strip()
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    step = int(now.timestamp()) // STEP_SECONDS
    found = None
    for candidate in range(step - WINDOW, step + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


def _accept(user: AppUser, secret: str, code: str, now: datetime) -> str:
    """Return 'ok' and remember the step, 'reused' for a step already used, or 'bad_code'."""
    step = _matching_step(secret, code, now)
    if step is None:
        return "bad_code"
    if user.totp_last_step is not None and step <= user.totp_last_step:
        return "reused"
    user.totp_last_step = step
    return "ok"


def confirm_enrolment(user: AppUser, code: str, *, now: datetime, code_at: datetime | None = None) -> TotpResult:
    """Confirm the pending secret with a code from the app; the second factor is in use from now on.

    `code_at` is the real time the phone's code belongs to, when `now` is a moved demo clock.
    """
    secret = secret_of(user)
    if secret is None or enrolled(user):
        return TotpResult(False, "not_pending")
    reason = _accept(user, secret, code, code_at or now)
    if reason == "ok":
        user.totp_confirmed_at = now
        user.totp_failed_count, user.totp_first_failed_at = 0, None
    return TotpResult(reason == "ok", reason)


def verify(user: AppUser, code: str, *, now: datetime, policy: AccountPolicy,
           code_at: datetime | None = None) -> TotpResult:
    """Check the second factor at login; wrong or reused codes count towards the account lock.

    The caller commits whatever the result (the counters and the last used step must persist). The code is
    matched at `code_at` (real time, which the phone keeps even under a moved demo clock), else at `now`.
    """
    secret = secret_of(user)
    if secret is None or not enrolled(user):
        return TotpResult(False, "not_enrolled")
    if user.locked_until is not None and now < user.locked_until:
        return TotpResult(False, "locked")
    reason = _accept(user, secret, code, code_at or now)
    if reason == "ok":
        user.totp_failed_count, user.totp_first_failed_at = 0, None
        return TotpResult(True, "ok")
    if user.totp_first_failed_at is None or now - user.totp_first_failed_at > policy.failure_window:
        user.totp_first_failed_at, user.totp_failed_count = now, 0
    user.totp_failed_count += 1
    if user.totp_failed_count >= policy.max_failures:
        user.locked_until = now + policy.lockout
        user.totp_failed_count, user.totp_first_failed_at = 0, None
        reason = "locked_out"
    return TotpResult(False, reason)


def reset(user: AppUser) -> None:
    """Remove the user's second factor (lost phone; an administrator's act, audited by the caller).

    The user enrols again at the next login (at once when the role requires it); their sessions end.
    """
    user.totp_secret, user.totp_confirmed_at, user.totp_last_step = None, None, None
    user.totp_failed_count, user.totp_first_failed_at = 0, None
    user.session_epoch += 1
