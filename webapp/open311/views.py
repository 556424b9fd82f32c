"""Open311 GeoReport v2 routes: each answers `.json` or `.xml`, and errors in the specification's error format.

Settings: OPEN311_JURISDICTION (the office's jurisdiction_id; a request naming another answers 404, as the
specification says) and OPEN311_CONTACT (who answers questions about the interface, shown by discovery).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import Connection

from processes.audit import record as audit
from processes.cases import forms
from processes.db.base import new_id
from processes.errors import FormDataInvalid
from processes.errors import RuntimeErrorBase
from processes.open311.models import Open311Request
from processes.runtime import commands
from processes.runtime.context import Also
from processes.runtime.context import CommandSummary
from webapp.api.auth import KeyRefused
from webapp.api.auth import authenticate
from webapp.api.auth import keyed
from webapp.context import audit_context
from webapp.context import now
from webapp.context import runtime
from webapp.intake.views import published_form
from webapp.messages import N_
from webapp.open311 import bp
from webapp.open311 import catalogue
from webapp.open311 import listing
from webapp.open311 import submit
from webapp.open311.formats import answer
from webapp.open311.formats import errors
from webapp.open311.parameters import filters_of

FMT = "<any(json, xml):fmt>"
CHANNEL = "network"  # 网络: the case's channel (labels.CHANNELS); SLA rules may name it
# The intake process of a request: 来电登记's (查重并单, then the shared 工单办理). Nothing in it depends on the
# phone: the case's channel column says where the request came from, and rules and metrics read that column.
PROCESS_KEY = "case_phone"
SCOPE = "open311"
JURISDICTION = "dongtou.wenzhou.12345"
CONTACT = "温州市洞头区12345政务服务热线"
CHANGESET = "2026-12-12T00:00:00+08:00"  # when the services or fields of this interface last changed
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
OTHER_JURISDICTION = N_("本接口只受理洞头区（jurisdiction_id 为 %(ours)s）的诉求。")
NO_SERVICE_CODE = N_("请提供 service_code。")
UNKNOWN_SERVICE = N_("没有这个 service_code：请从 services 列表中选择。")
UNKNOWN_REQUEST = N_("没有这个诉求编号。")
UNKNOWN_TOKEN = N_("没有这个 token。")
NOT_DEPLOYED = N_("受理流程尚未发布，暂不能受理诉求，请稍后再试。")
SERVICE_NOTICE = N_("诉求已登记，工单编号 %(number)s；办理结果可按编号查询。")
KEY_HELP = N_("接口密钥由洞头区12345热线系统管理员签发（权限范围 open311），以 api_key 参数随 POST 提交。")


def _jurisdiction() -> str:
    return str(current_app.config.get("OPEN311_JURISDICTION", JURISDICTION))


def _wrong_jurisdiction(fmt: str) -> ResponseReturnValue | None:
    """Refuse a request for another jurisdiction (404, as the specification asks); none given is ours."""
    given = (request.values.get("jurisdiction_id") or "").strip()
    if given and given != _jurisdiction():
        return errors(fmt, 404, [gettext(OTHER_JURISDICTION, ours=_jurisdiction())])
    return None


@bp.get(f"/discovery.{FMT}")
def discovery(fmt: str) -> ResponseReturnValue:
    """Describe this endpoint (GeoReport discovery): specification, URL, formats, where keys come from."""
    base = url_for("open311.services", fmt="json", _external=True).rsplit("/", 1)[0]
    data = {"changeset": CHANGESET, "contact": str(current_app.config.get("OPEN311_CONTACT", CONTACT)),
            "key_service": gettext(KEY_HELP),
            "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": CHANGESET, "type": "production",
                           "formats": ["text/xml", "application/json"]}]}
    return answer(fmt, "discovery", data)


@bp.get(f"/services.{FMT}")
def services(fmt: str) -> ResponseReturnValue:
    """List the services (诉求分类 of the dispatch catalogue)."""
    if (refused := _wrong_jurisdiction(fmt)) is not None:
        return refused
    with runtime().read() as db:
        return answer(fmt, "services", [s.as_data() for s in catalogue.services(db)])


@bp.get(f"/services/<code>.{FMT}")
def service_definition(code: str, fmt: str) -> ResponseReturnValue:
    """Describe one service's attributes (its questions)."""
    if (refused := _wrong_jurisdiction(fmt)) is not None:
        return refused
    with runtime().read() as db:
        service = catalogue.find(db, code)
        if service is None:
            return errors(fmt, 404, [gettext(UNKNOWN_SERVICE)])
        data = {"service_code": service.code, "attributes": [a.as_data() for a in service.attributes]}
    return answer(fmt, "service_definition", data)


@bp.get(f"/requests.{FMT}")
def list_requests(fmt: str) -> ResponseReturnValue:
    """List service requests with the specification's filters (ids, service_code, dates, status)."""
    if (refused := _wrong_jurisdiction(fmt)) is not None:
        return refused
    filters, problems = filters_of(request.args)
    if problems:
        return errors(fmt, 400, problems)
    with runtime().read() as db:
        return answer(fmt, "service_requests", listing.find(db, filters, now()))


@bp.get(f"/requests/<number>.{FMT}")
def show_request(number: str, fmt: str) -> ResponseReturnValue:
    """Show one service request (a list of one, as the specification has it)."""
    if (refused := _wrong_jurisdiction(fmt)) is not None:
        return refused
    with runtime().read() as db:
        found = listing.one(db, number[:32], now())
    if found is None:
        return errors(fmt, 404, [gettext(UNKNOWN_REQUEST)])
    return answer(fmt, "service_requests", [found])


@bp.get(f"/tokens/<token>.{FMT}")
def token(token: str, fmt: str) -> ResponseReturnValue:
    """Return the service_request_id a token stands for (the token is the case's id, given by POST)."""
    if (refused := _wrong_jurisdiction(fmt)) is not None:
        return refused
    with runtime().read() as db:
        number = listing.number_of_token(db, token[:36])
    if number is None:
        return errors(fmt, 404, [gettext(UNKNOWN_TOKEN)])
    return answer(fmt, "service_requests", [{"service_request_id": number, "token": token}])


@bp.post(f"/requests.{FMT}")
@keyed(SCOPE)
def create_request(fmt: str) -> ResponseReturnValue:
    """Register a service request as a case on the 网络 channel (api_key with the open311 scope)."""
    if (refused := _wrong_jurisdiction(fmt)) is not None:
        return refused
    values = request.values  # the key and jurisdiction may come in the query string, as some clients send them
    try:
        identity = authenticate((values.get("api_key") or "").strip(), SCOPE)
    except KeyRefused as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return errors(fmt, 403 if exc.status == 401 else exc.status, [str(exc.message)], headers)
    code = (values.get("service_code") or "").strip()
    if not code:
        return errors(fmt, 400, [gettext(NO_SERVICE_CODE)])
    with runtime().read() as db:
        service = catalogue.find(db, code)
        towns = catalogue.townships(db)
        schema = published_form(db, PROCESS_KEY, forms.INTAKE_FORM)
    if service is None:
        return errors(fmt, 400, [gettext(UNKNOWN_SERVICE)])
    if schema is None:
        return errors(fmt, 503, [gettext(NOT_DEPLOYED)])
    sub = submit.read(values, service, towns)
    problems = sub.problems + [submit.field_problem(name, text) for name, text in
                               forms.errors_of(schema, sub.data).items() if name not in sub.reported]
    if problems:
        return errors(fmt, 400, problems)
    try:
        started = commands.open_case(runtime(), PROCESS_KEY, sub.data, actor=identity.actor, channel=CHANNEL,
                                     also=_registered(sub, service.code, identity.actor))
    except FormDataInvalid as exc:
        texts = [submit.field_problem(n, t if not t.isascii() else forms.BAD_FORMAT) for n, t in exc.errors.items()]
        return errors(fmt, 400, texts or [forms.BAD_FORMAT])
    except RuntimeErrorBase as exc:
        return errors(fmt, exc.http_status, [str(exc)])
    reply: dict[str, Any] = {"service_request_id": started.case_number, "token": started.case_id,
                             "service_notice": gettext(SERVICE_NOTICE, number=started.case_number),
                             "account_id": sub.contact.get("account_id")}
    return answer(fmt, "service_requests", [reply], 201)


def _registered(sub: submit.Submission, code: str, actor: str) -> Also:
    """Write the Open311 row and the registration's audit row in the registration's own transaction."""
    def write(conn: Connection, opened: CommandSummary) -> None:
        moment = now()
        conn.execute(sa.insert(Open311Request).values(
            id=new_id(), case_id=opened.case_id, service_code=code, lat=sub.lat, long=sub.long, media_url=sub.media_url,
            contact=sub.sealed_contact(), submitted_by=actor, created_at=moment))
        audit.record(conn, action="case.register", actor=actor, role="api", at=moment, object_type="case",
                     object_id=opened.case_number, detail={
                         "channel": CHANNEL, "process": PROCESS_KEY, "via": "open311", "service_code": code,
                         "fields": sorted(sub.data), "contact": sorted(sub.contact)}, **audit_context())
    return write
