"""The one permission table (权限表, AC-01): every endpoint and who may call it, enforced before every request.

Deny by default: an endpoint missing from RULES answers 403, and tests/test_routes_permissions.py fails for it.
A rule is PUBLIC (anyone, signed in or not), AUTHENTICATED (any signed-in user) or a set of role codes from
`processes.accounts.roles` (a user holding any of them may call it). Object rules (which cases a department sees) are
checked by the views on top of this table.

The open interfaces (开放接口: /api, /open311) have no session user. Their rule is `api_rule(scope)`, a string
"api:<scope>" naming one scope of `processes.integration.keys.SCOPES`: the caller is the API key presented with the
request (webapp/api/auth.py), never a session cookie, so `allowed` refuses such a rule to a signed-in user, and
`enforce` lets the request reach the view only when the view is guarded by `require_scope` (or `keyed`, for a
protocol that passes the key as a parameter) with that same scope; any other view under an API rule answers 403.
tests/test_routes_permissions.py checks that every /api and /open311 route has an API rule (or is PUBLIC, like the
OpenAPI document) and that rule and guard agree.
"""

from __future__ import annotations

from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from processes.accounts.roles import ROLE_CODES
from processes.integration.keys import SCOPES
from processes.runtime.publishing import PUBLISHER_ROLES
from webapp import messages
from webapp import refusals

PUBLIC = "public"
AUTHENTICATED = "authenticated"
API_PREFIX = "api:"  # api:<scope>: called with an API key holding that scope (webapp/api/auth.py)
Rule = str | frozenset[str]


def api_rule(scope: str) -> str:
    """Return the rule of an open-interface route: an API key with this scope, never a session."""
    return API_PREFIX + scope


def api_scope(rule: Rule | None) -> str | None:
    """Return the scope an API rule asks for, None for any other rule."""
    return rule.removeprefix(API_PREFIX) if isinstance(rule, str) and rule.startswith(API_PREFIX) else None


# Roles that BPMN user tasks name (candidate_role), and roles that may open cases (office, units, towns).
TASK_ROLES = frozenset({"operator", "transcriber", "dispatcher", "handler", "inspector", "callback", "supervisor",
                        "duty_leader", "leader"})
CASE_ROLES = TASK_ROLES | {"township_reporter"}
MODELER_READERS = frozenset({"analyst", "supervisor"}) | PUBLISHER_ROLES  # 流程设计: who reads versions and diagrams
REPORT_READERS = frozenset({"supervisor", "leader", "duty_leader", "analyst", "handler"})  # 报表: units their own
# 基础数据: who reads the calendar, rules, units and catalogue; the roster is read by the whole office.
REFERENCE_READERS = frozenset({"dispatcher", "supervisor", "duty_leader", "leader", "analyst", "sysadmin"})
ROSTER_READERS = frozenset({"operator", "transcriber", "dispatcher", "inspector", "callback", "supervisor",
                            "duty_leader", "leader", "sysadmin"})

RULES: dict[str, Rule] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "i18n.set_language": PUBLIC,  # the language switch, on the login page too
    "auth.totp_verify": PUBLIC,  # the second step of a login in progress; the view checks that state itself
    "auth.logout": AUTHENTICATED,
    "auth.end_all": AUTHENTICATED,
    "auth.history": AUTHENTICATED,
    "auth.change_password": AUTHENTICATED,
    "auth.totp_setup": AUTHENTICATED,
    "auth.totp_confirm": AUTHENTICATED,
    "home.index": AUTHENTICATED,
    # User administration, split by 三员分立 (processes/accounts/admin.py): accounts by the system administrator,
    # roles, unlocking, second factor and sessions by the security administrator.
    "admin.users": frozenset({"sysadmin", "secadmin"}),
    "admin.user": frozenset({"sysadmin", "secadmin"}),
    "admin.new_user": frozenset({"sysadmin"}),
    "admin.disable": frozenset({"sysadmin"}),
    "admin.enable": frozenset({"sysadmin"}),
    "admin.roles": frozenset({"secadmin"}),
    "admin.unlock": frozenset({"secadmin"}),
    "admin.reset_totp": frozenset({"secadmin"}),
    "admin.end_sessions": frozenset({"secadmin"}),
    # The audit trail is read by auditors only; no route changes it.
    "auditlog.index": frozenset({"auditor"}),
    "auditlog.detail": frozenset({"auditor"}),
    "auditlog.verify": frozenset({"auditor"}),
    "auditlog.export": frozenset({"auditor"}),
    # Intake (登记), one screen per channel for the role that registers it; lookups by phone for office intake.
    "intake.index": frozenset({"operator", "transcriber", "dispatcher", "township_reporter"}),
    "intake.phone": frozenset({"operator"}),
    "intake.visit": frozenset({"operator"}),
    "intake.platform": frozenset({"transcriber"}),
    "intake.township": frozenset({"township_reporter"}),
    "intake.police110": frozenset({"operator", "dispatcher"}),
    "intake.lookup": frozenset({"operator", "transcriber", "dispatcher"}),
    "intake.registered": frozenset({"operator", "transcriber", "dispatcher", "township_reporter"}),
    # Case search: the office, and units and towns within their reach (access.case_filter); export to leads only.
    "search.index": frozenset({"operator", "transcriber", "dispatcher", "inspector", "callback", "supervisor",
                               "duty_leader", "leader", "handler", "township_reporter"}),
    "search.export": frozenset({"supervisor", "duty_leader", "leader"}),
    # Background exports: the same roles; the view answers 404 for a job someone else asked for.
    "search.export_job": frozenset({"supervisor", "duty_leader", "leader"}),
    "search.export_progress": frozenset({"supervisor", "duty_leader", "leader"}),
    "search.export_download": frozenset({"supervisor", "duty_leader", "leader"}),
    # Workspace: the worklist and task forms for every role a BPMN task names (candidate_role); which tasks each
    # user may touch is access.task_filter. Case pages for whoever may see cases (access.case_filter); a reveal
    # is open to them all so that a refused one is answered and audited (disclosure.reveal decides).
    "worklist.index": TASK_ROLES,
    "worklist.rows": TASK_ROLES,
    "worklist.claim": TASK_ROLES,
    "worklist.unclaim": TASK_ROLES,
    "worklist.handover": TASK_ROLES,
    "tasks.form": TASK_ROLES,
    "tasks.submit": TASK_ROLES,
    # The office board (督办台): supervisors, duty leaders and leaders see the whole office, a unit's handlers their
    # own unit's cases (access.case_filter).
    "monitor.index": frozenset({"supervisor", "duty_leader", "leader", "handler"}),
    "monitor.counts": frozenset({"supervisor", "duty_leader", "leader", "handler"}),
    # Instances and diagrams (流程实例, 流程图, 热力图): the office's supervisors and leaders; a unit's handlers the
    # instances of cases they may see (access.case_filter), read only.
    # -- instances & heat map (webapp/monitor/instances.py, heatmap.py) --
    "monitor.instance": frozenset({"supervisor", "duty_leader", "leader", "handler"}),
    "monitor.instance_state": frozenset({"supervisor", "duty_leader", "leader", "handler"}),
    "monitor.instance_diagram": frozenset({"supervisor", "duty_leader", "leader", "handler"}),
    "monitor.heatmaps": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.heatmap": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.heatmap_data": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.heatmap_diagram": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.instances": frozenset({"supervisor", "duty_leader", "leader", "handler"}),
    # -- end instances & heat map --
    # Incidents (故障) and interventions (挂起/恢复/终止, 改派, 催办, 调整时限): supervisors, duty leaders, leaders.
    # -- incidents & interventions (webapp/monitor/incidents.py, interventions.py) --
    "monitor.incidents": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.incident_retry": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.incidents_retry": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.suspend": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.resume": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.terminate": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.move_deadline": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.urge": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.reassign_task": frozenset({"supervisor", "duty_leader", "leader"}),
    # -- end incidents & interventions --
    # Absence and turnover (请假/离岗交接): hand over all of a person's tasks at once.
    # -- absence (webapp/monitor/absence.py) --
    "monitor.people": frozenset({"supervisor", "duty_leader", "leader"}),
    "monitor.handover": frozenset({"supervisor", "duty_leader", "leader"}),
    # -- end absence --
    # Messages leaving the system (消息, the outbox): supervisors, duty leaders, leaders and transcribers.
    # -- outbox (webapp/monitor/outbox.py) --
    "monitor.outbox": frozenset({"supervisor", "duty_leader", "leader", "transcriber"}),
    "monitor.outbox_resend": frozenset({"supervisor", "duty_leader", "leader", "transcriber"}),
    # -- end outbox --
    # -- modeler (webapp/modeler/: 流程设计) --
    # Analysts draft: they read, compare and upload versions and retire drafts. Supervisors read versions and the
    # migration dry run because they answer for running cases. Publishing is the rule of
    # processes/runtime/publishing.py (a second person with a TOTP code, PUBLISHER_ROLES: the system administrator,
    # who also retires a published version). Moving running cases (实例迁移) is done by a supervisor or the system
    # administrator, never by the analyst who drew the new version: the same four eyes as publishing.
    "modeler.index": MODELER_READERS,
    "modeler.versions_list": MODELER_READERS,
    "modeler.diagram": MODELER_READERS,
    "modeler.xml": MODELER_READERS,
    "modeler.download": MODELER_READERS,
    "modeler.diff": MODELER_READERS,
    "modeler.upload": frozenset({"analyst"}),
    "modeler.publish_form": PUBLISHER_ROLES,
    "modeler.publish": PUBLISHER_ROLES,
    "modeler.retire": frozenset({"analyst", "sysadmin"}),
    "modeler.migration_plan": frozenset({"analyst", "supervisor", "sysadmin"}),
    "modeler.migrate": frozenset({"supervisor", "sysadmin"}),
    # The in-browser modeler (流程编辑, webapp/modeler/edit.py, props.py): analysts edit, validate and save drafts;
    # the panel's lists and checks serve the same people.
    "modeler.edit_latest": frozenset({"analyst"}),
    "modeler.edit": frozenset({"analyst"}),
    "modeler.validate": frozenset({"analyst"}),
    "modeler.save": frozenset({"analyst"}),
    "modeler.roles": frozenset({"analyst"}),
    "modeler.handlers": frozenset({"analyst"}),
    "modeler.departments": frozenset({"analyst"}),
    "modeler.check_expression": frozenset({"analyst"}),
    "modeler.form_preview": frozenset({"analyst"}),
    # -- end modeler --
    # -- dashboard (webapp/dashboard/: 数据看板) --
    # The office (supervisors, leaders, duty leaders, analysts) sees every figure; a unit's handler its own unit's
    # and its place among units; a township reporter its own township's reports (webapp/dashboard/criteria.py;
    # naming another unit or township answers 404).
    "dashboard.index": frozenset({"supervisor", "leader", "duty_leader", "analyst", "handler", "township_reporter"}),
    "dashboard.data": frozenset({"supervisor", "leader", "duty_leader", "analyst", "handler", "township_reporter"}),
    "dashboard.cases": frozenset({"supervisor", "leader", "duty_leader", "analyst", "handler", "township_reporter"}),
    # -- end dashboard --
    # -- reports (webapp/reports/: 报表, 部门考评) --
    # The office's supervisors, leaders, duty leaders and analysts read every report and scorecard; a unit's
    # handlers their own unit's (webapp/reports/common.scopes; another unit's answers 404). Weights and targets of
    # the scorecard are the office's decision: supervisors and leaders.
    "reports.index": REPORT_READERS,
    "reports.generate": REPORT_READERS,
    "reports.download": REPORT_READERS,
    "reports.evaluation": REPORT_READERS,
    "reports.evaluation_cases": REPORT_READERS,
    "reports.weights": frozenset({"supervisor", "leader"}),
    # -- end reports --
    # -- reference (webapp/reference/: 基础数据) --
    # Who owns what (issue 15): the system administrator (sysadmin) keeps the system's configuration, so the holiday
    # calendar, time-limit rules, units and townships and the settings; the duty leader (值班长) owns the duty roster
    # and emergency mode (应急值守) and the 派单目录 the dispatchers of the shift work by. The office reads what
    # it works by: the roster (who is on duty), the calendar and rules (why a deadline falls where it does).
    "reference.index": REFERENCE_READERS,
    "reference.calendar": REFERENCE_READERS,
    "reference.calendar_day": frozenset({"sysadmin"}),
    "reference.calendar_notice": frozenset({"sysadmin"}),
    "reference.sla": REFERENCE_READERS,
    "reference.sla_save": frozenset({"sysadmin"}),
    "reference.sla_delete": frozenset({"sysadmin"}),
    "reference.departments": REFERENCE_READERS,
    "reference.department_save": frozenset({"sysadmin"}),
    "reference.catalogue": REFERENCE_READERS,
    "reference.catalogue_save": frozenset({"duty_leader"}),
    "reference.catalogue_delete": frozenset({"duty_leader"}),
    "reference.settings": frozenset({"sysadmin", "duty_leader", "supervisor", "leader"}),
    "reference.setting_save": frozenset({"sysadmin"}),
    "reference.roster": ROSTER_READERS,
    "reference.roster_day": ROSTER_READERS,
    "reference.roster_save": frozenset({"duty_leader"}),
    "reference.roster_emergency": frozenset({"duty_leader"}),
    # -- end reference --
    # -- api (webapp/api/: 开放接口 REST /api/v1; each rule names the scope the key needs) --
    # The document and its reading page are public: they describe the interface and hold no data.
    "apidocs.openapi": PUBLIC,
    "apidocs.docs": PUBLIC,
    # Integration keys are the system's configuration: the system administrator makes and revokes them.
    "admin.api_keys": frozenset({"sysadmin"}),
    "admin.api_key_create": frozenset({"sysadmin"}),
    "admin.api_key_revoke": frozenset({"sysadmin"}),
    # Webhook subscriptions (事件订阅, webapp/admin/webhooks.py): system configuration as well, sysadmin only.
    "admin.webhooks_index": frozenset({"sysadmin"}),
    "admin.webhook_create": frozenset({"sysadmin"}),
    "admin.webhook_disable": frozenset({"sysadmin"}),
    "admin.webhook_enable": frozenset({"sysadmin"}),
    "admin.webhook_delete": frozenset({"sysadmin"}),
    "admin.webhook_rotate": frozenset({"sysadmin"}),
    "admin.webhook_deliveries": frozenset({"sysadmin"}),
    "admin.webhook_resend": frozenset({"sysadmin"}),
    "api.list_cases": api_rule("cases:read"),
    "api.get_case": api_rule("cases:read"),
    "api.create_case": api_rule("cases:write"),
    "api.list_tasks": api_rule("tasks"),
    "api.get_task": api_rule("tasks"),
    "api.claim_task": api_rule("tasks"),
    "api.complete_task": api_rule("tasks"),
    "api.get_instance": api_rule("cases:read"),
    "api.instance_history": api_rule("cases:read"),
    "api.list_definitions": api_rule("definitions:read"),
    "api.list_versions": api_rule("definitions:read"),
    "api.get_version": api_rule("definitions:read"),
    "api.get_file": api_rule("definitions:read"),
    "api.units": api_rule("reference:read"),
    "api.categories": api_rule("reference:read"),
    "api.metrics": api_rule("metrics:read"),
    # -- end api --
    # -- open311 & police110 (webapp/open311/: GeoReport v2; webapp/api/police110.py: 110 警情交换) --
    # Reading is public (no personal data is shown); submitting needs a key (api_key parameter, scope open311).
    "open311.discovery": PUBLIC,
    "open311.services": PUBLIC,
    "open311.service_definition": PUBLIC,
    "open311.list_requests": PUBLIC,
    "open311.show_request": PUBLIC,
    "open311.token": PUBLIC,
    "open311.create_request": api_rule("open311"),
    "api.receive_incident": api_rule("police110"),  # 110 hands a non-police incident over (警情编号 idempotent)
    # -- end open311 & police110 --
    # -- platform exchange (webapp/platform/: 上级工单导入; webapp/api/platform.py: pushed orders) --
    # Transcribers (转录员) import the orders they would otherwise type in; each sees only the imports they uploaded.
    "platform.index": frozenset({"transcriber"}),
    "platform.upload": frozenset({"transcriber"}),
    "platform.job": frozenset({"transcriber"}),
    "platform.progress": frozenset({"transcriber"}),
    "platform.report": frozenset({"transcriber"}),
    # The platform pushes orders with a key of scope platform (idempotent by order number).
    "api.push_orders": api_rule("platform"),
    # -- end platform exchange --
    "cases.show": CASE_ROLES,
    "cases.requester": CASE_ROLES,
    "cases.reveal": CASE_ROLES,
    "cases.attachment": CASE_ROLES,
}


def check_rules(rules: dict[str, Rule]) -> None:
    """Refuse a table naming a role that does not exist (a typo would silently lock everybody out)."""
    for endpoint, rule in rules.items():
        if isinstance(rule, frozenset) and not rule <= ROLE_CODES:
            raise ValueError(f"{endpoint}: unknown roles {sorted(rule - ROLE_CODES)}")
        scope = api_scope(rule)
        if scope is not None and scope not in SCOPES:
            raise ValueError(f"{endpoint}: unknown API scope {scope!r}")
        if isinstance(rule, str) and rule not in (PUBLIC, AUTHENTICATED) and scope is None:
            raise ValueError(f"{endpoint}: rule must be {PUBLIC!r}, {AUTHENTICATED!r}, an API rule or a set of roles")


def allowed(rule: Rule | None, *, signed_in: bool, roles: frozenset[str]) -> bool:
    """Return whether a caller may use an endpoint with this rule (None: no rule, never)."""
    if rule is None or api_scope(rule) is not None:  # an API route is never reached through a session
        return False
    if rule == PUBLIC:
        return True
    if not signed_in:
        return False
    return rule == AUTHENTICATED or bool(isinstance(rule, frozenset) and rule & roles)


def wants_json() -> bool:
    """Return whether the client asked for JSON rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


def to_login() -> ResponseReturnValue:
    """Answer an anonymous caller: pages go to the login form (with a local `next`), anything else gets 401."""
    if request.method in ("GET", "HEAD") and not wants_json():
        flash(messages.LOGIN_REQUIRED, "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(401)


def enforce() -> ResponseReturnValue | None:
    """Before every request: apply the endpoint's rule (unknown routes are left to the 404 handler)."""
    endpoint = request.endpoint
    if endpoint is None:
        return None
    rule = RULES.get(endpoint)
    scope = api_scope(rule)
    if scope is not None:  # the view checks the key; it must be guarded for exactly this scope
        if getattr(current_app.view_functions.get(endpoint), "api_scope", None) != scope:
            abort(403)
        return None
    signed_in = bool(current_user.is_authenticated)
    if rule is not None and rule != PUBLIC and not signed_in:
        refusals.refuse("login")  # audited like any refusal (webapp/refusals.py), counted per source IP
        return to_login()
    if not allowed(rule, signed_in=signed_in, roles=current_user.roles if signed_in else frozenset()):
        refusals.refuse("role" if rule is not None else "no_rule")
        abort(403)
    return None


def init_app(app: Flask) -> None:
    """Check the table and enforce it before every request; audit every refused answer."""
    check_rules(RULES)
    app.before_request(enforce)
    refusals.init_app(app)
