"""Read an Open311 POST (上报诉求) into the intake's start data, checked like the intake screens' own forms.

The start data is what the 来电登记 form would hold (诉求类型, 紧急程度 一般, 诉求类别 = the service's category,
乡镇, 诉求内容, 发生地址, 诉求人姓名 and 电话); what only Open311 sends (lat/long, media_url, e-mail, device and
account ids) goes to the open311_request row, the contact ids encrypted. A township is the `township` attribute,
else the one whose name the address mentions (北岙街道 or 北岙); coordinates alone name none (the reference data
has no boundaries). Every problem is one sentence naming the Open311 parameter.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask_babel import gettext

from processes.accounts import pii
from webapp.messages import N_
from webapp.open311.catalogue import DEFAULT_REQUEST_TYPE
from webapp.open311.catalogue import Attribute
from webapp.open311.catalogue import Service

MAX_DESCRIPTION = 4000  # GeoReport v2 and the intake form agree
MAX_ADDRESS = 200
MAX_ID = 100
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
URL_RE = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
CONTACT_FIELD = "open311_contact"  # the field name bound into the contact ciphertext
# Intake fields as the Open311 parameters that carry them, for messages.
PARAMETERS = {"content": "description", "location": "address_string", "requester_phone": "phone",
              "requester_name": "first_name / last_name", "township": "attribute[township]",
              "request_type": "attribute[request_type]", "category": "service_code"}
NO_LOCATION = N_("请提供位置：lat 和 long，或 address_string。")
NO_ADDRESS_ID = N_("本系统没有地址编号库，请用 address_string 或 lat、long 提供位置。")
BAD_COORDINATES = N_("lat、long 须同时提供，且为有效的纬度（-90 至 90）和经度（-180 至 180）。")
NO_DESCRIPTION = N_("请填写 description（诉求内容）。")
TOO_LONG = N_("%(name)s 不能超过 %(limit)d 个字符。")
BAD_EMAIL = N_("email 格式不正确。")
BAD_URL = N_("media_url 须是 http 或 https 网址（不超过 500 个字符）。")
BAD_CHOICE = N_("%(name)s 的取值不在该服务的可选值中。")
BAD_FIELD = N_("%(name)s：%(problem)s")


@dataclass
class Submission:
    """A checked Open311 POST: the intake's start data and what the open311_request row keeps."""

    data: dict[str, Any]
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None
    contact: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    reported: set[str] = field(default_factory=set)  # intake fields whose problem is already in `problems`

    def sealed_contact(self) -> str | None:
        """Return the contact ids (e-mail, device, account) encrypted, None when none was sent."""
        if not self.contact:
            return None
        return pii.cipher().encrypt(CONTACT_FIELD, json.dumps(self.contact, ensure_ascii=False))


def _clean(values: Mapping[str, str], name: str) -> str:
    return (values.get(name) or "").strip()


def read(values: Mapping[str, str], service: Service, townships: list[tuple[str, str]]) -> Submission:
    """Return the start data and extras of a POST, with every problem found (empty when it may be registered)."""
    sub = Submission({"request_type": DEFAULT_REQUEST_TYPE, "urgency": "normal", "category": service.category,
                      "caller_type": "person"})
    _matter(values, sub)
    _place(values, sub, townships)
    _requester(values, sub)
    _attributes(values, service, sub)
    return sub


def _long_text(sub: Submission, name: str, value: str, limit: int, intake: str = "") -> bool:
    if len(value) > limit or "\x00" in value:
        sub.problems.append(gettext(TOO_LONG, name=name, limit=limit))
        sub.reported.add(intake)
        return False
    return True


def _matter(values: Mapping[str, str], sub: Submission) -> None:
    """诉求内容 and the photo link."""
    description = _clean(values, "description")
    if not description:
        sub.problems.append(gettext(NO_DESCRIPTION))
        sub.reported.add("content")
    elif _long_text(sub, "description", description, MAX_DESCRIPTION, "content"):
        sub.data["content"] = description
    media = _clean(values, "media_url")
    if media:
        if len(media) > 500 or not URL_RE.match(media):
            sub.problems.append(gettext(BAD_URL))
        else:
            sub.media_url = media


def _place(values: Mapping[str, str], sub: Submission, townships: list[tuple[str, str]]) -> None:
    """发生地址 and coordinates; the township the address names."""
    address, lat, long = _clean(values, "address_string"), _clean(values, "lat"), _clean(values, "long")
    if lat or long:
        try:
            sub.lat, sub.long = float(lat), float(long)
        except ValueError:
            sub.problems.append(gettext(BAD_COORDINATES))
        else:
            if not (math.isfinite(sub.lat) and math.isfinite(sub.long)) or abs(sub.lat) > 90 or abs(sub.long) > 180:
                sub.problems.append(gettext(BAD_COORDINATES))
                sub.lat = sub.long = None
    if address and _long_text(sub, "address_string", address, MAX_ADDRESS, "location"):
        sub.data["location"] = address
        named = township_in(address, townships)
        if named:
            sub.data["township"] = named
    if not address and not (lat or long):
        sub.problems.append(gettext(NO_ADDRESS_ID if _clean(values, "address_id") else NO_LOCATION))


def township_in(address: str, townships: list[tuple[str, str]]) -> str | None:
    """Return the township whose full or short name (北岙街道 / 北岙) the address mentions, the longest match."""
    best: tuple[int, str] | None = None
    for code, name in townships:
        short = re.sub(r"(街道|镇|乡)$", "", name)
        for candidate in (name, short):
            if len(candidate) >= 2 and candidate in address and (best is None or len(candidate) > best[0]):
                best = (len(candidate), code)
    return best[1] if best else None


def _requester(values: Mapping[str, str], sub: Submission) -> None:
    """诉求人: name (姓 + 名; Latin names as first last), phone; e-mail, device and account ids kept apart."""
    first, last = _clean(values, "first_name"), _clean(values, "last_name")
    if first or last:
        latin = (first + last).isascii()
        name = " ".join(p for p in (first, last) if p) if latin else last + first
        if _long_text(sub, "first_name / last_name", name, 50, "requester_name"):
            sub.data["requester_name"] = name
    phone = _clean(values, "phone")
    if phone:
        sub.data["requester_phone"] = phone
    email = _clean(values, "email")
    if email:
        if len(email) > 254 or not EMAIL_RE.match(email):
            sub.problems.append(gettext(BAD_EMAIL))
        else:
            sub.contact["email"] = email
    for name in ("device_id", "account_id"):
        value = _clean(values, name)
        if value and _long_text(sub, name, value, MAX_ID):
            sub.contact[name] = value


def _attributes(values: Mapping[str, str], service: Service, sub: Submission) -> None:
    """The service's questions (attribute[code]): request type and township to routing, the others to the text."""
    lines = []
    for attribute in service.attributes:
        parameter = f"attribute[{attribute.code}]"
        given = _clean(values, parameter)
        if not given:
            continue
        if given not in {key for key, _ in attribute.values}:
            sub.problems.append(gettext(BAD_CHOICE, name=parameter))
        elif attribute.code in ("request_type", "township"):
            sub.data[attribute.code] = given
        else:
            lines.append(_answer_line(attribute, given))
    if lines and "content" in sub.data:
        sub.data["content"] = "\n".join([sub.data["content"], *lines])


def _answer_line(attribute: Attribute, key: str) -> str:
    """Return 【问题】回答 for an answered question, as the case's text keeps it (in Chinese, the office's words)."""
    name = dict(attribute.values)[key]
    return f"【{attribute.description}】{name}"


def field_problem(name: str, problem: str) -> str:
    """Return the message of an intake field's problem, naming the Open311 parameter that carried it."""
    return str(gettext(BAD_FIELD, name=PARAMETERS.get(name, name), problem=problem))
