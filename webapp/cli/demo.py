"""`hotline demo`: schema, diagrams, accounts and sample cases, then the web app and a scheduler process (演示)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask.cli import FlaskGroup
from werkzeug.serving import run_simple

from handlers.reference.seed import seed_all
from processes.cases.models import Case
from processes.db import migrate
from processes.runtime import commands
from processes.runtime import definitions
from processes.runtime import queries
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from processes.runtime.models import ProcessInstance
from webapp import create_app
from webapp import democlock
from webapp import instance_keys
from webapp import runtime_of
from webapp.cli import demo_history
from webapp.cli import demo_live
from webapp.cli.demo_users import DEMO_USERS
from webapp.cli.demo_users import PASSWORD_FILE
from webapp.cli.demo_users import print_users
from webapp.cli.demo_users import seed_users
from webapp.cli.deploy import bundle_dirs
from webapp.cli.support import AuditNote

REPLY = {"reply_action": "reply", "claim_true": True, "solved": True, "contacted": True,
         "reply_text": "已责令施工单位夜间停工并现场复查", "contact_record": "电话联系诉求人，告知处理情况",
         "public_reply": "经核查，已责令施工单位夜间停止作业。"}
# The scheduler child: the same `hotline` command line, started with this interpreter (no PATH lookup).
SCHEDULER = "from webapp.cli import cli; cli(prog_name='hotline')"
SHOWN_CASES = 12  # the newest cases `show` lists, with their tasks: the samples, not the past nor every live case
DISPATCH = {"triage_result": "dispatch", "request_type": "complaint", "urgency": "normal"}

# Sample cases (示例工单): process key, channel, intake data, then the steps already done, by BPMN task id.
SAMPLES: list[tuple[str, str, dict[str, Any], list[tuple[str, dict[str, Any]]]]] = [
    ("case_phone", "phone", {"request_type": "complaint", "urgency": "urgent", "township": "beiao",
                             "category": "噪音扰民", "requester_name": "张三", "requester_phone": "13812345678",
                             "content": "楼下工地夜间施工噪音扰民"}, []),
    ("case_visit", "visit", {"request_type": "help", "urgency": "normal", "township": "dongping",
                             "category": "市政设施", "requester_name": "李四", "requester_phone": "13912345678",
                             "content": "小区路灯损坏多日未修"},
     [("triage", {**DISPATCH, "request_type": "help"}),
      ("dispatch", {"dispatch_mode": "department", "lead_department": "zjj", "assisting_departments": ["zhzf"]})]),
    ("case_platform", "platform", {"request_type": "complaint", "urgency": "normal", "township": "yuanjue",
                                   "category": "城市管理", "upstream_order_id": "ZJ2026112500123",
                                   "requester_phone": "13712345678", "content": "菜市场占道经营"},
     [("triage", DISPATCH), ("dispatch", {"dispatch_mode": "department", "lead_department": "scjg"}),
      ("sign_for", {"sign_decision": "sign"}), ("reply", REPLY)]),
    ("case_phone", "phone", {"request_type": "consult", "urgency": "normal", "township": "damen",
                             "category": "劳动保障", "requester_phone": "13612345678", "content": "咨询社保卡补办地点"},
     [("triage", {**DISPATCH, "triage_result": "direct_answer", "request_type": "consult"}),
      ("direct_answer", {"direct_answer": "可到区行政服务中心一楼社保窗口补办，工作日 9:00-17:00"})]),
    ("case_township", "township", {"urgency": "normal", "township": "luxi", "category": "供水",
                                   "content": "鹿西岛东臼村夏季供水不足"}, []),
    ("case_110", "police110", {"urgency": "urgent", "township": "beiao", "category": "噪音扰民",
                               "upstream_order_id": "110-20261125-0042", "content": "110移交：商铺音响扰民"}, []),
]


def complete_step(rt: Runtime, instance_id: str, bpmn_id: str, data: Mapping[str, Any]) -> None:
    """Complete the open task with this BPMN id, as its assignee when the duty roster gave it one (night, weekend)."""
    with rt.read() as session:
        task = session.execute(sa.select(HumanTask.id, HumanTask.assignee).where(
            HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id, HumanTask.status == "open")).first()
    if task is None:
        raise click.ClickException(f"demo: no open task {bpmn_id}; has the diagram changed?")
    commands.complete_task(rt, instance_id, task.id, data, actor=task.assignee or "demo")


def seed(rt: Runtime) -> int:
    """Open the sample cases unless the database already has cases; return how many were opened."""
    with rt.read() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(Case)):
            return 0
    for key, channel, intake, steps in SAMPLES:
        started = commands.open_case(rt, key, intake, actor="demo", channel=channel)
        for bpmn_id, data in steps:
            complete_step(rt, started.instance_id, bpmn_id, data)
    return len(SAMPLES)


def start_upward_report(rt: Runtime) -> None:
    """Keep one running instance of the periodic upward report (定期上报)."""
    with rt.read() as session:
        running = session.scalar(sa.select(sa.func.count()).select_from(ProcessInstance).where(
            ProcessInstance.process_key == "upward_report", ProcessInstance.status.in_(("running", "waiting"))))
    if not running:
        commands.start(rt, "upward_report", {}, actor="demo")
        click.echo("started the weekly upward report")


def show(rt: Runtime) -> None:
    """Print open tasks and next timers with countdowns (no personal data)."""
    now = rt.clock()
    with rt.read() as session:
        cases = {c.id: c for c in session.scalars(sa.select(Case))}
        newest = sorted(cases.values(), key=lambda c: (c.created_at, c.number), reverse=True)
        shown = {c.id for c in newest[:SHOWN_CASES]}
        tasks = queries.human_tasks(session, limit=10_000)
        listed = [t for t in tasks if t.case_id is None or t.case_id in shown]
        click.echo("\n待办 open tasks:")
        for t in listed:
            case = cases.get(t.case_id or "")
            click.echo(f"  {case.number if case else '-':<16} {t.name:<8} role={t.role or '-':<11} "
                       f"dept={t.department or '-':<10} {queries.countdown(t.due_at, now)}")
        if len(tasks) > len(listed):
            click.echo(f"  … and {len(tasks) - len(listed)} open task(s) of earlier cases (all on /monitor)")
        click.echo("\n定时器 next timers:")
        of_case = {i: c for i, c in session.execute(sa.select(ProcessInstance.id, ProcessInstance.case_id))}
        jobs = [j for j in queries.pending_jobs(session, limit=10_000) if of_case.get(j.instance_id) in shown | {None}]
        for job in jobs[:12]:
            click.echo(f"  {job.kind:<6} {job.bpmn_id or '-':<22} {queries.countdown(job.due_at, now)}")
        click.echo("\n工单 cases:")
        for case in newest[:SHOWN_CASES]:
            click.echo(f"  {case.number:<16} {case.channel:<9} {case.status:<10} dept={case.lead_department or '-'}")
        if len(newest) > SHOWN_CASES:
            click.echo(f"  … and {len(newest) - SHOWN_CASES} earlier case(s)")


def run_demo(app: Flask, history_days: int = demo_history.DEFAULT_DAYS,
             live_cases: int = demo_live.DEFAULT_CASES) -> None:
    """Migrate, deploy every bundle, seed the sample cases, the past before them and the work in progress, and
    print the state."""
    rt = runtime_of(app)
    migrate.upgrade(app.config["DATABASE_URL"])
    with rt.write() as session, session.begin():
        for line in seed_all(session, Path(app.root_path).parent / "reference", actor="demo", now=rt.clock()):
            click.echo(f"reference {line}")
    for folder in bundle_dirs(()):
        with rt.write() as session, session.begin():
            result = definitions.deploy(session, folder.name, definitions.read_bundle_dir(folder), actor="demo",
                                        operators=rt.handlers, now=rt.clock(), publish=True)
        click.echo(f"deployed {result.key} v{result.version}")
    print_users(seed_users(app, rt), Path(app.instance_path) / PASSWORD_FILE)
    opened = seed(rt)
    click.echo(f"opened {opened} sample case(s) in {app.config['DATABASE_URL']}")
    if opened and history_days:  # a fresh demo only: a restarted one keeps the past it has
        write_past(rt, history_days)
    if opened and live_cases:
        open_live(rt, live_cases)
    start_upward_report(rt)
    show(rt)


def write_past(rt: Runtime, days: int) -> None:
    """Write the demo's past (closed cases before today) and rebuild the figures; say so when bench/ is missing."""
    try:
        past = demo_history.write_history(rt, days)
    except ImportError:  # bench/ ships with the source tree, not the wheel: the demo still runs without a past
        click.echo("no demo history: it needs bench/ from the source tree", err=True)
        return
    AuditNote("demo.history", "demo", object_type="database", after={
        "days": days, "cases": past.cases, "requesters": past.requesters, "rows": past.rows}).write_alone("success")
    click.echo(f"wrote {days} days of history: {past.cases} closed cases, {past.requesters} requesters, "
               f"{past.rows} rows, figures rebuilt, in {past.seconds:.1f}s")


def open_live(rt: Runtime, count: int) -> None:
    """Open the live cases (演示在办) through the workflow at past moments, and say what the board will show."""
    live = demo_live.open_live(rt, count)
    AuditNote("demo.live", "demo", object_type="database", after=dict(demo_live.summary(live))).write_alone("success")
    stages = ", ".join(f"{stage} {n}" for stage, n in sorted(live.by_stage.items()))
    click.echo(f"opened {live.cases} live case(s) over the last working days ({stages}): {live.steps} steps done, "
               f"{live.timers} timers fired on the way, in {live.seconds:.1f}s")


def keep_keys(app: Flask) -> None:
    """Give an instance without keys its own in instance/config.py (0600): the demo's personal data is encrypted
    under a key of this instance, never the public development key, and sign-ins survive a restart."""
    written = instance_keys.write_missing_keys(app, by="`hotline demo`")
    if written:
        click.echo(f"wrote {', '.join(written)} to {Path(app.instance_path) / 'config.py'} (owner only)")


def serve(port: int) -> None:
    """Run the scheduler in its own process and the development web server here, until Ctrl-C stops both."""
    web = create_app()
    scheduler = subprocess.Popen([sys.executable, "-c", SCHEDULER, "scheduler", "--owner", "demo"])  # noqa: S603
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background (SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops both, like Ctrl-C
    click.echo(f"\nscheduler running (pid {scheduler.pid}); web server at http://127.0.0.1:{port}/")
    click.echo(f"sign in with a demo account ({', '.join(u for u, *_ in DEMO_USERS[:4])} …); passwords in "
               f"{Path(web.instance_path) / PASSWORD_FILE}. Ctrl-C stops the server and the scheduler.")
    moved = democlock.store_of(web).state()
    click.echo(f"{democlock.describe(moved, runtime_of(web).clock())}: `hotline clock advance 2d` moves it on, "
               "`hotline clock reset` ends it.\n" if moved is not None else "")
    try:
        run_simple("127.0.0.1", port, web, threaded=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop(scheduler)


def _interrupt(_signum: int, _frame: object) -> None:
    """Turn SIGTERM into the same orderly stop as Ctrl-C."""
    raise KeyboardInterrupt


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a child process: ask (SIGTERM), then insist after ten seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    click.echo(f"scheduler stopped (exit {process.returncode})")


def register(cli: FlaskGroup) -> None:
    """Add the demo command."""

    @cli.command("demo")
    @click.option("--serve/--no-serve", "--scheduler/--no-scheduler", "serve_after", default=True,
                  show_default=True, help="After setting up, run the scheduler and the web server until Ctrl-C "
                  "(--no-serve, or the older --no-scheduler, only sets up).")
    @click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535),
                  help="Port of the web server on 127.0.0.1.")
    @click.option("--history-days", default=demo_history.DEFAULT_DAYS, show_default=True,
                  type=click.IntRange(0, 3650), help="Days of closed cases written before today on a fresh demo, "
                  "so the dashboard, reports and search show an office (0: only the sample cases).")
    @click.option("--live-cases", default=demo_live.DEFAULT_CASES, show_default=True, type=click.IntRange(0, 500),
                  help="Cases opened through the workflow over the last working days and left at every stage "
                  "(初审 to 回访, some near or past their deadline), so the supervisor's board shows work in "
                  "progress (0: only the sample cases).")
    def demo_command(serve_after: bool, port: int, history_days: int, live_cases: int) -> None:
        """Set up the demo (schema, diagrams, accounts, sample cases, past), then serve it with a scheduler (演示)."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        keep_keys(app)  # first: the sample cases' personal data is encrypted under this instance's key
        run_demo(app, history_days=history_days, live_cases=live_cases)
        if serve_after:
            runtime_of(app).db.dispose()  # the seeding connections are not needed while serving
            serve(port)
