"""Open311 services (服务目录): the office's 诉求分类 from the 派单目录, each with a stable code and its attributes.

A category of the dispatch catalogue (reference/dispatch_catalogue.csv, table dispatch_rule) is one service: its
name is the category, its group the lead unit (主办单位) the catalogue sends it to, its description and keywords
the catalogue's note. The code is derived from the name (`c` + 8 hex digits of its SHA-256), so it stays the same
across installations and reloads of the catalogue, and only ASCII goes into URLs.

Every service asks two optional attributes, 诉求类型 (request type, default 求助) and 所属乡镇（街道）; some
categories ask more (CATEGORY_ATTRIBUTES), whose answers are added to the 诉求内容 as a line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.reference.models import Department
from processes.reference.models import DispatchRule
from webapp.labels import REQUEST_TYPES
from webapp.messages import N_

DEFAULT_REQUEST_TYPE = "help"  # 求助: what a citizen reporting a matter through an app usually asks


@dataclass(frozen=True)
class Attribute:
    """One question of a service (GeoReport attribute): a single choice of codes, its texts translated when shown."""

    code: str
    description: str
    order: int
    values: tuple[tuple[str, str], ...]
    required: bool = False
    datatype: str = "singlevaluelist"

    def as_data(self) -> dict[str, Any]:
        """Return the attribute as GeoReport v2 describes it."""
        return {"variable": True, "code": self.code, "datatype": self.datatype, "required": self.required,
                "datatype_description": None, "order": self.order, "description": gettext(self.description),
                "values": [{"key": key, "name": gettext(name)} for key, name in self.values]}


@dataclass(frozen=True)
class Service:
    """One Open311 service: a category of the dispatch catalogue."""

    code: str
    category: str
    group: str
    description: str
    keywords: tuple[str, ...]
    attributes: tuple[Attribute, ...] = field(default=())

    def as_data(self) -> dict[str, Any]:
        """Return the service as the GeoReport v2 service list shows it."""
        return {"service_code": self.code, "service_name": self.category, "description": self.description,
                "metadata": bool(self.attributes), "type": "realtime", "keywords": ",".join(self.keywords),
                "group": self.group}


# Questions some categories need answered to be handled: 噪音扰民 is measured against day or night limits.
CATEGORY_ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "噪音扰民": (Attribute("noise_period", N_("噪音发生时段"), 3,
                           (("day", N_("白天（6时至22时）")), ("night", N_("夜间（22时至次日6时）")))),),
}


def service_code(category: str) -> str:
    """Return the stable Open311 code of a category."""
    return "c" + hashlib.sha256(category.encode("utf-8")).hexdigest()[:8]


def townships(db: Session) -> list[tuple[str, str]]:
    """Return (code, name) of the active townships (乡镇、街道), in code order."""
    return [(code, name) for code, name in db.execute(sa.select(Department.code, Department.name).where(
        Department.kind == "township", Department.active.is_(True)).order_by(Department.code))]


def services(db: Session) -> list[Service]:
    """Return every service: one per category of the dispatch catalogue, in the catalogue's name order."""
    units = {code: name for code, name in db.execute(sa.select(Department.code, Department.name))}
    rows = db.execute(sa.select(DispatchRule.category, DispatchRule.lead, DispatchRule.note)
                      .order_by(DispatchRule.category, DispatchRule.township != "*", DispatchRule.id)).all()
    common = _common_attributes(db)
    found: dict[str, Service] = {}
    for category, lead, note in rows:
        if category in found:
            continue  # the catch-all row ('*') comes first and speaks for the category
        keywords = tuple(k.strip() for k in note.replace("，", "、").split("、") if k.strip())
        found[category] = Service(service_code(category), category, units.get(lead, lead), note, keywords,
                                  common + CATEGORY_ATTRIBUTES.get(category, ()))
    return list(found.values())


def find(db: Session, code: str) -> Service | None:
    """Return the service of a code, None when no category has it."""
    return next((s for s in services(db) if s.code == code), None)


def _common_attributes(db: Session) -> tuple[Attribute, ...]:
    """The questions every service asks: request type and township, both optional."""
    return (Attribute("request_type", N_("诉求类型（不填为求助）"), 1, tuple(REQUEST_TYPES.items())),
            Attribute("township", N_("所属乡镇（街道）（不填按地址识别）"), 2, tuple(townships(db))))
