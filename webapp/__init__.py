"""Hotline Flow web application (Flask): the composition root that wires the runtime and its handlers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

import handlers
from processes.clock import Clock
from processes.db.engines import create_db_engine
from processes.runtime.core import Runtime
from webapp import democlock
from webapp import instance_keys
from webapp.config import check_required_settings
from webapp.config import load_config
from webapp.outbox_adapters import outbox_adapters


def create_app(test_config: dict[str, Any] | None = None, *, serving: bool = True) -> Flask:
    """Create and configure the hotline application; `serving=False` is for CLI commands that need no secret."""
    app = configured_app(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    clock = democlock.install(app)  # first: production refuses a demo clock; elsewhere all processes share one
    if serving:
        check_required_settings(app)  # fail fast: a production server never starts without its secret
    instance_keys.init_app(app)  # the SQLite file owner-only; the PII key (development key for tests only)
    app.extensions["hotline.runtime"] = build_runtime(app, clock)
    # Delivery adapters by channel from the settings (OUTBOX_HTTP, webhooks); '*' catches the rest. The default
    # spool keeps messages in the app for the office to read; a gateway implements processes.runtime.outbox.Adapter.
    app.extensions["hotline.outbox_adapters"] = outbox_adapters(app)
    init_web(app)
    return app


def configured_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Return an app with its settings loaded and nothing else wired (what the command line checks first)."""
    # The instance folder (secrets, default SQLite file) may live outside the code, e.g. /etc/hotline.
    app = Flask(__name__, instance_relative_config=True, instance_path=os.environ.get("HOTLINE_INSTANCE_PATH"))
    load_config(app, test_config)
    return app


def init_web(app: Flask) -> None:
    """Bind the extensions, security hooks and blueprints (one per area) to the app."""
    from webapp import admin
    from webapp import api
    from webapp import auditlog
    from webapp import auth
    from webapp import cases
    from webapp import dashboard
    from webapp import errors
    from webapp import home
    from webapp import i18n
    from webapp import intake
    from webapp import modeler
    from webapp import monitor
    from webapp import nav
    from webapp import open311
    from webapp import platform
    from webapp import reference
    from webapp import reports
    from webapp import search
    from webapp import security
    from webapp import tasks
    from webapp import worklist
    from webapp.auth import guard
    from webapp.extensions import csrf
    from webapp.extensions import login_manager

    # `_()` in templates works before Flask-Babel is bound (webapp.i18n replaces these callables when it is).
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # added by the extension
    csrf.init_app(app)  # first: a request without a valid token goes no further
    login_manager.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    guard.init_app(app)  # session checks, the permission table, forced password change, second factor
    i18n.init_app(app)  # page language (Chinese default, English) and POST /lang
    nav.init_app(app)
    app.context_processor(democlock.banner)  # the demo clock's line on every page while it is moved
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(admin.bp)  # user administration (三员: sysadmin, secadmin)
    app.register_blueprint(auditlog.bp)  # audit log, auditors only
    app.register_blueprint(intake.bp)  # 登记: one screen per channel
    app.register_blueprint(search.bp)  # 工单查询 and its masked export
    app.register_blueprint(worklist.bp)  # 待办: my, my group's and my unit's open tasks
    app.register_blueprint(tasks.bp)  # 办理: a task's form, drafts and attachments
    app.register_blueprint(cases.bp)  # 工单详情, reveal with a reason, attachment downloads
    app.register_blueprint(monitor.bp)  # 督办台: open cases by light, unit and stage
    app.register_blueprint(modeler.bp)  # 流程设计: versions, diff, publish with four eyes, retire, migration
    app.register_blueprint(dashboard.bp)  # 数据看板: rates and volumes from the rollup, drill-down to cases
    app.register_blueprint(reports.bp)  # 报表: 周报, 月度分析报告, 部门考评
    app.register_blueprint(reference.bp)  # 基础数据: calendar, time limits, units, 派单目录, settings, roster
    app.register_blueprint(platform.bp)  # 上级工单导入: order files from 民呼我为 / 12345, row by row with a report
    api.init_app(app)  # 开放接口: REST /api/v1 with API keys, its OpenAPI document and docs page
    app.register_blueprint(open311.bp)  # Open311 GeoReport v2: services, requests (submitted with an API key)


def build_runtime(app: Flask, clock: Clock) -> Runtime:
    """Build the workflow runtime from the app's settings, with the product handler registry."""
    return Runtime(
        create_db_engine(app.config["DATABASE_URL"]),
        handlers.REGISTRY,
        clock=clock,
        cache_size=int(app.config["WORKFLOW_CACHE_SIZE"]),
        retry_backoff=[float(s) for s in app.config["RETRY_BACKOFF_SECONDS"]],
        max_engine_steps=int(app.config["MAX_ENGINE_STEPS"]),
        max_element_passes=int(app.config["MAX_ELEMENT_PASSES"]),
        script_cpu_seconds=float(app.config["SCRIPT_CPU_SECONDS"]),
    )


def runtime_of(app: Flask) -> Runtime:
    """Return the runtime wired into an app."""
    rt: Runtime = app.extensions["hotline.runtime"]
    return rt
