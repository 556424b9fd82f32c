"""Upstream order import (上级工单导入, issue 17): files row by row with a report, the CLI, duplicates, limits.

On SQLite and PostgreSQL (`ws`). Orders go through the platform intake form: personal values end up encrypted in the
requester table, the report names rows, order numbers and reasons only.
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from openpyxl import Workbook
from openpyxl import load_workbook
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from processes.audit.models import AuditLog
from processes.cases.models import Case
from processes.cases.models import Requester
from processes.exchange import platform_import
from processes.exchange import receipts
from processes.exchange.models import PlatformImport
from processes.exchange.models import UpstreamReceipt
from processes.exchange.platform_import import Row
from tests.api_support import bearer
from tests.api_support import make_key
from tests.workspace_support import Workspace
from tests.workspace_support import text
from tests.workspace_support import token
from webapp import runtime_of
from webapp.cli import cli
from webapp.platform import runner
from webapp.platform.orders import Intake

HEADER = ["工单编号", "截止时间", "诉求人", "联系电话", "诉求类型", "紧急程度", "所属乡镇", "诉求类别", "诉求内容",
          "发生地址"]


def order(number: str, **changes: str) -> dict[str, str]:
    """One order as the platform exports it (Chinese labels, names of choices)."""
    row = {"工单编号": number, "截止时间": "2026-11-30 12:00", "诉求人": "李四", "联系电话": "13900001111",
           "诉求类型": "投诉", "紧急程度": "一般", "所属乡镇": "北岙街道", "诉求类别": "噪音扰民",
           "诉求内容": "夜间施工噪音扰民", "发生地址": "北岙街道中心街"}
    return {**row, **changes}


def csv_bytes(rows: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    """A CSV as Excel writes it (CRLF), in the given encoding."""
    lines = [",".join(HEADER)] + [",".join(r.get(h, "") for h in HEADER) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[dict[str, str]]) -> bytes:
    """A workbook with the header and the orders (order number and phone as numbers, like Excel keeps them)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for r in rows:
        cells = [(h, r.get(h, "")) for h in HEADER]
        sheet.append([int(v) if h == "联系电话" and v.isdigit() else (v or None) for h, v in cells])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client: FlaskClient, name: str, content: bytes) -> Any:
    """Upload a file on the import page (the body encoded in memory: the test client would spool a large one)."""
    boundary, body = encode_multipart(MultiDict({"csrf_token": token(client, "/platform"),
                                                 "file": FileStorage(io.BytesIO(content), name)}))
    return client.post("/platform/imports", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def run_imports(ws: Workspace) -> int:
    """Run the waiting imports as a scheduler would."""
    return runner.run_waiting(ws.app, "test-runner")


def job_of(ws: Workspace, job_id: str) -> PlatformImport:
    with ws.office.rt.read() as db:
        job = db.get(PlatformImport, job_id)
        assert job is not None
        return job


def imported(ws: Workspace, client: FlaskClient, name: str, content: bytes) -> PlatformImport:
    """Upload, run and return the finished job."""
    answer = upload(client, name, content)
    assert answer.status_code == 303, text(answer)
    job_id = answer.headers["Location"].rsplit("/", 1)[-1]
    assert run_imports(ws) == 1
    return job_of(ws, job_id)


def platform_cases(ws: Workspace) -> dict[str, Case]:
    with ws.office.rt.read() as db:
        return {c.upstream_order_id or "": c for c in db.scalars(sa.select(Case).where(Case.channel == "platform"))}


def test_json_file_registers_good_rows_and_reports_every_refused_row(ws: Workspace) -> None:
    client = ws.user("zhuan", "transcriber")
    rows = [order("ZJ100001"), order("ZJ100002", 联系电话="不知道"), order("ZJ100003", 截止时间="下周一"),
            order("ZJ100004", 诉求内容=""), order("ZJ100001"), order("ZJ 1/2"), order("ZJ100005", 所属乡镇="火星")]
    content = json.dumps({"data": rows}, ensure_ascii=False).encode()
    job = imported(ws, client, "orders.json", content)
    assert (job.status, job.created, job.duplicates, job.refused, job.rows_done) == ("done", 1, 1, 5, 7)
    report = {r[0]: r for r in job.report}
    assert report[1][2] == "created" and report[1][4].startswith("DT")
    assert report[2][2] == "refused" and "联系电话" in report[2][3]
    assert report[3][2] == "refused" and "截止时间" in report[3][3]
    assert report[4][2] == "refused" and "诉求内容" in report[4][3]
    assert report[5][2] == "duplicate" and report[1][4] in report[5][3]
    assert report[6][2] == "refused" and "工单编号" in report[6][3]
    assert report[7][2] == "refused" and "所属乡镇" in report[7][3]
    assert job.sealed is None  # the upload (names, phones) is dropped once imported
    assert "13900001111" not in json.dumps(job.report, ensure_ascii=False) + json.dumps(job.notes)
    case = platform_cases(ws)["ZJ100001"]
    assert (case.township, case.category, case.request_type) == ("beiao", "噪音扰民", "complaint")
    with ws.office.rt.read() as db:
        requester = db.get(Requester, case.requester_id)
        assert requester is not None and "13900001111" not in (requester.phone or "")  # encrypted
        audit = db.scalar(sa.select(AuditLog).where(AuditLog.action == "case.register",
                                                    AuditLog.object_id == case.number))
        assert audit is not None and audit.actor == "zhuan"
    page = text(client.get(f"/platform/imports/{job.id}"))
    assert "不像电话号码" in page and "ZJ100003" in page and "ZJ100001" in page
    csv_report = client.get(f"/platform/imports/{job.id}/report.csv")
    assert csv_report.status_code == 200 and "ZJ100005" in csv_report.get_data(as_text=True)


def test_xlsx_and_gbk_csv_import_and_say_the_encoding(ws: Workspace) -> None:
    client = ws.user("zhuan", "transcriber")
    job = imported(ws, client, "export.xlsx", xlsx_bytes([order("ZJ200001"), order("ZJ200002")]))
    assert (job.file_format, job.created, job.refused) == ("xlsx", 2, 0), job.report
    gbk = csv_bytes([order("ZJ300001"), order("ZJ300002", 诉求类型="表扬")], "gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    job = imported(ws, client, "导出.csv", gbk)
    assert (job.file_format, job.encoding, job.created) == ("csv", "GB18030（GBK）", 2), job.report
    assert "编码：GB18030（GBK）" in text(client.get(f"/platform/imports/{job.id}"))
    bom = b"\xef\xbb\xbf" + csv_bytes([order("ZJ400001")])
    assert imported(ws, client, "utf8.csv", bom).encoding == "UTF-8（带 BOM）"
    cases = platform_cases(ws)
    assert {"ZJ200001", "ZJ300001", "ZJ400001"} <= cases.keys()
    assert cases["ZJ300002"].request_type == "praise"


def test_unreadable_files_are_refused_whole_with_the_reason(ws: Workspace) -> None:
    client = ws.user("zhuan", "transcriber")
    ws.app.config["PLATFORM_IMPORT_MAX_BYTES"] = 2000
    ws.app.config["PLATFORM_IMPORT_MAX_ROWS"] = 3
    cases = {
        "bad.json": (b'[{"\xe5\xb7\xa5\xe5\x8d\x95\xe7\xbc\x96\xe5\x8f\xb7": "ZJ1",', "JSON 格式有误"),
        "noise.csv": (bytes(range(128, 256)) * 3, "不是 UTF-8 或 GBK"),
        "big.csv": (b"x" * 2500, "文件过大"),
        "many.csv": (csv_bytes([order(f"ZJ5{i:05d}") for i in range(4)]), "超过单次导入上限 3 行"),
        "old.xls": (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "旧版 Excel"),
        "nohead.csv": ("姓名,电话\r\n李四,13900001111\r\n".encode(), "工单编号"),
        "broken.xlsx": (b"PK\x03\x04" + b"\0" * 100, "Excel 文件已损坏"),
    }
    for name, (content, said) in cases.items():
        answer = upload(client, name, content)
        assert answer.status_code == 400, name
        assert said in text(answer), (name, text(answer)[:2000])
    assert run_imports(ws) == 0  # nothing was queued
    assert not platform_cases(ws)


def test_importing_a_file_twice_makes_every_row_a_duplicate(ws: Workspace) -> None:
    client = ws.user("zhuan", "transcriber")
    content = csv_bytes([order("ZJ600001"), order("ZJ600002")])
    assert imported(ws, client, "a.csv", content).created == 2
    again = imported(ws, client, "a.csv", content)
    assert (again.created, again.duplicates) == (0, 2)
    assert len(platform_cases(ws)) == 2


def test_a_runner_taken_over_reports_its_own_rows_as_created(ws: Workspace) -> None:
    """A job restarted from its first row finds the receipts it wrote: created, not duplicate, nothing twice."""
    ws.user("zhuan", "transcriber")
    rt = runtime_of(ws.app)
    intake = Intake(rt, actor="zhuan", via="file", import_id="job-1")
    first = intake.register(Row(2, list(platform_import_pairs(order("ZJ700001")))))
    restarted = Intake(rt, actor="zhuan", via="file", import_id="job-1")  # the runner that took the job over
    again = restarted.register(Row(2, list(platform_import_pairs(order("ZJ700001")))))
    other = Intake(rt, actor="zhuan", via="file", import_id="job-2").register(
        Row(2, list(platform_import_pairs(order("ZJ700001")))))
    assert (first.outcome, again.outcome, other.outcome) == ("created", "created", "duplicate")
    assert first.case == again.case == other.case


def platform_import_pairs(row: dict[str, str]) -> list[tuple[str, str]]:
    """(field, value) pairs of a row, as the file readers give them."""
    return [(name, value) for label, value in row.items() if (name := platform_import.field_of(label))]


def test_concurrent_pushes_of_one_order_make_one_case(ws: Workspace) -> None:
    rt = runtime_of(ws.app)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def push() -> None:
        intake = Intake(rt, actor="push-test", via="push")
        barrier.wait()
        outcomes.append(intake.register(Row(1, platform_import_pairs(order("ZJ800001")))).outcome)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "duplicate", "duplicate", "duplicate"]
    with rt.read() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(UpstreamReceipt)) == 1
    assert len(platform_cases(ws)) == 1


def test_an_order_typed_in_by_hand_counts_as_a_duplicate(ws: Workspace) -> None:
    ws.office.open("case_platform", "platform", upstream_order_id="ZJ900001", upstream_deadline=
                   "2026-11-30T12:00:00+08:00", request_type="complaint", urgency="normal", content="手工转录")
    outcome = Intake(runtime_of(ws.app), actor="t", via="cli").register(
        Row(1, platform_import_pairs(order("ZJ900001"))))
    assert outcome.outcome == "duplicate"


def test_only_transcribers_import_and_only_their_own_jobs(ws: Workspace) -> None:
    mine = ws.user("zhuan", "transcriber")
    job = imported(ws, mine, "a.csv", csv_bytes([order("ZJ990001")]))
    other = ws.user("zhuan2", "transcriber")
    for path in ("", "/progress", "/report.csv"):
        assert other.get(f"/platform/imports/{job.id}{path}").status_code == 404
        assert mine.get(f"/platform/imports/{job.id}{path}").status_code == 200
    assert ws.user("op", "operator").get("/platform").status_code == 403
    assert "工单导入" in text(mine.get("/platform"))


def test_the_command_prints_the_same_report(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes([order("ZJ110001"), order("ZJ110002", 联系电话="abc"), order("ZJ110001")], "gbk"))
    result = CliRunner().invoke(cli, ["platform", "import", str(path)], obj=ScriptInfo(create_app=lambda: ws.app))
    assert result.exit_code == 0, result.output
    assert "编码 GB18030（GBK）" in result.output
    assert "第 3 行\tZJ110002\t未导入" in result.output and "第 4 行\tZJ110001\t重复" in result.output
    assert "已登记 1，重复 1，未导入 1" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    result = CliRunner().invoke(cli, ["platform", "import", str(bad)], obj=ScriptInfo(create_app=lambda: ws.app))
    assert result.exit_code == 1 and "JSON 格式有误" in result.output


def test_workbook_rows_are_streamed_with_their_sheet_row_numbers() -> None:
    content = xlsx_bytes([order("ZJ1"), {}, order("ZJ3")])
    source = platform_import.open_file("x.xlsx", content, max_bytes=10**7, max_rows=10)
    numbers = [row.number for row in source.rows()]
    assert numbers == [2, 4]  # the blank row 3 is skipped, row numbers are the sheet's
    assert load_workbook(io.BytesIO(content)).active is not None


def test_pushed_orders_are_registered_once_per_order_number(ws: Workspace) -> None:
    key = make_key(ws.app, "mhww", "platform")
    client = ws.app.test_client()
    pushed = [{**order("ZJ120001"), "联系电话": "13900002222"},
              {"upstream_order_id": "ZJ120002", "upstream_deadline": "2026-11-30T12:00:00+08:00",
               "request_type": "help", "content": "路灯不亮", "township": "beiao"},
              order("ZJ120003", 诉求内容=""), "not an order"]
    answer = client.post("/api/v1/platform/orders", json=pushed, headers=bearer(key))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert [i["outcome"] for i in body["items"]] == ["created", "created", "refused", "refused"]
    assert (body["created"], body["duplicates"], body["refused"]) == (2, 0, 2)
    assert "诉求内容" in body["items"][2]["reason"]
    assert "13900002222" not in answer.get_data(as_text=True)
    again = client.post("/api/v1/platform/orders", json=pushed[0], headers=bearer(key)).get_json()
    assert again["items"][0]["outcome"] == "duplicate"
    assert again["items"][0]["case_number"] == body["items"][0]["case_number"]
    assert len(platform_cases(ws)) == 2
    with ws.office.rt.read() as db:
        audit = db.scalar(sa.select(AuditLog).where(AuditLog.action == "case.register",
                                                    AuditLog.object_id == body["items"][0]["case_number"]))
        assert audit is not None and audit.actor == "api:mhww"


def test_pushing_needs_the_platform_scope_and_a_readable_body(ws: Workspace) -> None:
    client = ws.app.test_client()
    assert client.post("/api/v1/platform/orders", json=order("ZJ130001")).status_code == 401
    other = make_key(ws.app, "open311-app", "open311")
    assert client.post("/api/v1/platform/orders", json=order("ZJ130001"),
                       headers=bearer(other)).status_code == 403
    key = make_key(ws.app, "mhww", "platform")
    for body in ("[", [], 5):
        answer = client.post("/api/v1/platform/orders", data=json.dumps(body) if body != "[" else body,
                             headers={**bearer(key), "Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    answer = client.post("/api/v1/platform/orders", json=[order(f"ZJ14{i:04d}") for i in range(101)],
                         headers=bearer(key))
    assert answer.status_code == 400 and "100" in answer.get_json()["detail"]
    assert not platform_cases(ws)
    document = client.get("/api/openapi.json").get_json()
    assert "post" in document["paths"]["/api/v1/platform/orders"]


@pytest.mark.slow
def test_a_50000_row_gbk_csv_is_read_in_one_pass_and_refused_over_the_limit(ws_lite: Workspace) -> None:
    """50,000 rows: checked at upload within seconds and queued whole; a row over the limit refuses the file."""
    rows = [order(f"ZJ{i:08d}", 联系电话=f"139{i:08d}") for i in range(50_000)]
    content = csv_bytes(rows, "gbk")
    source = platform_import.open_file("big.csv", content, max_bytes=50 * 2**20, max_rows=50_000)
    assert (source.total, source.encoding) == (50_000, "GB18030（GBK）")
    numbers = [row.number for row in source.rows()]
    assert numbers[0] == 2 and numbers[-1] == 50_001 and len(numbers) == 50_000
    with pytest.raises(platform_import.FileRefused, match="超过单次导入上限 49999 行"):
        platform_import.open_file("big.csv", content, max_bytes=50 * 2**20, max_rows=49_999)
    client = ws_lite.user("zhuan", "transcriber")
    answer = upload(client, "big.csv", content)
    assert answer.status_code == 303
    job = job_of(ws_lite, answer.headers["Location"].rsplit("/", 1)[-1])
    assert (job.status, job.rows_total, job.encoding) == ("pending", 50_000, "GB18030（GBK）")
    assert "13900000001" not in (job.sealed or "")  # the waiting upload is sealed


def test_a_batch_looked_up_ahead_finds_what_row_by_row_lookups_find(ws: Workspace) -> None:
    ws.office.open("case_platform", "platform", upstream_order_id="ZJ910001", upstream_deadline=
                   "2026-11-30T12:00:00+08:00", request_type="complaint", urgency="normal", content="手工转录")
    client = ws.user("zhuan", "transcriber")
    first = imported(ws, client, "a.csv", csv_bytes([order("ZJ910002")]))
    batch = [Row(n, platform_import_pairs(order(o))) for n, o in enumerate(
        ["ZJ910001", "ZJ910002", "ZJ910003", "ZJ910003"], start=2)]
    intake = Intake(runtime_of(ws.app), actor="zhuan", via="file", import_id=first.id)
    intake.look_ahead(batch)
    with ws.office.rt.read() as db:
        assert intake.known == {o: receipts.earlier(db, o) for o in ("ZJ910001", "ZJ910002", "ZJ910003")}
    outcomes = [intake.register(row) for row in batch]
    # by hand: duplicate; this job's own earlier row (a runner taken over): created; new; repeated within the batch
    assert [o.outcome for o in outcomes] == ["duplicate", "created", "created", "duplicate"]
    assert "与第 4 行重复" in outcomes[3].reason and len(platform_cases(ws)) == 3
