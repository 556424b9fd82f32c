"""A report as PDF (报表 PDF) with fpdf2: a CJK font embedded (subset), tables, and bar charts drawn in the page.

The font is embedded so the file reads the same on any machine it is sent to. Where it comes from: the REPORT_FONT
setting, else the usual places of Debian's fonts-noto-cjk (installed by scripts/report-font.sh for the demo and
scripts/browser-deps.sh for the tests) and a few other CJK fonts; none found is a clear error (ReportFontMissing),
never a PDF of empty boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from processes.metrics import METRICS
from processes.metrics import CaseLine
from processes.reports.content import DEPARTMENT_RATES
from processes.reports.content import Count
from processes.reports.content import Names
from processes.reports.content import Report
from processes.reports.content import local
from processes.reports.content import percent

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
SC_FACE = {"NotoSansCJK-Regular.ttc": 2, "NotoSerifCJK-Regular.ttc": 2}  # JP, KR, SC, TC, HK: SC is third
FONT = "cjk"
BAR = (41, 98, 160)
GREY = (120, 120, 120)


class ReportFontMissing(Exception):
    """No CJK font to embed: the PDF cannot be written."""


def find_font(configured: str = "") -> tuple[str, int]:
    """Return a CJK font file and the face to use in it (the Simplified Chinese one of a collection)."""
    if configured:
        if not Path(configured).is_file():
            raise ReportFontMissing(f"REPORT_FONT {configured} 不存在（the configured CJK font file is missing）")
        candidates: Sequence[str] = (configured,)
    else:
        candidates = [path for path in FONT_CANDIDATES if Path(path).is_file()]
    if not candidates:
        raise ReportFontMissing("未找到中文字体，无法生成 PDF：请安装 fonts-noto-cjk（apt-get install fonts-noto-cjk）"
                                "或在 REPORT_FONT 中指定字体文件 (no CJK font found: install fonts-noto-cjk or set "
                                "HOTLINE_REPORT_FONT)")
    path = candidates[0]
    return path, SC_FACE.get(Path(path).name, 0)


class ReportPdf(FPDF):
    """An A4 page set with the report's title in the header and page numbers in the footer."""

    title_text = ""

    def header(self) -> None:
        """Write the report's title small at the top of every page after the first."""
        if self.page_no() > 1:
            self.set_font(FONT, size=8)
            self.set_text_color(*GREY)
            self.cell(0, 6, self.title_text, align="R", new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        """Write the page number at the bottom."""
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 8, f"第 {self.page_no()} 页", align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(FONT, size=12)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)


def _table(pdf: FPDF, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> None:
    pdf.set_font(FONT, size=8)
    pdf.set_fill_color(255, 255, 255)  # fpdf2 fills body cells with the current colour: a chart's bars left theirs
    # One embedded face only (no bold file on every machine): headings stand out by their fill, not their weight.
    heading = FontFace(emphasis="", fill_color=(226, 234, 244))
    with pdf.table(col_widths=tuple(widths), line_height=5.5, text_align="LEFT", headings_style=heading) as table:
        for values in (header, *rows):
            row = table.row()
            for value in values:
                row.cell(str(value))
    pdf.set_font(FONT, size=9)


def bar_chart(pdf: FPDF, title: str, counts: Sequence[Count], *, height: float = 45) -> None:
    """Draw a column chart of counts (one bar each, its value above it, the label under it)."""
    _heading(pdf, title)
    if pdf.will_page_break(height + 14):
        pdf.add_page()
    left, top, width = pdf.l_margin + 8, pdf.get_y() + 4, pdf.epw - 10
    peak = max((c.count for c in counts), default=0) or 1
    step = width / max(len(counts), 1)
    pdf.set_draw_color(*GREY)
    pdf.line(left, top + height, left + width, top + height)
    pdf.set_font(FONT, size=6 if len(counts) > 12 else 7)
    for index, count in enumerate(counts):
        bar = height * count.count / peak
        x = left + index * step + step * 0.15
        pdf.set_fill_color(*BAR)
        if bar:
            pdf.rect(x, top + height - bar, step * 0.7, bar, style="F")
        if count.count:
            pdf.text(x, top + height - bar - 1, str(count.count))
        if len(counts) <= 16 or index % 2 == 0:
            pdf.text(x, top + height + 4, count.name[:6])
    pdf.set_y(top + height + 8)
    pdf.set_font(FONT, size=9)


def _summary(pdf: FPDF, report: Report) -> None:
    change = report.volume - report.volume_previous
    trend = f"增加 {change} 件" if change > 0 else (f"减少 {-change} 件" if change < 0 else "持平")
    top = "、".join(f"{c.name}（{c.count}）" for c in report.categories[:3]) or "无"
    rising = "、".join(f"{c.name}（+{c.change}）" for c in report.rising[:3]) or "无"
    lines = [f"本期受理工单 {report.volume} 件，较上期（{report.volume_previous} 件）{trend}。",
             f"热点类别：{top}。上升话题：{rising}。",
             f"按时办结率 {percent(report.office_rates.get('ontime'))}，满意率 "
             f"{percent(report.office_rates.get('satisfied'))}；超期工单 {report.overdue_count} 件，"
             f"重办工单 {report.rehandled_count} 件。"]
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")


def _cases(pdf: FPDF, title: str, lines: Sequence[CaseLine], total: int, names: Names) -> None:
    _heading(pdf, f"{title}（共 {total} 件" + (f"，列出前 {len(lines)} 件）" if total > len(lines) else "）"))
    rows = [(line.number, local(line.created_at), names.statuses.get(line.status, line.status),
             names.unit(line.department), line.category or "—") for line in lines]
    if rows:
        _table(pdf, ("工单编号", "登记时间", "状态", "承办单位", "类别"), rows, (34, 30, 22, 50, 44))


def pdf_bytes(report: Report, names: Names, font: tuple[str, int]) -> bytes:
    """Return the report as a PDF: summary, key rates, charts, hot spots, units, overdue and re-handled cases."""
    pdf = ReportPdf(format="A4")
    pdf.title_text = report.title
    pdf.set_title(report.title)
    pdf.add_font(FONT, fname=font[0], collection_font_number=font[1])
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, size=16)
    pdf.multi_cell(0, 10, report.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    pdf.cell(0, 6, f"统计范围：{report.scope_name}　统计周期：{report.period.start} 至 {report.period.end}　"
                   f"生成时间：{local(report.generated_at)}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, "统计口径：" + "；".join(f"{k}：{v}" for k, v in report.reading), new_x="LMARGIN", new_y="NEXT")
    _heading(pdf, "一、总体情况")
    _summary(pdf, report)
    _table(pdf, ("指标", "本期", "公式"), [(METRICS[c].name, percent(report.office_rates.get(c)),
                                        METRICS[c].formula) for c in DEPARTMENT_RATES], (30, 60, 90))
    bar_chart(pdf, "二、每日来件量", report.by_day)
    bar_chart(pdf, "三、热点类别（前十）", report.categories)
    _table(pdf, ("类别", "本期", "上期", "增减"),
           [(c.name, str(c.count), str(c.previous), f"{c.change:+d}") for c in report.categories], (80, 30, 30, 40))
    _heading(pdf, "四、热点地点（前十）与上升话题")
    _table(pdf, ("乡镇（街道）", "本期", "上期", "增减"),
           [(c.name, str(c.count), str(c.previous), f"{c.change:+d}") for c in report.townships], (80, 30, 30, 40))
    pdf.ln(2)
    _table(pdf, ("上升话题（类别）", "本期", "上期", "增加"),
           [(c.name, str(c.count), str(c.previous), f"+{c.change}") for c in report.rising] or [("无", "", "", "")],
           (80, 30, 30, 40))
    _heading(pdf, "五、承办单位指标")
    codes = ("ontime", "overdue", "closure", "rehandled", "satisfied")
    _table(pdf, ("承办单位", *(METRICS[c].name for c in codes)),
           [(name, *(percent(figs.get(c)).split("（")[0] for c in codes)) for _, name, figs in report.departments],
           (50, 26, 26, 26, 26, 26))
    _cases(pdf, "六、超期工单", report.overdue, report.overdue_count, names)
    _cases(pdf, "七、重办工单", report.rehandled, report.rehandled_count, names)
    return bytes(pdf.output())
