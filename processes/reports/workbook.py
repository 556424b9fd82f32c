"""A report as an Excel workbook (报表 Excel): one sheet per part, figures as numbers, a native volume chart."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart
from openpyxl.chart import Reference
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from processes.metrics import METRICS
from processes.metrics import CaseLine
from processes.reports.content import DEPARTMENT_RATES
from processes.reports.content import Count
from processes.reports.content import Names
from processes.reports.content import Report
from processes.reports.content import local
from processes.reports.content import percent
from processes.reports.tables import ILLEGAL

BOLD = Font(bold=True)


def _put(sheet: Worksheet, row: Sequence[object], *, bold: bool = False) -> None:
    """Append a row; text stays text (never a formula), numbers stay numbers."""
    sheet.append([ILLEGAL.sub("", v) if isinstance(v, str) else v for v in row])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
        if bold:
            cell.font = BOLD


def _counts(sheet: Worksheet, title: str, counts: list[Count], *, previous: bool = True) -> None:
    _put(sheet, [])
    _put(sheet, [title], bold=True)
    _put(sheet, ["名称", "本期", "上期", "增减"] if previous else ["名称", "件数"], bold=True)
    for c in counts:
        _put(sheet, [c.name, c.count, c.previous, c.change] if previous else [c.name, c.count])


def _overview(book: Workbook, report: Report) -> None:
    sheet = book.active
    assert sheet is not None  # noqa: S101  (a new workbook has one sheet)
    sheet.title = "概览"
    sheet.column_dimensions["A"].width = 28
    _put(sheet, [report.title], bold=True)
    _put(sheet, ["统计范围", report.scope_name])
    _put(sheet, ["统计周期", f"{report.period.start} 至 {report.period.end}"])
    _put(sheet, ["生成时间", local(report.generated_at)])
    _put(sheet, ["来件量", report.volume])
    _put(sheet, ["上期来件量", report.volume_previous])
    for name, value in report.reading:
        _put(sheet, [name, value])
    _put(sheet, [])
    _put(sheet, ["指标", "比率", "分子", "分母", "公式"], bold=True)
    for code in DEPARTMENT_RATES:
        figure = report.office_rates.get(code)
        rate = round(figure.rate, 4) if figure is not None and figure.rate is not None else None
        _put(sheet, [METRICS[code].name, rate, figure.numerator if figure else 0, figure.denominator if figure else 0,
                     METRICS[code].formula])
    _counts(sheet, "按渠道", report.by_channel)
    _counts(sheet, "按诉求类型", report.by_type)


def _daily(book: Workbook, report: Report) -> None:
    sheet = book.create_sheet("每日来件")
    _put(sheet, ["日期", "来件量"], bold=True)
    for c in report.by_day:
        _put(sheet, [c.code, c.count])
    chart = BarChart()
    chart.title, chart.y_axis.title, chart.legend = "每日来件量", "件", None
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=len(report.by_day) + 1), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(report.by_day) + 1))
    chart.width, chart.height = 24, 9
    sheet.add_chart(chart, "D2")


def _departments(book: Workbook, report: Report) -> None:
    sheet = book.create_sheet("部门指标")
    sheet.column_dimensions["A"].width = 24
    _put(sheet, ["承办单位", *(METRICS[c].name for c in DEPARTMENT_RATES)], bold=True)
    for _, name, figures in report.departments:
        _put(sheet, [name, *(percent(figures.get(c)) for c in DEPARTMENT_RATES)])


def _cases(book: Workbook, title: str, lines: list[CaseLine], total: int, names: Names) -> None:
    sheet = book.create_sheet(title)
    _put(sheet, [f"共 {total} 件" + (f"，列出前 {len(lines)} 件" if total > len(lines) else "")])
    _put(sheet, ["工单编号", "登记时间", "状态", "承办单位", "类别", "乡镇（街道）"], bold=True)
    for line in lines:
        _put(sheet, [line.number, local(line.created_at),
                     names.statuses.get(line.status, line.status), names.unit(line.department), line.category,
                     names.units.get(line.township, line.township)])


def workbook_bytes(report: Report, names: Names) -> bytes:
    """Return the report as an .xlsx file: 概览, 每日来件 (with a chart), 分类与地点, 部门指标, 超期工单, 重办工单."""
    book = Workbook()
    _overview(book, report)
    _daily(book, report)
    places = book.create_sheet("分类与地点")
    places.column_dimensions["A"].width = 24
    _counts(places, "热点类别（前十）", report.categories)
    _counts(places, "热点地点（前十）", report.townships)
    _counts(places, "上升话题（较上期）", report.rising)
    _departments(book, report)
    _cases(book, "超期工单", report.overdue, report.overdue_count, names)
    _cases(book, "重办工单", report.rehandled, report.rehandled_count, names)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
