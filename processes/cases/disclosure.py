"""How a case's requester is shown to one user (诉求人信息展示): masked, in full, hidden, or revealed with a reason.

Masked by default (GB/T 35273 7.2); in full only to a user holding a contact task on the case (回访, 部门办理,
现场巡查); hidden from units when the requester asked for confidentiality (举报人保密); revealed to supervisors and
leaders only with a reason, and every reveal is an audit row in the same transaction as the read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from processes.accounts import pii
from processes.audit import record as audit
from processes.cases import access
from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.cases.numbers import has_number
from processes.cases.numbers import mask_numbers
from processes.cases.personal import read_requester
from processes.errors import FormDataInvalid

REVEALED_FIELDS = ("name", "phone", "id_number", "address")
MIN_REASON = 4  # characters; "看看" is not a reason
MIN_MASKED_NAME = 2  # a one-character name would mask every occurrence of that character in the text


@dataclass(frozen=True)
class RequesterView:
    """The requester as one user may see them; `mode` is masked / contact / shielded / none."""

    name: str
    phone: str
    id_number: str
    address: str
    caller_type: str
    mode: str
    may_reveal: bool


def _empty(mode: str, may_reveal: bool = False, caller_type: str = "person") -> RequesterView:
    text = access.CONFIDENTIAL_TEXT if mode == "shielded" else ""
    return RequesterView(text, text, text, text, caller_type, mode, may_reveal)


def requester_view(session: Session, viewer: Viewer, case: Case) -> RequesterView:
    """Return the requester of a case as this user may see them (no audit: nothing is disclosed beyond policy)."""
    requester = session.get(Requester, case.requester_id) if case.requester_id else None
    if requester is None:
        return _empty("none")
    reveal = access.may_reveal(viewer, case)
    if access.shielded(viewer, case):
        return _empty("shielded", reveal, requester.caller_type)
    plain = read_requester(requester)
    held = access.held_roles(session, viewer, case.id)
    if access.contact_visible(viewer, case, held):
        # Contact tasks need name, phone and address; the ID number stays masked for everyone.
        return RequesterView(plain["name"] or "", pii.normalise_phone(plain["phone"]) if plain["phone"] else "",
                             pii.mask_id_number(plain["id_number"]), plain["address"] or "",
                             requester.caller_type, "contact", reveal)
    return RequesterView(pii.mask_name(plain["name"]), pii.mask_phone(plain["phone"]),
                         pii.mask_id_number(plain["id_number"]), pii.mask_address(plain["address"]),
                         requester.caller_type, "masked", reveal)


def reveal(session: Session, viewer: Viewer, case: Case, reason: str, *, now: datetime,
           audit_context: dict[str, Any]) -> dict[str, str] | None:
    """Return the requester's values in full for a reason, or None when refused; audited either way.

    The audit row goes into the caller's transaction, so the caller commits also when this returns None.
    """
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON:
        raise FormDataInvalid(f"请填写查看原因（至少 {MIN_REASON} 个字）", field="reason")
    if has_number(reason):
        raise FormDataInvalid("查看原因中不要填写电话号码或身份证号", field="reason")
    allowed = access.may_reveal(viewer, case)
    audit.record(session, action="pii.reveal", actor=viewer.username, role=",".join(sorted(viewer.roles)),
                 at=now, object_type="case", object_id=case.number, result="success" if allowed else "denied",
                 detail={"reason": reason[:200], "fields": list(REVEALED_FIELDS)}, **audit_context)
    if not allowed:
        return None
    requester = session.get(Requester, case.requester_id) if case.requester_id else None
    if requester is None:
        return {}
    plain = read_requester(requester)
    return {field: value or "" for field, value in plain.items()}


def text_masker(session: Session, viewer: Viewer, case: Case) -> Callable[[str | None], str]:
    """Return how the case's free text (内容, 退单理由, 审核意见 …) is shown to this user, by the requester rules.

    As typed to a user holding a contact task; otherwise phone and ID numbers masked and the requester's own name
    and address, where the text repeats them, masked like the requester block (王**, 洞头区北岙街****), or shown as
    （保密） to a unit when the requester asked for confidentiality.
    """
    shown = requester_view(session, viewer, case)
    if shown.mode == "contact":
        return lambda text: text or ""
    requester = session.get(Requester, case.requester_id) if case.requester_id else None
    plain = read_requester(requester) if requester is not None else {}
    hidden = shown.mode == "shielded"
    swaps = [(value, access.CONFIDENTIAL_TEXT if hidden else masked)
             for value, masked in ((plain.get("address"), pii.mask_address(plain.get("address"))),
                                   (plain.get("name"), pii.mask_name(plain.get("name"))))
             if value and len(value.strip()) >= MIN_MASKED_NAME]

    def mask(text: str | None) -> str:
        out = mask_numbers(text)
        for value, replacement in swaps:
            out = out.replace(value.strip(), replacement)
        return out

    return mask
