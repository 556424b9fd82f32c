"""Diagram files in any declared encoding (图文件编码): GBK, GB2312, GB18030, UTF-16/UTF-8 with a BOM, ISO-8859-1
and windows-1252 validate and deploy through the web upload, `hotline validate` and bundle folders with their
names intact; unknown, hostile and lying encodings are refused in words, audited, never a 500."""

from __future__ import annotations

import codecs
import gc
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from processes.clock import FrozenClock
from processes.engine.xmlsafe import parse_bpmn
from processes.engine.xmltext import EncodingRefused
from processes.engine.xmltext import decode_diagram
from processes.errors import UploadRejected
from processes.runtime import definitions
from tests.admin_support import sign_in
from tests.modeler_support import SIMPLE
from tests.modeler_support import scripted
from tests.web_support import audit_rows
from tests.web_support import token
from tests.web_support import web_app
from webapp import runtime_of
from webapp.cli import cli

CHINESE = scripted(SIMPLE).replace('name="签收"', 'name="签收（镕）"')  # 镕 is in GBK, not in GB2312
LATIN = re.sub(r'name="[^"]*"', 'name="x"', scripted(SIMPLE)).replace(
    '<bpmn:process id="simple" name="x"', '<bpmn:process id="simple" name="Réclamation café"')


def saved_as(text: str, declared: str, codec: str, bom: bytes = b"") -> bytes:
    """The diagram with `declared` in its declaration, in the bytes `codec` writes (after a byte order mark)."""
    return bom + text.replace('encoding="UTF-8"', f'encoding="{declared}"', 1).encode(codec)


# name → (bytes as the tool saved them, names that must come through unchanged)
GOOD: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "gbk": (saved_as(CHINESE, "GBK", "gbk"), ("签收（镕）", "简单工单")),
    "gb2312": (saved_as(CHINESE.replace("（镕）", ""), "GB2312", "gb2312"), ("签收", "标记黄灯")),
    "gb2312 with a GBK character": (saved_as(CHINESE, "gb2312", "gbk"), ("签收（镕）",)),  # read as GB18030
    "gb18030": (saved_as(CHINESE.replace("镕", "镕𠀀"), "GB18030", "gb18030"), ("签收（镕𠀀）",)),
    "utf-16 le bom": (saved_as(CHINESE, "UTF-16", "utf-16-le", codecs.BOM_UTF16_LE), ("签收（镕）", "通知")),
    "utf-16 be bom": (saved_as(CHINESE, "UTF-16", "utf-16-be", codecs.BOM_UTF16_BE), ("签收（镕）", "答复")),
    "utf-8 bom": (saved_as(CHINESE, "UTF-8", "utf-8", codecs.BOM_UTF8), ("签收（镕）", "签收预警")),
    "iso-8859-1": (saved_as(LATIN, "ISO-8859-1", "latin-1"), ("Réclamation café",)),
    "windows-1252": (saved_as(LATIN.replace("café", "café €"), "windows-1252", "cp1252"),
                     ("Réclamation café €",)),
}
HINT = "请在建模工具中另存为 UTF-8"
# name → (bytes, what the refusal says)
BAD: dict[str, tuple[bytes, str]] = {
    "unknown": (saved_as(LATIN, "x-klingon", "latin-1"), "文件声明的编码 x-klingon 无法识别"),
    "rot13": (saved_as(LATIN, "rot13", "latin-1"), "文件声明的编码 rot13 无法识别"),
    "base64": (saved_as(LATIN, "base64", "latin-1"), "文件声明的编码 base64 无法识别"),
    "zlib": (saved_as(LATIN, "zlib", "latin-1"), "文件声明的编码 zlib 无法识别"),
    "utf-7": (saved_as(LATIN, "UTF-7", "latin-1"), "文件声明的编码 UTF-7 无法识别"),
    "punycode": (saved_as(LATIN, "punycode", "latin-1"), "文件声明的编码 punycode 无法识别"),
    "unicode_escape": (saved_as(LATIN, "unicode_escape", "latin-1"), "文件声明的编码 unicode_escape 无法识别"),
    "ebcdic": (saved_as(LATIN, "cp037", "latin-1"), "文件声明的编码 cp037 无法识别"),
    "utf-8 that is gbk": (saved_as(CHINESE, "UTF-8", "gbk"), "文件内容与声明的编码 UTF-8 不符"),
    "gbk that is not": (saved_as(CHINESE, "GBK", "gbk").replace("签".encode("gbk"), b"\x81\x20", 1),
                        "文件内容与声明的编码 GBK 不符"),
    "utf-16 bom, odd bytes": (saved_as(CHINESE, "UTF-16", "utf-16-le", codecs.BOM_UTF16_LE) + b"\0\xd8",
                              "字节顺序标记（BOM）表示的编码 UTF-16-LE 不符"),
    "latin-1 without a declaration": (saved_as(LATIN, "x", "latin-1").split(b"?>", 1)[1],
                                      "文件不是 UTF-8 文本，也没有声明其他编码"),
}


@pytest.fixture
def app(db_url: str, clock: FrozenClock) -> Iterator[Flask]:
    yield from web_app(db_url, clock)


def upload(client: FlaskClient, key: str, raw: bytes, name: str = "simple.bpmn") -> TestResponse:
    """Upload bytes as a new draft of `key`."""
    return client.post("/modeler/upload", data={"csrf_token": token(client, "/modeler"), "key": key,
                                                "file": (io.BytesIO(raw), name)}, content_type="multipart/form-data")


def validate(tmp_path: Path, raw: bytes, name: str = "upload.bpmn") -> tuple[int, str]:
    """Run `hotline validate` on one file holding raw; return its exit code and output."""
    path = tmp_path / name
    path.write_bytes(raw)
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path}/never-created.sqlite"})
    result = runner.invoke(cli, ["validate", str(path)])
    return result.exit_code, result.output


@pytest.mark.parametrize("name", GOOD)
def test_each_encoding_validates_and_uploads_with_its_names_intact(app: Flask, clock: FrozenClock, tmp_path: Path,
                                                                   name: str) -> None:
    raw, names = GOOD[name]
    code, output = validate(tmp_path, raw)
    assert code == 0 and "ok (process simple" in output, output
    analyst = sign_in(app, clock, "an1", "analyst")
    assert upload(analyst, "simple", raw).status_code == 303
    with runtime_of(app).read() as db:
        row = definitions.list_versions(db, "simple")[0]
    stored = str(row.files["simple.bpmn"])
    assert stored.startswith('<?xml version="1.0" encoding="UTF-8"?>')  # what is stored says what it is
    assert all(n in stored for n in names), stored[:300]
    assert row.name == ("Réclamation café" if name == "iso-8859-1" else
                        "Réclamation café €" if name == "windows-1252" else "简单工单")
    download = analyst.get("/modeler/simple/v1/download")
    assert download.get_data() == stored.encode("utf-8")
    assert all(n in download.get_data(as_text=True) for n in names)
    assert [r["result"] for r in audit_rows(app, "definition.upload")] == ["success"]


@pytest.mark.parametrize("name", ["gbk", "utf-16 le bom", "iso-8859-1"])
def test_a_bundle_folder_reads_each_diagram_in_its_encoding(app: Flask, tmp_path: Path, name: str) -> None:
    raw, names = GOOD[name]
    folder = tmp_path / "enc"
    (folder / "forms").mkdir(parents=True)
    (folder / "simple.bpmn").write_bytes(raw)
    (folder / "forms" / "x.schema.json").write_text('{"title": "表单"}', encoding="utf-8")
    files = definitions.read_bundle_dir(folder)
    assert all(n in files["simple.bpmn"] for n in names) and files["forms/x.schema.json"] == '{"title": "表单"}'
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": app.config["DATABASE_URL"]})
    result = runner.invoke(cli, ["deploy", str(folder), "--key", "enc"])
    assert result.exit_code == 0 and "enc: version 1 (new version, published)" in result.output, result.output
    with runtime_of(app).read() as db:
        assert all(n in str(definitions.published_definition(db, "enc").files["simple.bpmn"]) for n in names)


# Werkzeug's test client spools a big request body to a temporary file it never closes: collect it in this test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("name", BAD)
def test_unreadable_encodings_are_refused_in_words_and_audited(app: Flask, clock: FrozenClock, tmp_path: Path,
                                                               name: str) -> None:
    raw, says = BAD[name]
    analyst = sign_in(app, clock, "an1", "analyst")
    response = upload(analyst, "simple", raw)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and says in page and HINT in page, page[-1500:]
    assert "Error" not in page and "codec" not in page
    with runtime_of(app).read() as db:
        assert definitions.list_versions(db, "simple") == []
    rows = audit_rows(app, "definition.upload")
    assert [r["result"] for r in rows] == ["failure"] and says in str(rows[0]["detail"])
    code, output = validate(tmp_path, raw)
    assert code == 1 and says in output and HINT in output and "Traceback" not in output, output
    english = CliRunner(env={"HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path}/no.sqlite"}).invoke(
        cli, ["validate", "--lang", "en", str(tmp_path / "upload.bpmn")])
    assert english.exit_code == 1 and "save it as UTF-8" in english.output
    gc.collect()


def test_a_refused_encoding_in_a_bundle_folder_is_a_problem_line(tmp_path: Path) -> None:
    folder = tmp_path / "enc"
    folder.mkdir()
    (folder / "simple.bpmn").write_bytes(BAD["rot13"][0])
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path}/never-created.sqlite"})
    result = runner.invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "simple.bpmn:1: 错误 文件声明的编码 rot13 无法识别 — 请在建模工具中另存为 UTF-8 后重新上传" in result.output


def test_text_still_declaring_another_encoding_is_read_as_the_text_it_is() -> None:
    # Before: the text went back to UTF-8 bytes that lxml read as ISO-8859-1 (mojibake: RÃ©clamation).
    text = LATIN.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
    root = parse_bpmn(text, filename="x.bpmn")
    assert root[0].get("name") == "Réclamation café"
    gbk = CHINESE.replace('encoding="UTF-8"', "encoding='GBK'", 1)
    assert parse_bpmn(gbk, filename="x.bpmn")[0].get("name") == "简单工单"
    assert parse_bpmn(saved_as(CHINESE, "GBK", "gbk"), filename="x.bpmn")[0].get("name") == "简单工单"


def test_a_utf16_file_without_a_mark_and_utf8_labelled_utf16_are_read() -> None:
    bare = saved_as(CHINESE, "UTF-16", "utf-16-le")
    assert "签收（镕）" in decode_diagram(bare, "x.bpmn")
    labelled = saved_as(CHINESE, "UTF-16", "utf-8")  # .NET writers say UTF-16 and write UTF-8, libxml2 reads it so
    assert decode_diagram(labelled, "x.bpmn") == CHINESE


def test_the_size_limit_counts_the_bytes_as_uploaded() -> None:
    raw = saved_as(LATIN, "UTF-16", "utf-16-le", codecs.BOM_UTF16_LE)
    assert len(raw) > 2 * len(LATIN)
    with pytest.raises(UploadRejected, match="larger than"):
        decode_diagram(raw, "x.bpmn", limit=len(LATIN) + 10)  # its UTF-8 text would fit; the upload does not
    assert decode_diagram(raw, "x.bpmn", limit=len(raw)).startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_refusals_carry_a_problem_in_the_catalogue_words() -> None:
    with pytest.raises(EncodingRefused) as refused:
        decode_diagram(BAD["utf-8 that is gbk"][0], "a.bpmn")
    problem = refused.value.problem()
    assert problem.code == "upload.encoding" and problem.file == "a.bpmn"
    assert problem.text() == "文件内容与声明的编码 UTF-8 不符（第 5 行）" and problem.line == 5  # 简单工单
    assert str(refused.value).endswith("请在建模工具中另存为 UTF-8 后重新上传")


def test_utf16_without_a_mark_must_say_so_in_its_declaration() -> None:
    with pytest.raises(EncodingRefused, match="与声明的编码 UTF-8 不符"):
        decode_diagram(CHINESE.encode("utf-16-be"), "x.bpmn")
    assert "签收（镕）" in decode_diagram(saved_as(CHINESE, "UTF-16", "utf-16-be"), "x.bpmn")


def test_a_bundle_folder_over_the_bundle_limit_is_refused_whole(tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    padding = b"<!--" + b"x" * (4 * 1024 * 1024 + 512 * 1024) + b"-->"  # under 5 MB each, over 20 MB together
    for i in range(5):
        (folder / f"p{i}.bpmn").write_bytes(saved_as(CHINESE, "GBK", "gbk").replace(b"</bpmn:definitions>",
                                                                                    padding + b"</bpmn:definitions>"))
    runner = CliRunner(env={"HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path}/never-created.sqlite"})
    result = runner.invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 1 and "整个包超过 20 MB" in result.output, result.output


def test_iso_8859_1_is_read_exactly_not_as_windows_1252() -> None:
    raw = b'<?xml version="1.0" encoding="ISO-8859-1"?><a n="\x80\xe9"/>'
    assert decode_diagram(raw, "x.bpmn") == '<?xml version="1.0" encoding="UTF-8"?><a n="\x80é"/>'
    assert decode_diagram(raw.replace(b"ISO-8859-1", b"windows-1252"), "x.bpmn").endswith('<a n="€é"/>')


def test_utf8_files_stay_byte_for_byte() -> None:
    lower = CHINESE.replace('encoding="UTF-8"', "encoding='utf-8'", 1)
    assert decode_diagram(lower.encode(), "x.bpmn") == lower  # a second deploy finds the same sha256
    assert decode_diagram(CHINESE.encode(), "x.bpmn") == CHINESE


@pytest.mark.parametrize("raw, says", [
    (b'<?xml version="1.0" encoding="KOI9-X"?><x/>', "文件声明的编码 KOI9-X 无法识别"),
    (b'<!DOCTYPE x [<!ENTITY a "b">]><x/>', "DOCTYPE"),
])
def test_hotline_deploy_refuses_a_folder_in_words_without_class_names(app: Flask, tmp_path: Path, raw: bytes,
                                                                      says: str) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.bpmn").write_bytes(raw)
    result = CliRunner(env={"HOTLINE_DATABASE_URL": app.config["DATABASE_URL"]}).invoke(
        cli, ["deploy", str(folder), "--key", "bad"])
    assert result.exit_code == 1 and says in result.output, result.output
    assert not re.search(r"\w+(Refused|Rejected|Invalid|Error):", result.output), result.output
    assert "Traceback" not in result.output
