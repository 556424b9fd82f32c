"""The workbench's version pages (流程设计): who may open what, uploads (hostile ones refused with a clear message,
never a 500), publication by a second person with a TOTP code, retirement with a reason; everything audited."""

from __future__ import annotations

import gc
import io
import zipfile
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from processes.accounts import totp
from processes.clock import FrozenClock
from processes.runtime import definitions
from tests.admin_support import enrol_totp
from tests.admin_support import sign_in
from tests.modeler_support import SIMPLE
from tests.modeler_support import scripted
from tests.modeler_support import with_check
from tests.web_support import add_user
from tests.web_support import audit_rows
from tests.web_support import location
from tests.web_support import login
from tests.web_support import post
from tests.web_support import token
from tests.web_support import web_app
from webapp import runtime_of

V1, V2 = scripted(SIMPLE), scripted(with_check())


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def upload(client: FlaskClient, key: str, data: bytes | str, name: str = "simple.bpmn") -> TestResponse:
    """Upload a file as a new draft of `key`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return client.post("/modeler/upload", data={"csrf_token": token(client, "/modeler"), "key": key,
                                                "file": (io.BytesIO(raw), name)},
                       content_type="multipart/form-data")


def form(client: FlaskClient, path: str, data: dict[str, str]) -> TestResponse:
    """POST a form of the workbench with the session's CSRF token."""
    return client.post(path, data={"csrf_token": token(client, "/modeler"), **data})


def admin_with_secret(app: Flask, clock: FrozenClock, username: str) -> tuple[FlaskClient, str]:
    """A system administrator signed in with their second factor, and its secret (to type codes when publishing)."""
    add_user(app, username, "sysadmin")
    secret = enrol_totp(app, username)
    client = app.test_client()
    assert location(login(client, username)) == "/auth/totp"
    assert location(post(client, "/auth/totp", {"code": totp.code_at(secret, clock())})) == "/"
    clock.advance(seconds=30)
    return client, secret


def status_of(app: Flask, version: int, key: str = "simple") -> str:
    """Return a version's status."""
    with runtime_of(app).read() as db:
        return next(r.status for r in definitions.list_versions(db, key) if r.version == version)


def test_routes_by_role(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    assert upload(analyst, "simple", V1).status_code == 303
    pages = ["/modeler", "/modeler/simple", "/modeler/simple/v1", "/modeler/simple/v1/xml",
             "/modeler/simple/v1/download", "/modeler/simple/diff"]
    for role, expected in (("analyst", 200), ("supervisor", 200), ("sysadmin", 200), ("operator", 403),
                           ("handler", 403), ("auditor", 403)):
        client = analyst if role == "analyst" else sign_in(app, clock, f"u_{role}", role,
                                                           department="zjj" if role == "handler" else None)
        assert {p: client.get(p).status_code for p in pages} == dict.fromkeys(pages, expected), role
    assert app.test_client().get("/modeler").status_code == 302  # to the login page
    assert analyst.get("/modeler/simple/v1/publish").status_code == 403
    assert analyst.get("/modeler/simple/migrate").status_code == 200
    assert form(analyst, "/modeler/simple/migrate", {"from": "1", "to": "1", "reason": "r"}).status_code == 403
    assert analyst.get("/modeler/nope").status_code == 404
    assert analyst.get("/modeler/simple/v9").status_code == 404
    assert analyst.get("/modeler/simple/v1/xml?file=../x.bpmn").status_code == 404
    assert analyst.get("/modeler/simple/diff?a=x").status_code == 400


def test_upload_makes_drafts_and_pages_show_them(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    assert upload(analyst, "simple", V1, name="流程.bpmn").status_code == 303  # an odd name becomes simple.bpmn
    assert upload(analyst, "simple", V2).status_code == 303
    again = upload(analyst, "simple", V2)
    assert again.status_code == 303
    assert "内容与第 2 版相同" in analyst.get("/modeler/simple").get_data(as_text=True)
    page = analyst.get("/modeler/simple").get_data(as_text=True)
    assert "第 1 版" in page and "草稿" in page and "an1" in page
    with runtime_of(app).read() as db:
        rows = definitions.list_versions(db, "simple")
    assert [(r.version, r.status, list(r.files)) for r in rows] == [(2, "draft", ["simple.bpmn"]),
                                                                    (1, "draft", ["simple.bpmn"])]
    xml = analyst.get("/modeler/simple/v2/xml")
    assert xml.mimetype == "text/plain" and 'id="check"' in xml.get_data(as_text=True)
    download = analyst.get("/modeler/simple/v1/download")
    assert download.headers["Content-Disposition"] == 'attachment; filename="simple-v1.bpmn"'
    assert download.get_data(as_text=True) == V1
    diagram = analyst.get("/modeler/simple/v2").get_data(as_text=True)
    assert 'data-xml-url="/modeler/simple/v2/xml?file=simple.bpmn"' in diagram and "<script>" not in diagram
    assert [r["result"] for r in audit_rows(app, "definition.upload")] == ["success"] * 3


def test_a_bundle_downloads_as_a_zip(app: Flask, clock: FrozenClock) -> None:
    rt = runtime_of(app)
    files = {"simple.bpmn": V1, "forms/x.schema.json": '{"type": "object"}'}
    with rt.write() as db, db.begin():
        definitions.deploy(db, "simple", files, actor="an1", now=rt.clock(), operators=rt.handlers)
    response = sign_in(app, clock, "an1", "analyst").get("/modeler/simple/v1/download")
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as bundle:
        assert sorted(bundle.namelist()) == ["simple/forms/x.schema.json", "simple/simple.bpmn"]


HOSTILE = {
    "xxe": ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>',
            "DOCTYPE"),
    "laughs": ('<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>', "DOCTYPE"),
    "not xml": ("just text", "XML 格式错误"),
    "not bpmn": ("<svg/>", "这不是 BPMN 2.0 文件"),
    "import": (V1.replace("notified = True", "__import__('os').system('id')"), "安全沙箱禁止"),
    "too big": (b"<" + b"a" * (5 * 1024 * 1024) + b"/>", "超过 5 MB"),
    "latin-1": ("<x>é</x>".encode("latin-1"), "不是 UTF-8"),
}


# Werkzeug's test client spools a big request body to a temporary file it never closes: collect it in this test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_uploads_are_refused_with_a_clear_message(app: Flask, clock: FrozenClock, name: str) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    data, says = HOSTILE[name]
    response = upload(analyst, "simple", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "上传被拒绝" in page or "不能上传" in page or "不是 UTF-8" in page
    assert says in page
    assert "file simple.bpmn" not in page and "rejected" not in page  # the engine's English stays in the log
    assert 'class="flash' not in page  # said once on the page, not again as a flash message
    with runtime_of(app).read() as db:
        assert definitions.list_versions(db, "simple") == []
    assert [r["result"] for r in audit_rows(app, "definition.upload")] == ["failure"]
    gc.collect()


def test_bad_key_and_missing_file_are_400(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    assert "流程标识只能用" in upload(analyst, "../etc", V1).get_data(as_text=True)
    missing = analyst.post("/modeler/upload", data={"csrf_token": token(analyst, "/modeler"), "key": "simple"})
    assert missing.status_code == 400 and "请选择一个 .bpmn 文件" in missing.get_data(as_text=True)
    no_csrf = analyst.post("/modeler/upload", data={"key": "simple", "file": (io.BytesIO(b"x"), "a.bpmn")},
                           content_type="multipart/form-data")
    assert no_csrf.status_code == 400


def test_publish_needs_a_second_person_with_a_current_code(app: Flask, clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    upload(analyst, "simple", V1)
    admin, secret = admin_with_secret(app, clock, "admin1")
    rt = runtime_of(app)
    with rt.write() as db, db.begin():  # a version admin1 deployed (from the command line): not theirs to publish
        definitions.deploy(db, "simple", {"simple.bpmn": V2}, actor="admin1", now=rt.clock(), operators=rt.handlers)

    def publish(version: int, code: str) -> TestResponse:
        return form(admin, f"/modeler/simple/v{version}/publish", {"code": code})

    wrong = f"{(int(totp.code_at(secret, clock())) + 1) % 1_000_000:06d}"
    refused = [(publish(1, ""), "请输入动态口令"), (publish(1, wrong), "动态口令错误"),
               (publish(2, totp.code_at(secret, clock())), "上传此版本的人不能发布它")]
    for response, says in refused:
        assert response.status_code == 403 and says in response.get_data(as_text=True)
    clock.advance(seconds=30)
    assert publish(1, totp.code_at(secret, clock())).status_code == 303
    assert (status_of(app, 1), status_of(app, 2)) == ("published", "draft")
    clock.advance(seconds=30)
    reused = publish(1, totp.code_at(secret, clock()))
    assert reused.status_code == 303  # already published: nothing changes, the attempt is still audited
    rows = audit_rows(app, "definition.publish")
    assert [(r["result"], r["detail"]["reason"], r["actor"]) for r in rows] == [
        ("denied", "no_code", "admin1"), ("denied", "bad_code", "admin1"), ("denied", "same_person", "admin1"),
        ("success", "ok", "admin1"), ("success", "ok", "admin1")]
    assert rows[3]["after"]["sha256"] and rows[4]["detail"]["already_published"] is True
    assert publish(9, "123456").status_code == 404


def test_retire_with_a_reason_and_only_an_administrator_retires_the_published_version(app: Flask,
                                                                                      clock: FrozenClock) -> None:
    analyst = sign_in(app, clock, "an1", "analyst")
    upload(analyst, "simple", V1)
    upload(analyst, "simple", V2)
    rt = runtime_of(app)
    with rt.write() as db, db.begin():
        definitions.publish_version(db, "simple", 1, actor="admin1", now=rt.clock())
    listed = analyst.get("/modeler/simple").get_data(as_text=True)  # the analyst is offered the draft's only
    assert 'action="/modeler/simple/v2/retire"' in listed and 'action="/modeler/simple/v1/retire"' not in listed
    assert form(analyst, "/modeler/simple/v2/retire", {"reason": ""}).status_code == 400
    assert form(analyst, "/modeler/simple/v2/retire", {"reason": "画错了，作废"}).status_code == 303
    assert form(analyst, "/modeler/simple/v2/retire", {"reason": "again"}).status_code == 409
    denied = form(analyst, "/modeler/simple/v1/retire", {"reason": "停用"})
    assert denied.status_code == 403 and "只有系统管理员" in denied.get_data(as_text=True)
    admin = sign_in(app, clock, "admin1", "sysadmin")
    assert 'action="/modeler/simple/v1/retire"' in admin.get("/modeler/simple").get_data(as_text=True)
    assert form(admin, "/modeler/simple/v1/retire", {"reason": "流程撤销 13812345678"}).status_code == 303
    assert (status_of(app, 1), status_of(app, 2)) == ("retired", "retired")
    rows = audit_rows(app, "definition.retire")
    assert [r["result"] for r in rows] == ["success", "failure", "denied", "success"]
    assert "13812345678" not in str(rows[-1]["detail"])  # a typed number is masked in the audit trail
    assert form(analyst, "/modeler/simple/v9/retire", {"reason": "x"}).status_code == 404
