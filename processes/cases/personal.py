"""Keep personal data out of workflow state: split form data into routing fields, personal fields and free text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from processes.accounts import pii
from processes.cases.models import Case
from processes.cases.models import CaseText
from processes.cases.models import Requester
from processes.cases.numbers import has_number
from processes.errors import FormDataInvalid

# Personal fields (个人信息) and where they live; never copied into task data.
REQUESTER_FIELDS = {
    "requester_name": "name",
    "requester_phone": "phone",
    "requester_id_number": "id_number",
    "requester_address": "address",
    "caller_type": "caller_type",
}
CASE_TEXT_COLUMNS = {"title": "title", "content": "content", "location": "location"}
# Free text a task may record (答复内容, 退单理由 …): stored per task in case_text, never in task data. A task
# without a case has nowhere to put free text: the upward report's note (核对上报清单「说明」) is a short routing
# value instead, refused when it holds a phone or ID number like every routing value.
FREE_TEXT_FIELDS = frozenset({
    "reply_text", "public_reply", "handling_note", "return_reason", "extension_reason", "reject_reason",
    "inspection_findings", "callback_note", "instruction", "direct_answer", "transfer_note", "review_note",
    "not_solved_reason", "contact_record", "urging_note", "supervision_note", "merge_note", "writeback_note",
})
MAX_ROUTING_STRING = 200
MAX_DATA_BYTES = 64 * 1024
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# Decision values history may keep (SplitData.decisions): codes such as 'nonstandard' or 'sthj', numbers < 1000.
DECISION_CODE_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,31}$")
MAX_DECISION_NUMBER = 999
MAX_DECISION_ITEMS = 8


@dataclass
class SplitData:
    """Form or start data sorted by where it may be stored."""

    routing: dict[str, Any] = field(default_factory=dict)
    requester: dict[str, Any] = field(default_factory=dict)
    case_columns: dict[str, Any] = field(default_factory=dict)
    free_text: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def has_personal(self) -> bool:
        """Return True when something must be written to the case tables."""
        return bool(self.requester or self.case_columns or self.free_text)

    def field_names(self) -> list[str]:
        """Return every field name that changed (history records names, not values)."""
        return sorted(self.names)

    def decisions(self) -> dict[str, Any]:
        """Return the routing values that are decisions (审核结论, 回访结果, 延期天数 …), safe to keep in history.

        Only yes/no, small whole numbers and lower-case codes (or lists of codes) qualify: no free text, no date,
        nothing a phone or ID number could hide in. Everything else stays a field name only.
        """
        return {k: v for k, v in sorted(self.routing.items()) if _decision(v)
                or (isinstance(v, list) and 0 < len(v) <= MAX_DECISION_ITEMS and all(_code(i) for i in v))}


def _code(value: Any) -> bool:
    """Return whether a value is a lower-case code (a choice's value, a unit or account name)."""
    return isinstance(value, str) and DECISION_CODE_RE.match(value) is not None


def _decision(value: Any) -> bool:
    """Return whether a routing value is a yes/no, a small whole number or a code."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_DECISION_NUMBER
    return _code(value)


def split_data(data: Mapping[str, Any], reserved: frozenset[str] = frozenset()) -> SplitData:
    """Validate data and sort it; raise FormDataInvalid naming the offending field."""
    if not isinstance(data, Mapping):
        raise FormDataInvalid("data must be an object")
    out = SplitData()
    for key, value in data.items():
        if not isinstance(key, str) or not NAME_RE.match(key):
            raise FormDataInvalid("field names are letters, digits and _ (max 64)", field=str(key)[:64])
        if key in reserved:
            raise FormDataInvalid("this name is reserved by the workflow engine", field=key)
        out.names.append(key)
        if key in REQUESTER_FIELDS:
            out.requester[REQUESTER_FIELDS[key]] = _text(key, value, 500)
        elif key in CASE_TEXT_COLUMNS:
            out.case_columns[CASE_TEXT_COLUMNS[key]] = _text(key, value, 20_000)
        elif key in FREE_TEXT_FIELDS:
            out.free_text[key] = _text(key, value, 20_000) or ""
        else:
            _check_routing_value(key, value)
            out.routing[key] = value
    if len(json.dumps(out.routing, default=str)) > MAX_DATA_BYTES:
        raise FormDataInvalid(f"routing data larger than {MAX_DATA_BYTES // 1024} KB")
    return out


def _text(key: str, value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormDataInvalid("must be text", field=key)
    if len(value) > limit or "\x00" in value:
        raise FormDataInvalid(f"text longer than {limit} characters or containing NUL", field=key)
    return value


def _check_routing_value(key: str, value: Any, depth: int = 0) -> None:
    """Routing values are short, JSON-like and free of phone or ID numbers."""
    if depth > 4:
        raise FormDataInvalid("nested too deeply", field=key)
    if value is None or isinstance(value, bool | int | float | datetime):
        return
    if isinstance(value, str):
        if len(value) > MAX_ROUTING_STRING:
            raise FormDataInvalid(
                f"text over {MAX_ROUTING_STRING} characters must go in a free-text field", field=key)
        if has_number(value):  # any spelling: 139 1234 5678, +86…, full-width, with invisible characters
            raise FormDataInvalid("looks like a phone or ID number; personal data stays out of workflows",
                                  field=key)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_routing_value(key, item, depth + 1)
        return
    if isinstance(value, Mapping):
        for sub_key, item in value.items():
            if not isinstance(sub_key, str):
                raise FormDataInvalid("object keys must be text", field=key)
            _check_routing_value(key, item, depth + 1)
        return
    raise FormDataInvalid(f"unsupported value type {type(value).__name__}", field=key)


def store_personal(session: Session, case_id: str | None, split: SplitData, *, task_id: str | None,
                   actor: str, now: datetime) -> None:
    """Write personal fields and free text of a command to the case tables."""
    if not (split.requester or split.case_columns or split.free_text):
        return
    if case_id is None:
        raise FormDataInvalid("personal data or free text needs a case")
    if split.case_columns:
        session.execute(sa.update(Case).where(Case.id == case_id).values(**split.case_columns, updated_at=now))
    if split.requester:
        _store_requester(session, case_id, split.requester, now)
    if split.free_text:
        session.execute(sa.insert(CaseText), [
            {"case_id": case_id, "task_id": task_id, "field": k, "value": v, "created_by": actor, "created_at": now}
            for k, v in split.free_text.items()])


def _store_requester(session: Session, case_id: str, plain: dict[str, Any], now: datetime) -> None:
    values = encrypt_requester(plain)
    requester_id = session.scalar(sa.select(Case.requester_id).where(Case.id == case_id))
    if requester_id is None:
        requester = Requester(created_at=now, **values)
        session.add(requester)
        session.flush()
        session.execute(sa.update(Case).where(Case.id == case_id).values(requester_id=requester.id))
    else:
        session.execute(sa.update(Requester).where(Requester.id == requester_id).values(**values))


ENCRYPTED_FIELDS = ("name", "phone", "id_number", "address")


def encrypt_requester(plain: dict[str, Any]) -> dict[str, Any]:
    """Encrypt the personal columns of requester values and add the phone's blind index and last four digits."""
    cipher = pii.cipher()
    values = {k: cipher.encrypt(k, str(v)) if k in ENCRYPTED_FIELDS and v is not None else v for k, v in plain.items()}
    if "phone" in plain:
        values["phone_index"] = cipher.phone_index(plain["phone"])
        values["phone_last4"] = pii.last4(plain["phone"])
    return values


def read_requester(requester: Requester) -> dict[str, str | None]:
    """Decrypt a requester's personal columns (callers mask them unless the reader may see them)."""
    cipher = pii.cipher()
    return {field: cipher.decrypt(field, getattr(requester, field)) for field in ENCRYPTED_FIELDS}
