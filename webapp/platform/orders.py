"""Register upstream orders (上级工单) through the platform intake form, one order at a time, with an outcome each.

The same path as a transcriber's screen (受理件转录, `webapp.intake`): the platform process's published start form,
read by the shared form pipeline (`schemaforms.read`, choices from the reference tables) and checked against its
schema, then `commands.open_case`, which stores personal values encrypted in the case tables and never in workflow
state. The file import, `hotline platform import` and `POST /api/v1/platform/orders` all call `Intake.register`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from werkzeug.datastructures import MultiDict

from processes.audit import record as audit
from processes.cases import forms
from processes.cases import upstream_order
from processes.errors import FormDataInvalid
from processes.errors import RuntimeErrorBase
from processes.exchange import receipts
from processes.exchange.platform_import import Row
from processes.runtime import commands
from processes.runtime.context import CommandSummary
from processes.runtime.core import Runtime
from webapp import schemaforms
from webapp.intake.views import published_form
from webapp.schemaforms import choices
from webapp.schemaforms.values import YES_WORDS

PROCESS = "case_platform"
CHANNEL = "platform"
CREATED, DUPLICATE, REFUSED = "created", "duplicate", "refused"
NOT_DEPLOYED = "受理件转录流程尚未发布，不能导入。请联系系统管理员。"
NO_ORDER_NUMBER = "缺少工单编号。"
REQUEST_CODES = frozenset(upstream_order.REQUEST_TYPES.values())


class NotDeployed(RuntimeError):
    """The platform process has no published version: nothing can be registered."""


@dataclass(frozen=True)
class Outcome:
    """What became of one order: created (with its case), duplicate (the earlier case) or refused (why)."""

    row: int
    order: str
    outcome: str
    reason: str = ""
    case: str = ""

    def as_list(self) -> list[Any]:
        """Return the report row stored with an import: [row, order number, outcome, reason, case number]."""
        return [self.row, self.order, self.outcome, self.reason, self.case]

    def as_dict(self) -> dict[str, Any]:
        """Return the outcome as the API answers it."""
        return {"row": self.row, "order_no": self.order, "outcome": self.outcome, "reason": self.reason or None,
                "case_number": self.case or None}


class Intake:
    """The platform intake form prepared once (schema, fields, choices) for a file or a push."""

    def __init__(self, rt: Runtime, *, actor: str, via: str, role: str | None = None,
                 import_id: str | None = None) -> None:
        """Read the published start form of the platform process; raise NotDeployed when there is none."""
        self.rt, self.actor, self.via, self.role, self.import_id = rt, actor, via, role, import_id
        with rt.read() as db:
            schema = published_form(db, PROCESS, forms.INTAKE_FORM)
            if schema is None:
                raise NotDeployed(NOT_DEPLOYED)
            self.schema = schema
            self.spec = schemaforms.describe(schema, choices.lookup(db, None), start=True)
        self.defaults = schemaforms.defaults(self.spec)
        self.seen: dict[str, int] = {}  # order number → the row of this run that registered it
        # Earlier cases of order numbers looked up ahead for a batch of rows (`look_ahead`): number → found or None
        self.known: dict[str, tuple[str, str | None] | None] = {}

    def look_ahead(self, rows: Iterable[Row]) -> None:
        """Look up the earlier cases of a batch of rows' order numbers in two queries instead of two per row."""
        orders = {v.strip() for row in rows for n, v in row.pairs if n == "upstream_order_id" and v.strip()}
        with self.rt.read() as db:
            self.known = {**dict.fromkeys(orders), **receipts.earlier_many(db, orders)}

    def register(self, row: Row) -> Outcome:
        """Register one order, or say why not; never raises for bad data."""
        parsed = upstream_order.read_pairs((n, v) for n, v in row.pairs if _parsed_field(n, v))
        order = parsed.fields.get("upstream_order_id", "")
        if row.problem:
            return Outcome(row.number, order, REFUSED, row.problem)
        given = {n for n, v in row.pairs if v.strip() and _parsed_field(n, v)}
        if given - parsed.fields.keys():  # a value was there but unreadable: say which, register nothing
            return Outcome(row.number, order or _raw_order(row.pairs), REFUSED, "；".join(parsed.problems))
        if not order:
            return Outcome(row.number, "", REFUSED, NO_ORDER_NUMBER)
        found = self._known_earlier(order)
        if found is not None:
            return self._earlier(row.number, order, found)
        data, errors = self._read(parsed, row.pairs)
        if errors:
            return Outcome(row.number, order, REFUSED, errors)
        outcome = self._open(row.number, order, data)
        if outcome.outcome == CREATED:
            self.seen[order] = row.number
        return outcome

    def _known_earlier(self, order: str) -> tuple[str, str | None] | None:
        """Return the earlier case of an order: looked up ahead for this batch, else now."""
        if order in self.known:
            return self.known.pop(order)  # once: a row of this batch registering it is remembered in `seen`
        with self.rt.read() as db:
            return receipts.earlier(db, order)

    def _earlier(self, number: int, order: str, found: tuple[str, str | None]) -> Outcome:
        """A repeated order: this import's own earlier try (a runner taken over) counts as created."""
        case, import_id = found
        if order in self.seen:
            return Outcome(number, order, DUPLICATE, f"与第 {self.seen[order]} 行重复，已登记为工单 {case}。", case)
        if import_id is not None and import_id == self.import_id:
            self.seen[order] = number
            return Outcome(number, order, CREATED, "", case)
        return Outcome(number, order, DUPLICATE, f"已登记为工单 {case}。", case)

    def _read(self, parsed: upstream_order.ParsedOrder, pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, Any],
                                                                                                   str]:
        """Fill the form as a transcriber would and read it back; return the data and the problems in one line."""
        typed: dict[str, str | list[str]] = dict(self.defaults)
        values = {**{n: v.strip() for n, v in pairs if not _parsed_field(n, v) and v.strip()}, **parsed.fields}
        for name, value in values.items():
            f = self.spec.get(name)
            if f is not None and f.fixed is None:
                typed[name] = _as_typed(f, value)
        data, errors = schemaforms.read(self.spec, MultiDict(typed))
        for name, message in forms.errors_of(self.schema, data).items():
            errors.setdefault(name, message)
        titles = {f.name: f.label for f in self.spec.fields}
        return data, "；".join(f"{titles.get(n, n)}：{m}" for n, m in errors.items())

    def _open(self, number: int, order: str, data: dict[str, Any]) -> Outcome:
        """Open the case with its receipt and audit row in one transaction; a concurrent twin is a duplicate."""
        def also(conn: Connection, opened: CommandSummary) -> None:
            now = self.rt.clock()
            receipts.record(conn, order_no=order, case_id=str(opened.case_id), case_number=str(opened.case_number),
                            via=self.via, actor=self.actor, now=now, import_id=self.import_id)
            audit.record(conn, action="case.register", actor=self.actor, role=self.role, at=now, object_type="case",
                         object_id=opened.case_number, after={k: data[k] for k in ("request_type", "urgency",
                                                                                    "township") if k in data},
                         detail={"channel": CHANNEL, "process": PROCESS, "fields": sorted(data), "via": self.via,
                                 "upstream_order_id": order, "import_id": self.import_id})
        try:
            started = commands.open_case(self.rt, PROCESS, data, actor=self.actor, channel=CHANNEL, also=also)
        except receipts.DuplicateOrder:
            with self.rt.read() as db:
                found = receipts.earlier(db, order)
            return self._earlier(number, order, found or ("", None))
        except FormDataInvalid as exc:
            problems = [t if not t.isascii() else forms.BAD_FORMAT for t in exc.errors.values()]
            return Outcome(number, order, REFUSED, "；".join(problems) or forms.BAD_FORMAT)
        except RuntimeErrorBase as exc:  # the process failed at its first step: nothing was registered
            return Outcome(number, order, REFUSED, f"登记失败（{type(exc).__name__}），请稍后重试或手工转录。")
        return Outcome(number, order, CREATED, "", started.case_number or "")


def _parsed_field(name: str, value: str) -> bool:
    """Whether the paste parser reads this field (the rest go to the form as given: codes, names, choices)."""
    if name == "request_type" and value.strip() in REQUEST_CODES:
        return False  # already our code (help, complaint …): nothing to translate
    return name in upstream_order.ALIASES


def _as_typed(f: schemaforms.Field, value: str) -> str:
    """Return a value as the screen's input would hold it: a choice by its code or its Chinese label."""
    if f.widget == "datetime":
        return schemaforms.input_time(value)
    if f.widget == "checkbox":
        return "on" if value.lower() in YES_WORDS | {"y", "yes"} else ""
    if f.options:
        by_label = {o.label: o.value for o in f.options}
        return by_label.get(value, value)
    return value


def _raw_order(pairs: Iterable[tuple[str, str]]) -> str:
    """The order number as given, for the report of a row whose number was malformed (cut short)."""
    return next((v.strip()[:64] for n, v in pairs if n == "upstream_order_id"), "")
