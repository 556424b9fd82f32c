"""Search criteria (查询条件) read from a request and checked one by one; a bad value is a message, never a 500."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from collections.abc import Mapping
from dataclasses import asdict
from dataclasses import dataclass
from datetime import date

from processes.accounts import pii
from processes.cases.numbers import has_number
from webapp import labels
from webapp.messages import N_
from webapp.params import positive_int

MAX_TEXT = 100
MAX_PAGE = 10_000
NUMBER_RE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
STATUS_GROUPS = ("open", "finished")
FIELDS = ("number", "phone", "address", "text", "date_from", "date_to", "status", "channel", "township",
          "department", "request_type", "urgency", "light", "due", "stage", "sort", "source")
NO_DEPARTMENT = "-"  # department=- : cases not yet given to a lead unit (未派单)
DUES = ("today", "week")  # open cases not yet overdue whose deadline falls today / by Sunday (Beijing time)
LIGHTS = ("green", "yellow", "red", "overdue", "none")  # where an open case's deadline stands (none: no deadline)
SORTS = ("deadline",)  # besides the default, newest first
# Where an order came from (来源平台), by the channel it was registered through: 民呼我为 (the provincial and city
# 12345 platforms' one unified platform) and 110 hand orders over with their own number; the rest this office took.
SOURCE_CHANNELS = {"mhww": ("platform",), "police110": ("police110",),
                   "local": ("phone", "visit", "township", "network")}
STAGE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")  # the BPMN id of an open task (签收 sign_for, 办理 reply …)
BAD_NUMBER = N_("工单编号只含字母、数字和连字符（最多 32 个字符）。")
BAD_PHONE = N_("请输入完整号码，或号码后四位。")
PHONE_BY_POST = N_("按电话查询请用页面上的查询按钮提交，号码不能出现在网址中。")
TOO_LONG = f"最多 {MAX_TEXT} 个字。"
BAD_TEXT = N_("不能包含控制字符。")
BAD_DATE = N_("日期格式不正确，应为 2026-11-25。")
DATE_ORDER = N_("开始日期不能晚于结束日期。")
CHOOSE = N_("请从列表中选择。")
BAD_PAGE = N_("页码不正确。")
# A number typed into 内容 or 地址 would search by it without the phone lookup's audit row and limit, and a GET
# would put it into the address bar, the history and access logs: refused, whatever the spelling.
NUMBER_IN_TEXT = N_("内容和地址中不能按电话号码或身份证号查找。请清空此栏，在「电话」一栏填写号码后点「查询」"
                    "（按号码查找会记入审计日志）。")


@dataclass(frozen=True)
class Criteria:
    """A checked search: every field optional; `phone` holds digits only."""

    number: str = ""
    phone: str = ""
    address: str = ""
    text: str = ""
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    channel: str = ""
    township: str = ""
    department: str = ""
    page: int = 1
    request_type: str = ""
    urgency: str = ""
    light: str = ""
    due: str = ""
    stage: str = ""
    sort: str = ""
    source: str = ""

    @property
    def phone_mode(self) -> str | None:
        """Return 'exact' (blind index), 'last4' (尾号) or None when no phone was given."""
        if not self.phone:
            return None
        return "last4" if len(self.phone) == 4 else "exact"

    def used(self) -> list[str]:
        """Return the names of the criteria given (for audit rows: names, never values)."""
        values = asdict(self)
        return [name for name in FIELDS if values[name]]


def read_criteria(values: Mapping[str, str], *, phone_allowed: bool, townships: Collection[str],
                  departments: Collection[str]) -> tuple[Criteria, dict[str, str]]:
    """Return the criteria and the problems by field (empty when every value is acceptable)."""
    errors: dict[str, str] = {}
    raw = {name: str(values.get(name, "")).strip() for name in (*FIELDS, "page")}
    number = raw["number"].upper()
    if number and not NUMBER_RE.match(number):
        errors["number"] = BAD_NUMBER
    phone = pii.normalise_phone(raw["phone"])
    if raw["phone"]:
        if not phone_allowed:
            errors["phone"] = PHONE_BY_POST
        elif not (len(phone) == 4 or 7 <= len(phone) <= 15) or re.search(r"[^\d+() -]", _nfkc(raw["phone"])):
            errors["phone"] = BAD_PHONE
    for name in ("address", "text"):
        if len(raw[name]) > MAX_TEXT:
            errors[name] = TOO_LONG
        elif CONTROL_RE.search(raw[name]):
            errors[name] = BAD_TEXT
        elif has_number(raw[name]):
            errors[name] = NUMBER_IN_TEXT
    dates = {name: _date(raw[name], name, errors) for name in ("date_from", "date_to")}
    if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
        errors["date_to"] = DATE_ORDER
    choices = {"status": {*labels.STATUSES, *STATUS_GROUPS}, "channel": set(labels.CHANNELS),
               "township": set(townships), "department": {*departments, NO_DEPARTMENT},
               "request_type": set(labels.REQUEST_TYPES), "urgency": set(labels.URGENCIES), "light": set(LIGHTS),
               "due": set(DUES), "sort": set(SORTS), "source": set(SOURCE_CHANNELS)}
    for name, allowed in choices.items():
        if raw[name] and raw[name] not in allowed:
            errors[name] = CHOOSE
    if raw["stage"] and not STAGE_RE.match(raw["stage"]):
        errors["stage"] = CHOOSE
    page = positive_int(raw["page"], MAX_PAGE) if raw["page"] else 1
    if page is None:
        errors["page"] = BAD_PAGE
    if errors:
        return Criteria(), errors
    return Criteria(number, phone if raw["phone"] else "", raw["address"], raw["text"], dates["date_from"],
                    dates["date_to"], raw["status"], raw["channel"], raw["township"], raw["department"],
                    page or 1, raw["request_type"], raw["urgency"], raw["light"], raw["due"], raw["stage"], raw["sort"],
                    source=raw["source"]), {}


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _date(text: str, name: str, errors: dict[str, str]) -> date | None:
    """Read YYYY-MM-DD (a Beijing calendar day); record a problem for anything else."""
    if not text:
        return None
    try:
        day = date.fromisoformat(_nfkc(text))
    except ValueError:
        errors[name] = BAD_DATE
        return None
    if not 2000 <= day.year <= 2100:
        errors[name] = BAD_DATE
        return None
    return day
