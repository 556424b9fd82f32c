"""The demo's work in progress (演示在办): cases opened in the last working days and left at every stage.

`hotline demo` opens them after its past, through the same workflow commands as the sample cases, with the
runtime's clock set back to each step's moment: the diagrams compute every deadline from that moment on the office
calendar, and the timers due in between (签收超时, 黄灯预警, 超期 with its 督办 task) fire on the way, in order. So
the supervisor's board shows an office at work: new cases awaiting 初审 and 派单, units yet to sign, cases being
handled (most green, some yellow, some overdue), a 延期 and a 退单 awaiting a decision, replies awaiting 审核 and
cases awaiting 回访. Every task stays open for the demo's accounts to work.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

import click
import sqlalchemy as sa

from processes.clock import OFFICE_TZ
from processes.clock import FrozenClock
from processes.metrics import rollup
from processes.metrics.periods import office_day
from processes.runtime import commands
from processes.runtime import control
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from webapp.cli import demo_story as story
from webapp.cli.demo_history import DISPATCHERS
from webapp.cli.demo_history import INTAKE
from webapp.cli.demo_history import Office
from webapp.cli.demo_history import day_kind
from webapp.cli.demo_history import daytime
from webapp.cli.demo_history import read_office

DEFAULT_CASES = 48
TOWNSHIPS = sorted(story.PLACES)
# Each case's aim: the step it is left waiting at, and how many working days ago it came in (up to ten). One round
# covers every stage and light in its first twelve (an overdue 办理 opens a 督办); the next rounds repeat it.
PROFILES: list[tuple[str, int]] = [
    ("triage", 0), ("sign_for", 1), ("reply", 10), ("reply", 5), ("extension_approval", 3), ("return_review", 1),
    ("review", 1), ("callback", 3), ("dispatch", 0), ("reply", 2), ("accept_110", 0), ("reply", 4),
    ("triage", 0), ("sign_for", 0), ("reply", 1), ("reply", 3), ("review", 2), ("callback", 2),
    ("sign_for", 3), ("reply", 1), ("reply", 1), ("reply", 2), ("review", 1), ("reply", 6)]
# The steps done before a case waits at its aim (the 110 hand-over waits at its own first task).
STEPS = {"triage": (), "accept_110": (), "dispatch": ("triage",), "sign_for": ("triage", "dispatch"),
         "reply": ("triage", "dispatch", "sign"), "return_review": ("triage", "dispatch", "return"),
         "extension_approval": ("triage", "dispatch", "sign", "extend"),
         "review": ("triage", "dispatch", "sign", "reply"),
         "callback": ("triage", "dispatch", "sign", "reply", "review")}
RECENT = ("review", "callback")  # cases waiting for the office's 审核 or 回访 got there within the last hours
TASK_OF = {"sign": "sign_for", "return": "sign_for", "extend": "reply"}  # the BPMN task a step completes
RETURNS = ("该事项不属于本单位职责范围", "诉求地点不在本单位辖区", "需由属地街道先行处置")
EXTENSIONS = ("需第三方检测，结果预计下周出具", "涉及多个部门，需协调后统一处理", "需等待施工队进场维修")
BY_ROLE = {"callback": "cb1", "leader": "chen.jun", "operator": "op1", "inspector": "ins1", "supervisor": "sv1"}


@dataclass
class Live:
    """What the demo's work in progress holds."""

    cases: int
    steps: int
    timers: int
    seconds: float
    by_stage: dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """One live case: how it was opened, then its steps (name, moment), oldest first."""

    key: str
    channel: str
    intake: dict[str, Any]
    opened_at: datetime
    lead: str
    steps: list[tuple[str, datetime]]
    instance_id: str = ""


def working_day_back(today: date, back: int, workdays: dict[date, bool]) -> date:
    """Return the working day `back` working days before today (today itself for 0)."""
    day = today
    while back > 0:
        day -= timedelta(days=1)
        back -= int(day_kind(day, workdays) == "workday")
    return day


def opened_at(rng: random.Random, now: datetime, back: int, office: Office) -> datetime:
    """Return when a case came in: within the last hours for today's, in office hours for earlier days."""
    if back == 0:
        return now - timedelta(minutes=rng.uniform(25, 240))
    day = working_day_back(office_day(now), back, office.workdays)
    local = datetime(day.year, day.month, day.day, 8, 30, tzinfo=OFFICE_TZ) + timedelta(minutes=rng.uniform(0, 480))
    return local.astimezone(UTC)


def step_times(rng: random.Random, steps: tuple[str, ...], start: datetime, now: datetime,
               recent: bool = False) -> list[datetime]:
    """Return a moment for each step: 初审 and 派单 within the hour, the units in the daytime, replies days later;
    with `recent`, the last step came within the last hours (a reply waits a day for 审核, not a week)."""
    gaps = {"triage": (10, 60), "dispatch": (5, 40), "sign": (60, 300), "return": (60, 300), "extend": (900, 1800),
            "reply": (1500, 4000), "review": (60, 240)}
    out: list[datetime] = []
    at = start
    for n, name in enumerate(steps):
        at += timedelta(minutes=rng.uniform(*gaps[name]))
        if name in ("sign", "return", "extend", "reply"):
            at = daytime(at, rng)
        if recent and n == len(steps) - 1:
            at = now - timedelta(hours=rng.uniform(1, 18))
        # never in the future: the last steps crowd into the minutes before now, each after the one before
        at = max(min(at, now - timedelta(minutes=4 * (len(steps) - n))), (out[-1] if out else start)
                 + timedelta(minutes=1))
        out.append(at)
    return out


def plan(rng: random.Random, office: Office, now: datetime, count: int) -> list[Plan]:
    """Draw `count` live cases over the profiles: channel, township, category and its lead unit, words, times."""
    plans = []
    for n in range(count):
        aim, back = PROFILES[n % len(PROFILES)]
        category = rng.choices(list(office.weights), list(office.weights.values()))[0]
        township = rng.choice(TOWNSHIPS)
        lead = (office.catalogue.get((category, township)) or office.catalogue[(category, "*")])[0]
        start = opened_at(rng, now, back, office)
        if aim == "accept_110":  # a hand-over minutes old: its 30-minute 受理 deadline is the board's red light
            start = now - timedelta(minutes=rng.uniform(3, 10))
        key, channel, intake = _intake(rng, aim, category, township, start)
        steps = STEPS[aim]
        times = step_times(rng, steps, start, now, recent=aim in RECENT)
        plans.append(Plan(key, channel, intake, start, lead, list(zip(steps, times, strict=True))))
    return plans


def _intake(rng: random.Random, aim: str, category: str, township: str,
            start: datetime) -> tuple[str, str, dict[str, Any]]:
    """Return the process, channel and intake of a case: calls mostly, some visits and transcribed orders."""
    content = story.ask(rng, category, township)
    base = {"urgency": "normal", "township": township, "category": category, "content": content}
    day = start.astimezone(OFFICE_TZ)
    if aim == "accept_110":
        return "case_110", "police110", {**base, "urgency": "urgent",
                                         "upstream_order_id": f"110-{day:%Y%m%d}-{rng.randrange(10000):04d}"}
    name, phone = story.person(rng)
    channel = rng.choices(("phone", "visit", "platform"), (6, 2, 2))[0]
    base |= {"request_type": rng.choices(("complaint", "help"), (3, 1))[0], "requester_phone": phone}
    if channel == "platform":
        return "case_platform", channel, {**base, "upstream_order_id": f"ZJ{day:%Y%m%d}{rng.randrange(10**5):05d}"}
    return f"case_{channel}", channel, {**base, "requester_name": name}


def step_data(rng: random.Random, name: str, case: Plan) -> dict[str, Any]:
    """Return the form data a step submits, as the demo's people would fill it in."""
    if name == "triage":
        return {"request_type": case.intake.get("request_type", "complaint"), "urgency": case.intake["urgency"],
                "triage_result": "dispatch"}
    if name == "dispatch":
        return {"dispatch_mode": "department", "lead_department": case.lead}
    if name == "sign":
        return {"sign_decision": "sign"}
    if name == "return":
        return {"sign_decision": "return", "return_reason": rng.choice(RETURNS)}
    if name == "extend":
        return {"reply_action": "extend", "extension_days": rng.choice((3, 5)),
                "extension_reason": rng.choice(EXTENSIONS)}
    if name == "reply":
        text = rng.choice(story.REPLIES)
        return {"reply_action": "reply", "claim_true": True, "solved": True, "contacted": True, "reply_text": text,
                "contact_record": rng.choice(story.CONTACTS), "public_reply": text}
    return {"review_result": "accept"}


def do_step(rt: Runtime, rng: random.Random, case: Plan, name: str) -> int:
    """Complete a step's open task as the account that would (a 并单确认 first, if intake offered one)."""
    bpmn_id, done = TASK_OF.get(name, name), 0
    with rt.read() as session:
        tasks = {t.bpmn_id: t for t in session.scalars(sa.select(HumanTask).where(
            HumanTask.instance_id == case.instance_id, HumanTask.status == "open"))}
    if bpmn_id not in tasks and "merge_offer" in tasks:  # the phone matched an earlier case: a new case all the same
        commands.complete_task(rt, case.instance_id, tasks["merge_offer"].id, {"merge_decision": "new"},
                               actor=case_actor(case))
        return do_step(rt, rng, case, name) + 1
    task = tasks.get(bpmn_id)
    if task is None:
        raise click.ClickException(f"demo: no open task {bpmn_id} (open: {sorted(tasks)}); has the diagram changed?")
    commands.complete_task(rt, case.instance_id, task.id, step_data(rng, name, case), actor=actor_of(rng, task))
    return done + 1


def case_actor(case: Plan) -> str:
    """Return the account that registered a case: the intake desk of its channel."""
    return INTAKE.get(case.channel, ("op1",))[0]


def actor_of(rng: random.Random, task: HumanTask) -> str:
    """Return who completes a task: its assignee (the duty roster's), else a demo account of its role and unit."""
    if task.assignee:
        return task.assignee
    if task.role == "handler":
        return f"h.{task.department}"
    return BY_ROLE.get(task.role or "", rng.choice(DISPATCHERS))


def open_live(rt: Runtime, count: int, *, seed: int = 2027) -> Live:
    """Open `count` live cases at past moments, step by step in time order, firing the timers due on the way."""
    started, real = time.monotonic(), rt.clock
    now = real()
    with rt.writer.connect() as conn:
        office = read_office(conn, office_day(now) - timedelta(days=30), office_day(now))
    rng = random.Random(seed)  # noqa: S311 - a repeatable made-up office, no secret
    plans = plan(rng, office, now, count)
    events = sorted([(p.opened_at, n, -1) for n, p in enumerate(plans)]
                    + [(at, n, s) for n, p in enumerate(plans) for s, (_, at) in enumerate(p.steps)])
    clock, steps, timers = FrozenClock(now), 0, 0
    rt.clock = clock
    try:
        for at, n, s in events:
            clock.now = at
            timers += control.fire_due_timers(rt, actor="demo")
            steps += _event(rt, rng, plans[n], s)
        clock.now = real()
        timers += control.fire_due_timers(rt, actor="demo")
    finally:
        rt.clock = real
    with rt.write() as session, session.begin():  # the days they came in are counted again with them
        rollup.refresh(session, office_day(min(p.opened_at for p in plans)), office_day(now), now=now)
    stages: dict[str, int] = {}
    for aim, _ in (PROFILES[n % len(PROFILES)] for n in range(count)):
        stages[aim] = stages.get(aim, 0) + 1
    return Live(count, steps, timers, time.monotonic() - started, stages)


def _event(rt: Runtime, rng: random.Random, case: Plan, step: int) -> int:
    """Open the case (step -1) or do its step'th step; return how many tasks were completed."""
    if step < 0:
        started = commands.open_case(rt, case.key, case.intake, actor=case_actor(case), channel=case.channel)
        case.instance_id = started.instance_id
        return 0
    return do_step(rt, rng, case, case.steps[step][0])


def summary(live: Live) -> Mapping[str, Any]:
    """Return the audit detail of the live cases (counts only, nothing personal)."""
    return {"cases": live.cases, "steps": live.steps, "timers": live.timers, "by_stage": live.by_stage}
