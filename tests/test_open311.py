"""Open311 GeoReport v2 (/open311/v2): discovery, services, requests and tokens in JSON and XML, submitted with an
API key as a case on the 网络 channel through the intake path; status and 挂网 reply follow the case; GET never
shows the requester. An independent client from PyPI (georeport, with xmltodict for XML) drives a live server.
On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import requests
import sqlalchemy as sa
import xmltodict
from flask import Flask
from georeport import GeoReport
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from processes.audit.models import AuditLog
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.open311.models import Open311Request
from processes.reference.models import DispatchRule
from processes.runtime import commands
from processes.runtime.models import ProcessInstance
from tests.api_support import make_key
from tests.lifecycle_support import REPLY
from tests.workspace_support import DISPATCH
from tests.workspace_support import Workspace
from webapp import runtime_of
from webapp.open311.catalogue import service_code

BASE = "/open311/v2"
NOISE = service_code("噪音扰民")
LIGHTS = service_code("市政设施")
PERSON = {"first_name": "小明", "last_name": "王", "phone": "13812345678", "email": "wang.xm@example.cn",
          "device_id": "device-7f3a", "account_id": "acct-9921"}
PUBLISHED = "经核查，施工单位已停止夜间作业，并承诺按规定时段施工。"


def post(ws: Workspace, key: str, fmt: str = "json", **fields: str) -> TestResponse:
    """Submit a service request (form-encoded, as GeoReport v2 clients send it)."""
    return ws.app.test_client().post(f"{BASE}/requests.{fmt}", data={"api_key": key, **fields})


def noise_report(ws: Workspace, key: str, **more: str) -> dict[str, Any]:
    """Submit a noise report with a requester and return the first item of the answer."""
    fields = {"service_code": NOISE, "address_string": "北岙东岙路12号工地", "lat": "27.836", "long": "121.152",
              "description": "工地夜间施工噪音很大，我是王小明，电话13812345678", "media_url": "https://img.example.cn/a.jpg",
              **PERSON, **more}
    answer = post(ws, key, **fields)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    item: dict[str, Any] = answer.get_json()[0]
    return item


def started(ws: Workspace, number: str) -> commands.Started:
    """The case of a request number, as the office test helpers take it."""
    with runtime_of(ws.app).read() as db:
        case = db.scalar(sa.select(Case).where(Case.number == number))
        assert case is not None
        instance = db.scalar(sa.select(ProcessInstance.id).where(ProcessInstance.case_id == case.id))
    assert instance is not None
    return commands.Started(instance, case.id, case.number, "waiting")


def errors_of(answer: TestResponse) -> list[str]:
    """The descriptions of a GeoReport error answer, JSON or XML, checking its shape and codes."""
    if answer.mimetype == "text/xml":
        items = xmltodict.parse(answer.data, force_list=("error",))["errors"]["error"]
        assert all(int(i["code"]) == answer.status_code for i in items)
        return [i["description"] for i in items]
    body = answer.get_json()
    assert isinstance(body, list) and all(set(i) == {"code", "description"} for i in body)
    assert all(i["code"] == answer.status_code for i in body)
    return [i["description"] for i in body]


def test_discovery_services_and_definitions_in_json_and_xml(ws: Workspace) -> None:
    client = ws.app.test_client()
    found = client.get(f"{BASE}/discovery.json").get_json()
    endpoint = found["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2") and endpoint["specification"].endswith("GeoReport_v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"} and found["key_service"]
    xml = xmltodict.parse(client.get(f"{BASE}/discovery.xml").data)["discovery"]
    assert xml["endpoints"]["endpoint"]["url"] == endpoint["url"] and len(xml["endpoints"]["endpoint"]["formats"]
                                                                          ["format"]) == 2
    services = client.get(f"{BASE}/services.json").get_json()
    by_name = {s["service_name"]: s for s in services}
    with runtime_of(ws.app).read() as db:
        categories = set(db.scalars(sa.select(DispatchRule.category)))
    assert set(by_name) == categories and len(services) == len(categories)  # one service per 诉求分类
    assert by_name["噪音扰民"]["service_code"] == NOISE and len({s["service_code"] for s in services}) == len(services)
    assert by_name["噪音扰民"] | {"keywords": ""} == {
        "service_code": NOISE, "service_name": "噪音扰民", "description": "施工、商业、社会生活噪音", "metadata": True,
        "type": "realtime", "keywords": "", "group": "区生态环境分局"}
    assert by_name["噪音扰民"]["keywords"] == "施工,商业,社会生活噪音"
    listed = xmltodict.parse(client.get(f"{BASE}/services.xml").data)["services"]["service"]
    assert [s["service_code"] for s in listed] == [s["service_code"] for s in services]
    assert listed[0]["metadata"] == "true"
    definition = client.get(f"{BASE}/services/{NOISE}.json").get_json()
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert definition["service_code"] == NOISE and list(attributes) == ["request_type", "township", "noise_period"]
    assert attributes["township"]["datatype"] == "singlevaluelist" and not attributes["township"]["required"]
    assert {"key": "beiao", "name": "北岙街道"} in attributes["township"]["values"]
    assert {v["key"] for v in attributes["request_type"]["values"]} >= {"help", "complaint", "consult"}
    other = client.get(f"{BASE}/services/{LIGHTS}.xml")
    parsed = xmltodict.parse(other.data, force_list=("attribute", "value"))["service_definition"]
    assert [a["code"] for a in parsed["attributes"]["attribute"]] == ["request_type", "township"]
    assert parsed["attributes"]["attribute"][0]["variable"] == "true"
    english = client.get(f"{BASE}/services/{NOISE}.json", headers={"Accept-Language": "en"})
    assert english.status_code == 200
    for fmt in ("json", "xml"):
        missing = client.get(f"{BASE}/services/cffffffff.{fmt}")
        assert missing.status_code == 404
        assert errors_of(missing) == ["没有这个 service_code：请从 services 列表中选择。"]


def test_a_request_is_a_case_on_the_network_channel_with_personal_data_sealed(ws: Workspace) -> None:
    key = make_key(ws.app, "city-app", "open311")
    reply = noise_report(ws, key, **{"attribute[request_type]": "complaint", "attribute[noise_period]": "night"})
    number, token = reply["service_request_id"], reply["token"]
    assert reply["account_id"] == "acct-9921" and number in reply["service_notice"]
    rt = runtime_of(ws.app)
    with rt.read() as db:
        case = db.scalar(sa.select(Case).where(Case.number == number))
        assert case is not None and case.id == token
        assert (case.channel, case.category, case.township, case.request_type, case.urgency) == (
            "network", "噪音扰民", "beiao", "complaint", "normal")  # 北岙 named in the address
        assert case.location == "北岙东岙路12号工地" and case.content is not None
        assert case.content.endswith("【噪音发生时段】夜间（22时至次日6时）")
        requester = db.get(Requester, case.requester_id)
        extra = db.scalar(sa.select(Open311Request).where(Open311Request.case_id == case.id))
        snapshot = db.scalar(sa.select(ProcessInstance.snapshot).where(ProcessInstance.case_id == case.id))
        registered = db.scalar(sa.select(AuditLog).where(AuditLog.action == "case.register",
                                                         AuditLog.object_id == number))
    assert requester is not None and requester.phone_last4 == "5678" and "13812345678" not in str(requester.phone)
    assert requester.name is not None and "王小明" not in requester.name
    assert extra is not None and (extra.service_code, extra.lat, extra.long) == (NOISE, 27.836, 121.152)
    assert extra.submitted_by == "api:city-app" and extra.contact is not None
    assert "wang.xm" not in extra.contact and "acct-9921" not in extra.contact  # encrypted
    assert snapshot is not None and not any(v in snapshot for v in ("13812345678", "王小明", "wang.xm", "device-7f3a"))
    assert registered is not None and registered.actor == "api:city-app"
    assert registered.detail is not None and registered.detail["channel"] == "network"
    assert ws.office.open_ids(started(ws, number)) == ["triage"]  # 初审, as every registered case
    tokens = ws.app.test_client().get(f"{BASE}/tokens/{token}.xml")
    assert xmltodict.parse(tokens.data)["service_requests"]["request"] == {"service_request_id": number,
                                                                          "token": token}


def test_bad_submissions_are_refused_in_the_error_format_and_register_nothing(ws: Workspace) -> None:
    key = make_key(ws.app, "city-app", "open311")
    reader = make_key(ws.app, "reader", "reference:read")
    good = {"service_code": NOISE, "address_string": "北岙东岙路", "description": "噪音"}
    cases: list[tuple[dict[str, str], int, str]] = [
        ({"api_key": ""}, 403, "缺少接口密钥"), ({"api_key": "hk_000000000000_" + "x" * 43}, 403, "无效"),
        ({"api_key": reader}, 403, "没有调用此接口的权限"), ({"service_code": ""}, 400, "请提供 service_code"),
        ({"service_code": "cffffffff"}, 400, "没有这个 service_code"),
        ({"address_string": ""}, 400, "请提供位置"), ({"address_string": "", "address_id": "A1"}, 400, "地址编号"),
        ({"lat": "91", "long": "121"}, 400, "有效的纬度"), ({"lat": "27.8"}, 400, "lat、long 须同时提供"),
        ({"description": ""}, 400, "请填写 description"), ({"description": "长" * 4001}, 400, "不能超过 4000"),
        ({"phone": "call me"}, 400, "phone："), ({"email": "nope"}, 400, "email 格式不正确"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"attribute[township]": "paris"}, 400, "attribute[township]"),
        ({"jurisdiction_id": "chicago.gov"}, 404, "只受理洞头区"),
    ]
    for change, status, text in cases:
        for fmt in ("json", "xml"):
            answer = ws.app.test_client().post(f"{BASE}/requests.{fmt}", data={"api_key": key, **good, **change})
            assert answer.status_code == status, (change, answer.get_data(as_text=True))
            assert answer.mimetype == ("text/xml" if fmt == "xml" else "application/json")
            assert any(text in e for e in errors_of(answer)), (change, errors_of(answer))
    with runtime_of(ws.app).read() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
        denied = db.scalars(sa.select(AuditLog.result).where(AuditLog.action == "api.call")).all()
    assert denied.count("denied") == 6  # each refused key is an audit row (two formats x three keys)
    ours = post(ws, key, jurisdiction_id="dongtou.wenzhou.12345", **good)
    assert ours.status_code == 201


def test_get_requests_filters_by_ids_service_dates_and_status(ws: Workspace) -> None:
    key = make_key(ws.app, "city-app", "open311")
    clock = ws.office.clock
    first = noise_report(ws, key, phone="13900000001")["service_request_id"]
    clock.now += timedelta(days=2)
    lights = post(ws, key, service_code=LIGHTS, description="路灯不亮", lat="27.84", long="121.16").get_json()[0]
    clock.now += timedelta(days=1)
    last = noise_report(ws, key, phone="13900000002")["service_request_id"]
    client = ws.app.test_client()

    def numbers(query: str, fmt: str = "json") -> list[str]:
        answer = client.get(f"{BASE}/requests.{fmt}?{query}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        if fmt == "xml":
            parsed = xmltodict.parse(answer.data, force_list=("request",))["service_requests"]
            return [r["service_request_id"] for r in (parsed or {}).get("request", [])]
        return [r["service_request_id"] for r in answer.get_json()]

    everything = [last, lights["service_request_id"], first]
    assert numbers("") == everything == numbers("", "xml")  # newest first
    assert numbers(f"service_request_id={first},{last}&service_code={LIGHTS}&status=closed") == [last, first]
    assert numbers(f"service_code={NOISE}") == [last, first] == numbers(f"service_code={NOISE}", "xml")
    assert numbers(f"service_code={NOISE},{LIGHTS}") == everything
    assert numbers("start_date=2026-11-26T00:00:00%2B08:00") == [last, lights["service_request_id"]]
    assert numbers("end_date=2026-11-27T12:00:00Z") == [lights["service_request_id"], first]
    assert numbers("start_date=2026-11-27T00:00:00&end_date=2026-11-27T23:00:00") == [
        lights["service_request_id"]]  # a time without an offset is Beijing time
    assert numbers("status=open") == everything and numbers("status=closed") == [] == numbers("status=closed", "xml")
    assert numbers("status=open,closed") == everything
    assert numbers("start_date=2027-01-01T00:00:00Z") == []
    for query, text in (("status=fixed", "status 只能是"), ("start_date=yesterday", "W3C"),
                        ("start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z", "90 天"),
                        ("start_date=2026-11-28T00:00:00Z&end_date=2026-11-01T00:00:00Z", "不能晚于"),
                        ("service_request_id=DT1;DROP", "service_request_id"), ("jurisdiction_id=x", "只受理")):
        for fmt in ("json", "xml"):
            refused = client.get(f"{BASE}/requests.{fmt}?{query}")
            assert refused.status_code in (400, 404) and any(text in e for e in errors_of(refused)), query
    one = client.get(f"{BASE}/requests/{first}.json").get_json()
    assert len(one) == 1 and one[0]["service_request_id"] == first and one[0]["service_name"] == "噪音扰民"
    for fmt in ("json", "xml"):
        assert errors_of(client.get(f"{BASE}/requests/DT20991231-0001.{fmt}")) == ["没有这个诉求编号。"]
        assert errors_of(client.get(f"{BASE}/tokens/nope.{fmt}")) == ["没有这个 token。"]


def test_closure_and_the_published_reply_show_as_status_and_status_notes(ws: Workspace) -> None:
    key = make_key(ws.app, "city-app", "open311")
    number = noise_report(ws, key)["service_request_id"]
    case = started(ws, number)
    client = ws.app.test_client()
    shown = client.get(f"{BASE}/requests/{number}.json").get_json()[0]
    assert (shown["status"], shown["status_notes"], shown["agency_responsible"]) == ("open", None, None)
    office = ws.office
    office.complete(case, "triage", {**DISPATCH, "request_type": "complaint"})
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    shown = client.get(f"{BASE}/requests/{number}.json").get_json()[0]
    assert (shown["status"], shown["agency_responsible"]) == ("open", "区生态环境分局")
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    shown = client.get(f"{BASE}/requests/{number}.json").get_json()[0]
    assert shown["status_notes"] is None  # 签收 stays inside
    assert shown["expected_datetime"] is not None and shown["expected_datetime"].endswith("+08:00")  # 办理时限
    office.complete(case, "reply", REPLY, department="sthj")
    office.complete(case, "review", {"review_result": "accept"})
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
    closed = client.get(f"{BASE}/requests.json?status=closed").get_json()
    assert [r["service_request_id"] for r in closed] == [number] and closed[0]["status_notes"] is None
    office.complete(case, "publish_review", {"publish": True, "public_reply": PUBLISHED})
    for fmt in ("json", "xml"):
        answer = client.get(f"{BASE}/requests/{number}.{fmt}")
        item = answer.get_json()[0] if fmt == "json" else xmltodict.parse(answer.data)["service_requests"]["request"]
        assert (item["status"], item["status_notes"]) == ("closed", PUBLISHED)
        assert item["expected_datetime"] is None  # nothing more is expected of a closed request


def test_a_reply_not_published_stays_internal(ws: Workspace) -> None:
    key = make_key(ws.app, "city-app", "open311")
    number = noise_report(ws, key)["service_request_id"]
    case = started(ws, number)
    office = ws.office
    office.complete(case, "triage", {**DISPATCH, "request_type": "complaint"})
    office.complete(case, "dispatch", {"dispatch_mode": "department", "lead_department": "sthj"})
    office.complete(case, "sign_for", {"sign_decision": "sign"}, department="sthj")
    office.complete(case, "reply", REPLY, department="sthj")
    office.complete(case, "review", {"review_result": "accept"})
    office.complete(case, "callback", {"callback_result": "satisfied", "solved": True})
    office.complete(case, "publish_review", {"publish": False, "public_reply": "不公开的文字"})
    item = ws.app.test_client().get(f"{BASE}/requests/{number}.json").get_json()[0]
    assert (item["status"], item["status_notes"]) == ("closed", None)


def test_get_never_shows_the_requester(ws: Workspace) -> None:
    key = make_key(ws.app, "city-app", "open311")
    number = noise_report(ws, key)["service_request_id"]
    client = ws.app.test_client()
    for path in (f"requests.json?service_request_id={number}", "requests.xml", f"requests/{number}.json",
                 f"requests/{number}.xml"):
        text = client.get(f"{BASE}/{path}").get_data(as_text=True)
        assert number in text
        for secret in ("13812345678", "王小明", "wang.xm@example.cn", "device-7f3a", "acct-9921", "first_name",
                       "phone", "email"):
            assert secret not in text, (path, secret)
        assert "138****5678" in text and "王**" in text  # the description, masked as for a reader without rights
        assert "https://img.example.cn/a.jpg" in text and "27.836" in text


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve the app from a thread on a free port (as tests/browser does); yield the Open311 root address."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{BASE}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_an_independent_open311_client_reads_and_submits_in_json_and_xml(ws: Workspace) -> None:
    key = make_key(ws.app, "city-app", "open311")
    with serving(ws.app) as root:
        submitted = {}
        for fmt in ("json", "xml"):
            # georeport reads only; a POST is plain form encoding, as the specification describes it
            sent = requests.post(f"{root}/requests.{fmt}", timeout=30, data={
                "api_key": key, "jurisdiction_id": "dongtou.wenzhou.12345", "service_code": LIGHTS,
                "lat": "27.84", "long": "121.16", "address_string": "霓屿街道桐桥村",
                "description": f"路灯不亮（{fmt}）", "first_name": "Ann", "last_name": "Lee", "phone": "13900001111"})
            assert sent.status_code == 201, sent.text
            body = sent.json()[0] if fmt == "json" else xmltodict.parse(sent.content)["service_requests"]["request"]
            submitted[fmt] = body["service_request_id"]
        for fmt in ("json", "xml"):
            client = GeoReport(root, jurisdiction="dongtou.wenzhou.12345", output_format=fmt)
            services = client.get_service_list()
            assert LIGHTS in [s["service_code"] for s in services]
            definition = client.get_service_definition(LIGHTS)
            attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
            assert [a["code"] for a in attributes] == ["request_type", "township"]
            found = client.get_service_requests(service_code=LIGHTS, status="open")
            assert sorted(r["service_request_id"] for r in found) == sorted(submitted.values())
            one = client.get_service_request(submitted[fmt])
            assert one["service_request_id"] == submitted[fmt] and one["status"] == "open"
            assert one["service_name"] == "市政设施" and str(one["lat"]) == "27.84"
            assert "13900001111" not in str(found) and "Ann" not in str(found)
    with runtime_of(ws.app).read() as db:
        townships = set(db.scalars(sa.select(Case.township).where(Case.number.in_(submitted.values()))))
    assert townships == {"niyu"}
