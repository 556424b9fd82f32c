"""Read a file of upstream orders (民呼我为 / 12345 工单导出) into rows of intake fields: JSON, Excel or CSV.

Every refusal says why in Chinese. A file is refused as a whole only when it cannot be read at all (too large,
not a known format, not text in UTF-8 or GB18030, too many rows); otherwise each row is read on its own and a bad
row is reported with its reason, never skipped in silence. CSV files saved by Excel on Chinese Windows are GBK:
a CSV is read as UTF-8 (with or without BOM) and, failing that, as GB18030 (a superset of GBK), and the report
says which was used.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from openpyxl import load_workbook

from processes.cases import upstream_order

FORMATS = ("json", "xlsx", "csv")
MAX_CELL = 4000  # the intake form's longest field (诉求内容); longer cells are refused by the form itself
# Columns the intake form has beside those the paste parser knows (upstream_order.ALIASES), by field.
EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "urgency": ("紧急程度", "缓急程度", "urgency", "jjcd"),
    "township": ("所属乡镇（街道）", "所属乡镇", "乡镇（街道）", "乡镇街道", "乡镇", "township", "ssxz"),
    "category": ("诉求类别", "问题类别", "事项类别", "类别", "category", "sqlb"),
    "caller_type": ("诉求人类型", "来电人类型", "callertype"),
    "confidential": ("举报人保密", "是否保密", "保密", "confidential"),
}
_EXTRA = {upstream_order._label(label): name for name, labels in EXTRA_ALIASES.items() for label in labels}


class FileRefused(ValueError):
    """The whole file cannot be read; the message (Chinese) says why and what to do."""


@dataclass(frozen=True)
class Row:
    """One order of a file: where it is (the row number a user finds in the file) and its (field, value) pairs."""

    number: int
    pairs: list[tuple[str, str]]
    problem: str | None = None  # the row itself is unreadable (not an object, a cell too long)


@dataclass
class Source:
    """An opened file: its format, how its text was decoded, remarks for the report and its rows."""

    file_format: str
    encoding: str
    total: int
    notes: list[str] = field(default_factory=list)
    _rows: Iterator[Row] = field(default_factory=lambda: iter(()))

    def rows(self) -> Iterator[Row]:
        """Yield the rows once, in file order (streamed: a large workbook is never held whole)."""
        return self._rows


def field_of(label: str) -> str | None:
    """Return the intake field a column header or JSON key names (or the field's own name), None if unknown."""
    if label in upstream_order.ALIASES or label in EXTRA_ALIASES:
        return label
    return upstream_order.field_of(label) or _EXTRA.get(upstream_order._label(label))


def object_row(number: int, item: Any) -> tuple[Row, list[str]]:
    """Return one pushed order (a JSON object) as a row, with the keys that name no field."""
    if not isinstance(item, dict):
        return Row(number, [], "这一项不是工单对象（{…}）。"), []
    unused: set[str] = set()
    return _row(number, list(upstream_order._flatten(item, 0)), unused), sorted(unused)


def file_format(name: str, content: bytes) -> str:
    """Tell the format from the content first (a renamed file still reads), then from the name."""
    if content[:4] == b"PK\x03\x04":
        return "xlsx"
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"[", b"{"):
        return "json"
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in ("xls", "et"):
        raise FileRefused("不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。")
    if suffix in ("csv", "txt", "") or b"," in content[:4096]:
        return "csv"
    raise FileRefused("无法识别的文件格式：请上传 JSON、Excel（.xlsx）或 CSV 文件。")


def decode(content: bytes) -> tuple[str, str]:
    """Return the text and the encoding used: UTF-8 (BOM or not), else GB18030 (GBK), else refuse."""
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8"), "UTF-8（带 BOM）"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return content.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            pass
    try:
        return content.decode("gb18030"), "GB18030（GBK）"
    except UnicodeDecodeError as exc:
        raise FileRefused(f"文件不是 UTF-8 或 GBK/GB18030 编码的文本（第 {exc.start + 1} 个字节无法识别），"
                          "请在 Excel 中另存为“CSV UTF-8”后再导入。") from exc


def open_file(name: str, content: bytes, *, max_bytes: int, max_rows: int) -> Source:
    """Open an upload: check its size, format and encoding and count its rows; raise FileRefused if unreadable."""
    if len(content) > max_bytes:
        raise FileRefused(f"文件过大（{len(content) / 1048576:.1f} MB），上限为 {max_bytes / 1048576:.0f} MB，"
                          "请拆分后分批导入。")
    if not content.strip():
        raise FileRefused("文件是空的。")
    kind = file_format(name, content)
    source = _json(content) if kind == "json" else _xlsx(content) if kind == "xlsx" else _csv(content)
    if source.total > max_rows:
        raise FileRefused(f"文件有 {source.total} 行工单，超过单次导入上限 {max_rows} 行，请拆分后分批导入。")
    if source.total == 0:
        raise FileRefused("文件中没有工单。")
    return source


def _json(content: bytes) -> Source:
    text, encoding = decode(content)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f"（第 {exc.lineno} 行第 {exc.colno} 列）" if isinstance(exc, json.JSONDecodeError) else ""
        raise FileRefused(f"JSON 格式有误{where}，整个文件未导入。") from exc
    if isinstance(data, dict):  # {"data": [...]} or {"orders": [...]} wrappers, or a single order
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list):
        raise FileRefused("JSON 应为工单数组（[{…}, {…}]）或单张工单对象。")
    orders: list[Any] = data
    notes: list[str] = []
    unused: set[str] = set()

    def rows() -> Iterator[Row]:
        for number, item in enumerate(orders, start=1):
            if not isinstance(item, dict):
                yield Row(number, [], "这一项不是工单对象（{…}）。")
                continue
            yield _row(number, list(upstream_order._flatten(item, 0)), unused)
        if unused:
            notes.append("未使用的项：" + "、".join(sorted(unused)[:20]))

    return Source("json", encoding, len(orders), notes, rows())


def _csv(content: bytes) -> Source:
    text, encoding = decode(content)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    lines = csv.reader(io.StringIO(text, newline=""), dialect)
    header = next(lines, [])
    total = sum(1 for line in csv.reader(io.StringIO(text, newline=""), dialect) if any(c.strip() for c in line))
    return _table("csv", encoding, header, lines, max(total - 1, 0))


def _xlsx(content: bytes) -> Source:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileRefused("Excel 文件已损坏或不是 .xlsx 格式，整个文件未导入。") from exc
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    header = [_cell(v) for v in next(cells, ())]
    total = max((sheet.max_row or 1) - 1, 0)
    return _table("xlsx", "", header, ([_cell(v) for v in line] for line in cells), total, first=2)


def _table(kind: str, encoding: str, header: list[str], lines: Iterator[list[str]], total: int,
           first: int = 2) -> Source:
    """Rows of a sheet or CSV: the first line names the columns (工单编号, 联系电话 …)."""
    names = [field_of(h) if h.strip() else None for h in header]
    if "upstream_order_id" not in names:
        raise FileRefused("第一行应为列名，且须有“工单编号”列（可用的列名见导入页说明）。")
    notes = []
    if unused := [h.strip()[:32] for h, n in zip(header, names, strict=True) if n is None and h.strip()]:
        notes.append("未使用的列：" + "、".join(unused[:20]))

    def rows() -> Iterator[Row]:
        for number, line in enumerate(lines, start=first):
            if not any(c.strip() for c in line):
                continue  # blank lines at the end of an Excel sheet
            pairs = [(n, v) for n, v in zip(names, line, strict=False) if n is not None]
            too_long = next((n for n, v in pairs if len(v) > MAX_CELL), None)
            yield Row(number, pairs, f"「{upstream_order._title(too_long)}」超过 {MAX_CELL} 字。" if too_long else None)

    return Source(kind, encoding, total, notes, rows())


def _row(number: int, items: list[tuple[str, Any]], unused: set[str]) -> Row:
    pairs = []
    for key, value in items:
        name = field_of(key)
        if name is None:
            unused.add(key[:32])
        elif value is not None:
            pairs.append((name, str(value)))
    return Row(number, pairs)


def _cell(value: Any) -> str:
    """Return a cell as text: dates as ISO times, whole numbers without .0 (order numbers, phones)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return unicodedata.normalize("NFC", str(value))
