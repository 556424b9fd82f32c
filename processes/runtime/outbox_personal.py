"""Personal values of outbox messages (发件箱个人信息), read from the case when a message is delivered or shown.

Why pointers and not encrypted copies: the outbox row holds only where a value lives (`personal` of the payload:
a case_text row, a requester or case column, an account), and this module reads it at delivery. So the one
encrypted copy in the requester table stays the only one: key rotation (`pii_rotation`), the residual-data purge
and the deletion at contract end reach messages without code of their own. Free texts are append-only case_text
rows, so a pointer to the row the deciding task wrote is as fixed as a copy: a retry sends the same text. A phone
number is read as the case holds it when sending, so a corrected number is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts.models import AppUser
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.cases.personal import ENCRYPTED_FIELDS
from processes.cases.personal import read_requester

CASE_FIELDS = frozenset({"title", "content", "location"})


class PersonalDataMissing(LookupError):
    """A message points at a personal value that no longer exists (the case or its text was deleted)."""


def resolve(session: Session, case_id: str | None, payload: Mapping[str, Any]) -> dict[str, str | None]:
    """Read the personal values a payload points at, by their names in it; an old payload has none."""
    refs = payload.get("personal")
    if not isinstance(refs, Mapping) or not refs:
        return {}
    return {name: _read(session, case_id, ref) for name, ref in refs.items()}


def _read(session: Session, case_id: str | None, ref: Mapping[str, Any]) -> str | None:
    kind, field = ref.get("ref"), str(ref.get("field", ""))
    if kind == "case_text":
        text = session.scalar(sa.select(CaseText.value).where(CaseText.id == ref.get("id"),
                                                                 CaseText.case_id == case_id))
        if text is None:
            raise PersonalDataMissing(f"case_text {ref.get('id')} of this case is gone")
        return str(text)
    if kind == "app_user":
        return session.scalar(sa.select(AppUser.username).where(AppUser.id == ref.get("id")))
    case = session.get(Case, case_id) if case_id else None
    if case is None:
        raise PersonalDataMissing("the message's case is gone")
    if kind == "case" and field in CASE_FIELDS:
        return getattr(case, field)  # type: ignore[no-any-return]
    if kind == "requester" and field in ENCRYPTED_FIELDS:
        requester = session.get(Requester, case.requester_id) if case.requester_id else None
        return read_requester(requester)[field] if requester is not None else None
    raise PersonalDataMissing(f"unknown pointer {kind}.{field}")
