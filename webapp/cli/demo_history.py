"""The demo's past (演示历史): about 90 days of closed cases, so the dashboard, reports and search show an office.

`hotline demo` writes, once, on a fresh database, office days before today of finished cases: more on workdays than
on weekends and holidays (`calendar_day`), at the hours people call, over channels, townships and the 派单目录's
categories with their lead units. Each case has a completed instance, completed tasks done by the demo's accounts
(units and callbacks in the daytime), a history the timeline can tell, and, for calls and visits, a requester
encrypted and phone-indexed under the instance's key as intake writes them; some call again. The metric rollup is
then rebuilt. Nothing seeded is open: every task an operator can open is a live one. `bench.seed_rows.Maker` draws
the cases (lateness, extensions, returns, callbacks at an office's rates); this module dresses them.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from processes.cases import numbering
from processes.cases.personal import encrypt_requester
from processes.clock import OFFICE_TZ
from processes.db.base import Base
from processes.metrics import rollup
from processes.metrics.periods import office_day
from processes.reference.models import CalendarDay
from processes.reference.models import DispatchRule
from processes.runtime.core import Runtime
from webapp.cli import demo_story as story

DEFAULT_DAYS = 90
# Cases per office day: workdays, weekends and holidays (a holiday is a weekday the calendar marks as a day off).
PER_DAY = {"workday": (24, 32), "weekend": (12, 18), "holiday": (8, 14)}
# When people call or come in, by Beijing hour: mornings and afternoons, a few at night.
HOURS = [1, 1, 1, 1, 1, 1, 2, 4, 9, 12, 12, 10, 6, 7, 10, 11, 10, 7, 5, 5, 4, 3, 2, 1]
DAYTIME_ROLES = ("handler", "callback", "leader")  # the units and the callback desk work days (08-21)
DAY_START, DAY_END = 8, 21
DISPATCHERS = ("zhang.wei", "li.na", "wang.fang", "zhao.lei")
INTAKE = {"phone": ("op1", "chen.jing"), "visit": ("op1", "chen.jing"), "platform": ("tr1",), "police110": ("op1",)}
HANDLE_DAYS = 5  # the handling days bench.seed_rows gives a case, and adds again for its one 延期
DOUBTFUL = 0.3  # share of 不满意 callbacks the office marks 存疑 (存疑件, listed by the weekly upward report)
REPEAT_CALLER = 0.08  # share of calls from someone who called before (重复来电): the phone lookup finds several
# The status a completed step leaves (the lifecycle's mark_* tasks), for the timeline's milestones.
LEAVES = {"triage": ("mark_accepted", "accepted"), "dispatch": ("record_dispatch", "dispatched"),
          "sign_for": ("mark_signed", "signed"), "reply": ("mark_replied", "replied")}
CLOSING = {"archived": ("closed", "published", "archived"), "published": ("closed", "published"),
           "closed": ("closed",), "rejected": ("rejected",), "transferred": ("transferred",), "merged": ("merged",)}


@dataclass
class Past:
    """What the demo's past holds."""

    cases: int
    requesters: int
    rows: int
    seconds: float


@dataclass
class Office:
    """What the dressing reads from reference data: the 派单目录 and the calendar."""

    catalogue: dict[tuple[str, str], tuple[str, list[str]]]
    weights: dict[str, int]
    workdays: dict[date, bool]


def read_office(conn: sa.Connection, first: date, last: date) -> Office:
    """Read the dispatch catalogue (without 其他, which stays with the office) and the calendar of the days."""
    catalogue = {(str(r.category), str(r.township)): (str(r.lead), [a for a in str(r.assisting).split(",") if a])
                 for r in conn.execute(sa.select(DispatchRule))}
    categories = sorted({c for c, _ in catalogue if c != "其他"})
    workdays = {d: bool(w) for d, w in conn.execute(sa.select(CalendarDay.day, CalendarDay.is_workday).where(
        CalendarDay.day >= first, CalendarDay.day <= last))}
    return Office(catalogue, story.category_weights(categories), workdays)


def day_kind(day: date, workdays: dict[date, bool]) -> str:
    """Return workday, weekend or holiday (a year without a notice falls back to Monday to Friday)."""
    if workdays.get(day, day.weekday() < 5):
        return "workday"
    return "weekend" if day.weekday() >= 5 else "holiday"


def daytime(at: datetime, rng: random.Random) -> datetime:
    """Return the instant itself within 08:00-21:00 Beijing time, else the next morning."""
    local = at.astimezone(OFFICE_TZ)
    if DAY_START <= local.hour < DAY_END:
        return at
    morning = local.replace(hour=DAY_START, minute=0, second=0) + timedelta(days=int(local.hour >= DAY_END))
    return (morning + timedelta(minutes=rng.uniform(5, 240))).astimezone(UTC)  # the morning works it off


def arrivals(rng: random.Random, office: Office, days: int, now: datetime) -> list[datetime]:
    """Return when each case of the past came in (UTC), oldest first, none in the last three hours."""
    today = office_day(now)
    out: list[datetime] = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        low, high = PER_DAY[day_kind(day, office.workdays)]
        for _ in range(rng.randint(low, high)):
            hour = rng.choices(range(24), HOURS)[0]
            local = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60),
                             tzinfo=OFFICE_TZ)
            if local < now - timedelta(hours=3):
                out.append(local.astimezone(UTC))
    return sorted(out)


class Dresser:
    """Gives each drawn case the demo's category, unit, people, words and a history a timeline can tell."""

    def __init__(self, rng: random.Random, office: Office, now: datetime) -> None:
        """Start with no requesters yet."""
        self.rng, self.office, self.now = rng, office, now
        self.requesters: list[dict[str, Any]] = []
        self.texts: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.deadlines: list[dict[str, Any]] = []

    def dress(self, case: dict[str, Any], tasks: list[dict[str, Any]], instance: dict[str, Any]) -> None:
        """Dress one case, its instance and its tasks in place, and write its history and texts."""
        rng, instance_id = self.rng, str(instance["id"])
        self._working_hours(case, tasks)
        instance["updated_at"] = case["closed_at"]
        category = rng.choices(list(self.office.weights), list(self.office.weights.values()))[0]
        case["category"], township = category, case["township"]
        if case["lead_department"] is not None:
            lead, assisting = self.office.catalogue.get((category, township)) or self.office.catalogue[(category, "*")]
            case["lead_department"], case["assisting_departments"] = lead, assisting
        case["content"] = story.ask(rng, category, township)
        case["upstream_order_id"] = self._upstream(case)
        case["requester_id"] = self._requester(case)
        if (result := case["callback_result"]) is not None:  # as the 回访 handler records it (handlers/casework.py)
            doubtful = result == "unsatisfied" and rng.random() < DOUBTFUL
            case["flags"] = {"callback_result": result, **({"doubtful": True} if doubtful else {})}
        intake = rng.choice(INTAKE.get(case["channel"], (f"tw.{township}",)))
        self._event(case, instance_id, "started", case["created_at"], None, intake, {"version": 1})
        for task in tasks:
            self._task(case, instance_id, task, intake)
        self._deadlines(case, instance_id, {str(t["bpmn_id"]): t for t in tasks})
        at = case["closed_at"]
        closing = ("answered", "closed", "archived") if case["direct_answer"] else CLOSING.get(case["status"], ())
        for n, status in enumerate(closing):  # 挂网 and 归档 follow 办结 by a day or so
            at = min(case["closed_at"] + timedelta(hours=20 * n), self.now - timedelta(minutes=30 - n))
            actor = (tasks[-1]["completed_by"], self.rng.choice(DISPATCHERS), "system")[n]  # 挂网审核, then 归档
            self._status(case, instance_id, at, f"mark_{status}", status, actor)
        self._event(case, instance_id, "completed", at, None, "system", {})

    def _working_hours(self, case: dict[str, Any], tasks: list[dict[str, Any]]) -> None:
        """Move the units' and the callbacks' work into the day; the night shift only triages and dispatches."""
        at = case["created_at"]
        for task in tasks:
            task["created_at"], done = at, max(task["completed_at"], at)
            if task["role"] in DAYTIME_ROLES:
                done = daytime(done, self.rng)
            at = task["completed_at"] = min(done, max(at, self.now - timedelta(hours=1)))
            task["due_at"] = task["created_at"] + timedelta(days=1)  # bench.seed_rows: a day per step
        case["closed_at"] = case["updated_at"] = at

    def _deadlines(self, case: dict[str, Any], instance_id: str, steps: dict[str, dict[str, Any]]) -> None:
        """Write the 签收 and 办理 deadlines of a dispatched case (and its 延期), as the lifecycle computes them."""
        lead, sign, reply = case["lead_department"], steps.get("sign_for"), steps.get("reply")
        if lead is None or sign is None or reply is None:
            return
        extended = HANDLE_DAYS * case["extension_count"]
        for stage, start, due, rule in (("sign_for", sign["created_at"], sign["due_at"], "签收：1个工作日"),
                                        ("handle", reply["created_at"], case["deadline"], "办理：默认5个工作日")):
            self.deadlines.append({
                "case_id": case["id"], "instance_id": instance_id, "stage": stage, "unit": lead, "start_at": start,
                "due_at": due, "warn_at": due - timedelta(hours=24), "notice_at": None, "rule": rule,
                "extension_days": extended if stage == "handle" else 0, "capped": False, "calendar_warning": None,
                "due_timers": "", "warn_timers": "", "notice_timers": "", "updated_at": start})
        if extended:  # granted by the leader on the unit's 申请延期, a day into the handling
            previous = case["deadline"] - timedelta(days=extended)
            self._event(case, instance_id, "deadline_extended", reply["created_at"] + timedelta(days=1), None,
                        "chen.jun", {"days": extended, "unit": lead, "previous": previous.isoformat(),
                                     "due": case["deadline"].isoformat()})

    def _upstream(self, case: dict[str, Any]) -> str | None:
        """Return the 民呼我为 order number of a transcribed case or the 警情编号 of a 110 hand-over."""
        day = case["created_at"].astimezone(OFFICE_TZ)
        if case["channel"] == "platform":
            return f"ZJ{day:%Y%m%d}{self.rng.randrange(100000):05d}"
        return f"110-{day:%Y%m%d}-{case['number'][-4:]}" if case["channel"] == "police110" else None

    def _requester(self, case: dict[str, Any]) -> str | None:
        """Return the requester of a call, visit or transcribed order: now and then one who called before."""
        if case["channel"] not in ("phone", "visit", "platform"):
            return None
        if self.requesters and self.rng.random() < REPEAT_CALLER:
            return str(self.rng.choice(self.requesters)["id"])
        name, phone = story.person(self.rng)
        plain = {"name": None if case["channel"] == "platform" else name, "phone": phone, "caller_type": "person"}
        row = {"id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), "created_at": case["created_at"],
               "id_number": None, "address": None, **encrypt_requester(plain)}
        self.requesters.append(row)
        return str(row["id"])

    def _task(self, case: dict[str, Any], instance_id: str, task: dict[str, Any], intake: str) -> None:
        """Give a completed task its unit and the account that did it; write its history line and texts."""
        step, lead = task["bpmn_id"], case["lead_department"]
        if task["department"] is not None:
            task["department"] = lead
        by_role = {"dispatcher": self.rng.choice(DISPATCHERS), "handler": f"h.{lead}", "callback": "cb1",
                   "leader": "chen.jun"}
        task["completed_by"] = actor = by_role.get(task["role"], intake)
        values, texts = self._decisions(case, step)
        self._event(case, instance_id, "task_completed", task["completed_at"], step, actor, {"values": values},
                    task["id"], sorted([*values, *texts]))
        for name, value in texts.items():
            self.texts.append({"case_id": case["id"], "task_id": task["id"], "field": name, "value": value,
                               "created_by": actor, "created_at": task["completed_at"]})
        if step in LEAVES and (step != "triage" or case["lead_department"] is not None):
            self._status(case, instance_id, task["completed_at"], *LEAVES[step], actor)

    def _decisions(self, case: dict[str, Any], step: str) -> tuple[dict[str, Any], dict[str, str]]:
        """Return the decisions and the free texts a step of this case recorded."""
        rng, result = self.rng, case["callback_result"]
        if step == "triage":
            verdict = {"rejected": "not_accepted", "transferred": "transfer"}.get(case["status"], "dispatch")
            verdict = "direct_answer" if case["direct_answer"] else verdict
            texts = {"reject_reason": "不属于政务热线受理范围，已告知诉求人"} if verdict == "not_accepted" else {}
            return {"request_type": case["request_type"], "urgency": case["urgency"], "triage_result": verdict}, texts
        if step == "direct_answer":
            return {}, {"direct_answer": rng.choice(story.DIRECT)}
        if step == "dispatch":
            values = {"dispatch_mode": "department", "lead_department": case["lead_department"]}
            return values | ({"assisting_departments": a} if (a := case["assisting_departments"]) else {}), {}
        if step == "sign_for":
            return {"sign_decision": "sign"}, {}
        if step == "reply":
            return ({"reply_action": "reply", "claim_true": True, "contacted": True, "solved": case["solved"] is True},
                    {"reply_text": rng.choice(story.REPLIES), "contact_record": rng.choice(story.CONTACTS)})
        if step == "review":
            return {"review_result": "accept"}, {}
        if step == "callback" and result is not None:
            values = {"callback_result": result, **({} if case["solved"] is None else {"solved": case["solved"]})}
            if result == "unsatisfied":  # 存疑 goes to the weekly upward report; the others are closed as they are
                values["unsatisfied_decision"] = "doubtful" if case["flags"].get("doubtful") else "close"
            return values, {"callback_note": story.CALLBACK_NOTES[result]}
        return {}, {}

    def _status(self, case: dict[str, Any], instance_id: str, at: datetime, bpmn_id: str, status: str,
                actor: str) -> None:
        """Write a status change the lifecycle records (受理, 办结, 挂网, 归档 …)."""
        self._event(case, instance_id, "status_changed", at, bpmn_id, actor, {"status": status})

    def _event(self, case: dict[str, Any], instance_id: str, kind: str, at: datetime, step: str | None, actor: str,
               detail: dict[str, Any], task_id: str | None = None, fields: list[str] | None = None) -> None:
        """Write one history row."""
        self.events.append({"instance_id": instance_id, "case_id": case["id"], "at": at, "actor": actor,
                            "kind": kind, "task_id": task_id, "bpmn_id": step, "fields": fields or [],
                            "detail": detail, "dedupe_key": None})


def draw(rt: Runtime, days: int, seed: int) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """Draw the past's rows by table (parents first) and the last case number of each day."""
    from bench.seed_load import office_of  # bench/ ships with the source tree, as the demo does
    from bench.seed_rows import CaseRows
    from bench.seed_rows import Maker

    now = rt.clock()
    with rt.writer.connect() as conn:
        drawn = office_of(conn)  # published definitions, units, townships, the days' last case numbers
        office = read_office(conn, office_day(now) - timedelta(days=days), office_day(now))
    # A repeatable made-up past, no secret; its own stream (Maker draws from seed and seed + 1)
    rng = random.Random(seed + 2)  # noqa: S311
    maker, dresser, rows = Maker(drawn, now, seed, days), Dresser(rng, office, now), CaseRows()
    for created in arrivals(rng, office, days, now):
        tasks_before = len(rows.of["human_task"])
        maker.add(rows, None, created=created)
        case, instance = rows.of["hotline_case"][-1], rows.of["process_instance"][-1]
        dresser.dress(case, rows.of["human_task"][tasks_before:], instance)
    # Maker's own plain history lines give way to the dressed ones; requesters go in before the cases naming them
    tables = {"requester": dresser.requesters, **rows.of, "history_event": dresser.events,
              "case_deadline": dresser.deadlines, "case_text": dresser.texts}
    last = {prefix[len(numbering.PREFIX):-1]: n for prefix, n in drawn.numbers.items()}
    return tables, last


def write_history(rt: Runtime, days: int, *, seed: int = 2026) -> Past:
    """Write `days` days of closed cases before today and rebuild the metric rollup; return what was written."""
    started = time.monotonic()
    tables, last = draw(rt, days, seed)
    with rt.writer.begin() as conn:
        for name, values in tables.items():
            if values:
                conn.execute(Base.metadata.tables[name].insert(), values)
        numbering.record_used(conn, last)
    with rt.write() as session, session.begin():
        rollup.refresh_full(session, now=rt.clock())
    rows = sum(len(v) for v in tables.values())
    return Past(len(tables["hotline_case"]), len(tables["requester"]), rows, time.monotonic() - started)
