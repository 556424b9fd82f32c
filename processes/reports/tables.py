"""Tables as files (表格文件): CSV with a BOM and Excel workbooks whose text cells never run as formulas."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these cells as formulas
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters an .xlsx file cannot hold
Cell = str | int | float | None


def neutral(value: str) -> str:
    """Return a CSV cell a spreadsheet shows as text: a leading = + - @ tab or CR gets a quote mark."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """Return rows as UTF-8 CSV with a BOM (spreadsheets then read it as UTF-8), every text cell neutral."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([neutral(v) if isinstance(v, str) else ("" if v is None else v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def text_cell(sheet: WriteOnlyWorksheet, value: Cell, *, bold: bool = False) -> SheetCell:
    """Return a cell for a write-only sheet; text is stored as text (type s), so '=…' is never a formula."""
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, ILLEGAL.sub("", value))
        cell.data_type = "s"
    else:
        cell = WriteOnlyCell(sheet, value)
    if bold:
        cell.font = Font(bold=True)
    return cell


def xlsx_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence[Cell]],
               widths: Sequence[int] = ()) -> bytes:
    """Return one sheet as an .xlsx file, written row by row (constant memory for long exports)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([text_cell(sheet, h, bold=True) for h in headers])
    for row in rows:
        sheet.append([text_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
