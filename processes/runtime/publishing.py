"""Publishing a process version by a second person with a second factor (流程发布的双人复核, AC-04, AUTH-06).

A deployed BPMN version is code, so whoever uploaded it cannot also put it live. The publisher must be:

* an active account holding a role in PUBLISHER_ROLES: only the system administrator (`sysadmin`, who runs
  deployments under 三员分立); analysts draft diagrams, leaders and the other administrators do not deploy;
* a different person from the version's `created_by` (compared like usernames: case- and width-insensitive);
* present: a current TOTP code of their enrolled second factor, checked with `processes.accounts.totp.verify` (±30 s, no
  code twice, wrong codes count towards the account lock like at login).

The install-time deploy of the reviewed `bpmn/` folder (`hotline deploy`, `hotline demo`) still publishes as the
system actor; this rule applies to publishing a version that is already deployed (`hotline publish`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts import totp
from processes.accounts import users as accounts
from processes.accounts.models import AppUser
from processes.accounts.passwords import AccountPolicy
from processes.errors import NotFound
from processes.runtime import definitions
from processes.runtime.models import ProcessDefinition

PUBLISHER_ROLES = frozenset({"sysadmin"})


@dataclass(frozen=True)
class PublishOutcome:
    """What a publish attempt did: `reason` is ok or why it was refused (for the audit row and the message)."""

    ok: bool
    reason: str  # ok / unknown_publisher / disabled / not_allowed / same_person / no_code / not_enrolled /
    #              bad_code / reused / locked / locked_out
    key: str
    version: int
    sha256: str
    uploaded_by: str
    publisher: AppUser | None
    was_published: bool = False  # the version was already the published one (nothing changed)


def _publisher(session: Session, username: str) -> AppUser | None:
    """Return the publisher's account locked for the update of its TOTP state, or None."""
    return session.scalar(sa.select(AppUser).where(AppUser.username_key == accounts.username_key(username))
                          .with_for_update())


def _refusal(session: Session, user: AppUser | None, uploaded_by: str, code: str | None, *, now: datetime,
             policy: AccountPolicy, code_at: datetime | None) -> str | None:
    """Return why this person may not publish now, or None; checks the code last (it counts towards the lock)."""
    if user is None:
        return "unknown_publisher"
    if not user.active:
        return "disabled"
    if not accounts.roles_of(session, user) & PUBLISHER_ROLES:
        return "not_allowed"
    if accounts.username_key(uploaded_by) == user.username_key:
        return "same_person"
    if not code:
        return "no_code"
    result = totp.verify(user, code, now=now, policy=policy, code_at=code_at)
    return None if result.ok else result.reason


def publish_by(session: Session, key: str, version: int, *, publisher: str, code: str | None, now: datetime,
               policy: AccountPolicy, code_at: datetime | None = None) -> PublishOutcome:
    """Publish a deployed version if `publisher` may and `code` is their current second-factor code.

    :param session: the caller's session; the caller commits whatever the outcome (the TOTP step and failure
        counters must persist) together with the audit row it writes
    :param publisher: the username of the person publishing
    :param code: the TOTP code they typed, None when none was given
    :param code_at: the real time the code belongs to when `now` is a moved demo clock
    :raises NotFound: no such version
    :raises InvalidState: the version is retired
    """
    row = session.scalar(sa.select(ProcessDefinition).where(
        ProcessDefinition.key == key, ProcessDefinition.version == version).with_for_update())
    if row is None:
        raise NotFound(f"process {key} version {version} not found")
    user = _publisher(session, publisher) if publisher else None
    refused = _refusal(session, user, row.created_by, code, now=now, policy=policy, code_at=code_at)
    outcome = PublishOutcome(refused is None, refused or "ok", key, version, row.sha256, row.created_by, user,
                             was_published=row.status == "published")
    if refused is None and user is not None:
        definitions.publish_version(session, key, version, actor=user.username, now=now)
    return outcome
