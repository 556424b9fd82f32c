"""Rows of one seeded case (hotline_case, process_instance, human_task, history_event, case_deadline, timer_job).

Pure Python, no database and no Flask: `CaseRows` turns a random draw into plain dicts for Core inserts. Instances
carry an empty snapshot and an empty projection: views across instances read projections, history and case
columns, never snapshots, so a seeded instance is display-only; a command on one fails to load it (by design).
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from processes.cases import numbering

Row = dict[str, Any]

PROCESS_KEYS = {"phone": "case_phone", "visit": "case_visit", "platform": "case_platform",
                "township": "case_township", "police110": "case_110"}
CHANNEL_WEIGHTS = {"phone": 60, "platform": 20, "visit": 8, "township": 8, "police110": 4}
REQUEST_TYPES = {"consult": 30, "help": 20, "complaint": 30, "report": 8, "suggestion": 8, "praise": 2, "other": 2}
URGENCIES = {"normal": 90, "urgent": 8, "critical": 2}
CATEGORIES = ("噪音扰民", "市政设施", "城市管理", "劳动保障", "供水", "交通出行", "环境卫生", "市场监管")
# Each step of the real diagrams: BPMN id, task name, role, whether the lead unit holds it, case status while open.
STEPS: dict[str, tuple[str, str, bool, str]] = {
    "triage": ("初审（理件）", "dispatcher", False, "triage"),
    "dispatch": ("派单", "dispatcher", False, "accepted"),
    "sign_for": ("签收", "handler", True, "dispatched"),
    "reply": ("办理答复", "handler", True, "signed"),
    "extension_approval": ("延期审批", "leader", False, "extension"),
    "review": ("审核", "dispatcher", False, "replied"),
    "callback": ("回访（核实）", "callback", False, "reviewed"),
}
PATH = ("triage", "dispatch", "sign_for", "reply", "review", "callback")
OPEN_WEIGHTS = {"triage": 8, "dispatch": 7, "sign_for": 15, "reply": 45, "extension_approval": 3, "review": 12,
                "callback": 10}
LIGHTS = {"green": 55, "yellow": 20, "red": 10, "overdue": 15}
FINISHED = {"archived": 55, "closed": 25, "published": 12, "rejected": 3, "transferred": 3, "merged": 2}
DIRECT_SHARE = 0.2  # 直接答复: answered at intake, archived at once
TIMERS = {"sign_for": ("sign_late",), "reply": ("yellow_timer", "red_timer")}
# What the metrics read (processes/metrics), drawn from a second random stream so the first draws stay as they were.
# Shares near the office's published figures (domain.md §7): 按时办结 ~95 %, 满意 ~90 %, 回退 ~3 %, 重办 ~2 %.
LATE_SIGN, LATE_CLOSE, EXTENDED, RETURNED, REHANDLED, UNREACHABLE = 0.01, 0.025, 0.03, 0.03, 0.02, 0.02
CALLBACK_RESULTS = {"satisfied": 80, "basically_satisfied": 11, "unsatisfied": 9}
SOLVED_SHARE = {"satisfied": 0.97, "basically_satisfied": 0.85, "unsatisfied": 0.25}
NOT_DISPATCHED = ("rejected", "transferred")  # 不予受理, 转110: closed at 初审, never sent to a unit
HANDLE_DAYS = 5  # the seeded 办理时限 from receipt, plus as much again when 延期 was granted


_CUMULATIVE: dict[int, tuple[list[str], list[int], int]] = {}


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    """Return one key drawn by weight (the running sums kept per table: random.choices rebuilds them per call)."""
    found = _CUMULATIVE.get(id(weights))
    if found is None:
        sums = [sum(list(weights.values())[:n + 1]) for n in range(len(weights))]
        found = _CUMULATIVE[id(weights)] = (list(weights), sums, sums[-1])
    keys, sums, total = found
    return keys[bisect(sums, rng.random() * total)]


def light_deadline(rng: random.Random, light: str, now: datetime) -> tuple[datetime, str]:
    """Return a deadline that shows this light at `now`, and the case's warning level for it."""
    if light == "green":
        return now + timedelta(hours=rng.uniform(30, 240)), "none"
    if light == "yellow":
        return now + timedelta(hours=rng.uniform(3, 23)), "yellow"
    if light == "red":
        return now + timedelta(minutes=rng.uniform(10, 110)), "red"
    return now - timedelta(hours=rng.uniform(1, 240)), "red"


TABLES = ("hotline_case", "process_instance", "human_task", "history_event", "case_deadline", "timer_job")


class CaseRows:
    """The rows of one batch by table name, parents first."""

    def __init__(self) -> None:
        """Start an empty batch."""
        self.of: dict[str, list[Row]] = {name: [] for name in TABLES}

    def count(self) -> int:
        """Return how many rows the batch holds."""
        return sum(len(rows) for rows in self.of.values())


@dataclass
class Office:
    """What a seeded case may refer to: published definitions by key, units, townships, numbering."""

    definitions: dict[str, int]
    departments: list[str]
    townships: list[str]
    numbers: dict[str, int]  # DT20261125- prefix -> last number used that day


class Maker:
    """Draws seeded cases into a `CaseRows` batch, deterministic for a seed."""

    def __init__(self, office: Office, now: datetime, seed: int, days: int) -> None:
        """Prepare the draw: `days` is how far back cases were registered."""
        self.office, self.now, self.rng, self.days = office, now, random.Random(seed), days
        self.facts = random.Random(seed + 1)  # 签收, 延期, 退单, 重办, 回访 facts: their own stream
        self.previous: str | None = None  # the last case drawn: what a merged duplicate (并单) joined

    def uid(self) -> str:
        """Return a random version-4 UUID from the seeded generator (spelled out: uuid.UUID is slow in bulk)."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def number(self, created: datetime) -> str:
        """Return the next free case number of the day the case was registered."""
        prefix = f"{numbering.PREFIX}{numbering.day_of(created)}-"
        value = self.office.numbers.get(prefix, 0) + 1
        self.office.numbers[prefix] = value
        return f"{prefix}{value:04d}"

    def add(self, rows: CaseRows, open_step: str | None, created: datetime | None = None) -> None:
        """Add one case: open at `open_step` (one open task), else finished over the past months (or at `created`)."""
        rng, now = self.rng, self.now
        channel = pick(rng, CHANNEL_WEIGHTS)
        case_id, instance_id = self.uid(), self.uid()
        if created is not None:  # the demo's past draws its own days (weekdays, holidays) and hours
            pass
        elif open_step is None:
            created = now - timedelta(days=rng.uniform(2, self.days), hours=rng.uniform(0, 9))
        else:
            created = now - timedelta(days=rng.uniform(1.1, 20))
        direct = open_step is None and rng.random() < DIRECT_SHARE
        unit = rng.choice(self.office.departments)
        case: Row = {"id": case_id, "number": self.number(created), "channel": channel, "upstream_order_id": None,
                "upstream_deadline": None, "request_type": pick(rng, REQUEST_TYPES), "urgency": pick(rng, URGENCIES),
                "complexity": "complex" if rng.random() < 0.05 else "normal",
                "township": rng.choice(self.office.townships), "category": rng.choice(CATEGORIES),
                "lead_department": None if direct else unit, "deadline": None, "warning_level": "none",
                "open_task_due": None, "next_timer_due": None, "open_stages": None,  # as case_due.py keeps them
                "return_count": 0, "extension_count": 0, "rehandle_count": 0, "requester_id": None,
                "assisting_departments": [], "duplicate_of": None, "flags": {}, "closed_at": None,
                "direct_answer": direct, "callback_result": None, "solved": None, "title": None, "location": None,
                "created_at": created,
                "content": f"{case_id[:8]}：{rng.choice(CATEGORIES)}相关诉求（模拟数据）"}
        steps: tuple[str, ...]
        if direct:
            steps, case["status"] = ("triage", "direct_answer"), "archived"
        elif open_step is None:
            steps, case["status"] = PATH, pick(rng, FINISHED)
            if case["status"] in NOT_DISPATCHED:
                steps, case["lead_department"] = ("triage",), None
        else:
            cut = PATH.index("reply") + 1 if open_step == "extension_approval" else PATH.index(open_step)
            steps, case["status"] = PATH[:cut], STEPS[open_step][3]
        extra = self.delays(case, open_step is None and case["lead_department"] is not None)
        rows.of["history_event"].append(self.event(case, instance_id, "started", created, None))
        at = created
        for step in steps:
            start, at = at, at + timedelta(hours=self.hours(step, extra))
            if open_step is None and at > now - timedelta(hours=1):
                at = now - timedelta(hours=1)
            self.task(rows, case, instance_id, step, unit, start, at)
        if open_step is None:
            case["closed_at"] = at
            if case["lead_department"] is not None:
                case["deadline"] = created + timedelta(days=HANDLE_DAYS * (1 + case["extension_count"]))
                self.outcome(case, "sign_for" in steps)
            rows.of["history_event"].append(self.event(case, instance_id, "completed", at, None))
        else:
            case["return_count"] = int("sign_for" in steps and self.facts.random() < RETURNED)
            due, case["warning_level"] = light_deadline(rng, pick(rng, LIGHTS), now)
            case["deadline"] = due
            case["open_task_due"], case["open_stages"] = due, open_step  # its one open task's deadline and stage
            self.task(rows, case, instance_id, open_step, unit, at, None, due)
            self.waiting(rows, case, instance_id, open_step, unit, due)
        case["updated_at"] = at
        if case["status"] == "merged":
            case["duplicate_of"] = self.previous
        self.previous = case_id
        rows.of["hotline_case"].append(case)
        rows.of["process_instance"].append({
            "id": instance_id, "definition_id": self.office.definitions[PROCESS_KEYS[channel]],
            "process_key": PROCESS_KEYS[channel], "case_id": case_id,
            "status": "completed" if open_step is None else "waiting", "version": 1, "snapshot": "",
            "projection": "{}", "next_due_at": None, "error": None, "created_at": created, "updated_at": at})

    def delays(self, case: Row, closing: bool) -> dict[str, float]:
        """Draw a closing case's 延期 and lateness: extra hours for its 办理 step, and a late 签收 for any case."""
        extra = {"sign_for": 24.0 if self.facts.random() < LATE_SIGN else 0.0, "reply": 0.0}
        if not closing:
            return extra
        if self.facts.random() < EXTENDED:  # granted: the limit doubles, the handling took days longer
            case["extension_count"] = 1
            extra["reply"] = 24 * self.facts.uniform(1, 4)
        if self.facts.random() < LATE_CLOSE:  # past even the extended limit
            extra["reply"] = 24 * (HANDLE_DAYS * (1 + case["extension_count"]) + self.facts.uniform(0.5, 3))
        return extra

    def hours(self, step: str, extra: dict[str, float]) -> float:
        """Return how long a step took: 签收 within hours, the others up to a day and more."""
        drawn = self.rng.uniform(0.2, 30)
        return (drawn / 10 if step == "sign_for" else drawn) + extra.get(step, 0.0)

    def outcome(self, case: Row, handled: bool) -> None:
        """Draw what a dispatched case's closing left: 退单, 重办, and the callback's result (回访结果, 是否解决)."""
        facts = self.facts
        case["return_count"] = (1 + int(facts.random() < 0.15)) if facts.random() < RETURNED else 0
        case["rehandle_count"] = int(facts.random() < REHANDLED)
        if not handled or case["status"] == "merged":
            return
        if facts.random() < UNREACHABLE:
            case["callback_result"] = "unreachable"
            return
        result = pick(facts, CALLBACK_RESULTS)
        case["callback_result"], case["solved"] = result, facts.random() < SOLVED_SHARE[result]

    def task(self, rows: CaseRows, case: Row, instance_id: str, step: str, unit: str, start: datetime,
             done: datetime | None, due: datetime | None = None) -> None:
        """Add a task of `step`: completed at `done` (with its history event), else open until `due`."""
        name, role, by_unit = STEPS.get(step, ("直接答复", "operator", False, "answered"))[:3]
        task_id = self.uid()
        actor = f"seed_{role}{int(self.rng.random() * 20):02d}"  # randrange is slow in bulk
        rows.of["human_task"].append({
            "id": task_id, "instance_id": instance_id, "case_id": case["id"], "bpmn_id": step, "name": name,
            "role": role, "department": unit if by_unit else None, "assignee": None,
            "priority": {"normal": 0, "urgent": 1, "critical": 2}[case["urgency"]], "form": f"{step}.schema.json",
            "due_at": due if done is None else start + timedelta(days=1), "status": "open" if done is None else
            "completed", "created_at": start, "completed_at": done, "completed_by": None if done is None else actor})
        if done is not None:
            rows.of["history_event"].append(self.event(case, instance_id, "task_completed", done, step, task_id, actor))

    def event(self, case: Row, instance_id: str, kind: str, at: datetime, step: str | None,
              task_id: str | None = None, actor: str = "seed") -> Row:
        """Return one history row."""
        return {"instance_id": instance_id, "case_id": case["id"], "at": at, "actor": actor, "kind": kind,
                "task_id": task_id, "bpmn_id": step, "fields": [], "detail": {}, "dedupe_key": None}

    def waiting(self, rows: CaseRows, case: Row, instance_id: str, step: str, unit: str, due: datetime) -> None:
        """Add the stage deadline rows and the waiting timers of an open unit step."""
        if step not in TIMERS:
            return
        stage = "sign_for" if step == "sign_for" else "handle"
        start = due - timedelta(days=5 if stage == "handle" else 1)
        rows.of["case_deadline"].append({
            "case_id": case["id"], "instance_id": instance_id, "stage": stage, "unit": unit, "start_at": start,
            "due_at": due, "warn_at": due - timedelta(hours=24), "notice_at": None, "rule": "seed: 默认时限",
            "extension_days": 0, "capped": False, "calendar_warning": None, "due_timers": TIMERS[step][-1],
            "warn_timers": TIMERS[step][0] if len(TIMERS[step]) > 1 else "", "notice_timers": "",
            "updated_at": start})
        for bpmn_id in TIMERS[step]:
            fire = due - timedelta(hours=24) if bpmn_id == "yellow_timer" else due
            if fire <= self.now:
                continue  # fired already: its light is the case's warning level
            if case["next_timer_due"] is None or fire < case["next_timer_due"]:
                case["next_timer_due"] = fire
            rows.of["timer_job"].append({
                "instance_id": instance_id, "task_id": self.uid(), "kind": "timer", "bpmn_id": bpmn_id,
                "timer_kind": "date", "due_at": fire, "status": "pending", "lease_owner": None, "lease_until": None,
                "attempts": 0, "last_error": None, "created_at": start, "updated_at": start})
