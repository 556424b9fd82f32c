"""核对上报清单: the list the weekly upward report will send (咨询件、存疑件、满意件), by case number and title."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext

from processes.cases import access
from processes.cases.models import Case
from processes.cases.numbers import mask_numbers
from webapp.messages import N_
from webapp.tasks.decision.model import Block
from webapp.tasks.decision.model import Decision
from webapp.tasks.decision.model import Line
from webapp.tasks.decision.model import Listed
from webapp.tasks.decision.model import screen
from webapp.tasks.decision.sources import Sources
from webapp.tasks.decision.sources import shown_time

# The lists report.compile_upward compiles, in the order the report names them.
KINDS = (("consult", N_("咨询件")), ("doubtful", N_("存疑件")), ("satisfied", N_("满意件")))


@screen("upward_check.schema.json")
def upward_report(src: Sources) -> Decision | None:
    """Show the period and each list with the cases' numbers and titles (numbers in titles masked)."""
    report: dict[str, Any] = src.data.get("report") or {}
    if not isinstance(report, dict) or not report:
        return None
    lists = {kind: [str(n) for n in report.get(kind) or []] for kind, _ in KINDS}
    counts = report.get("counts") or {}
    titles = _titles(src, [n for numbers in lists.values() for n in numbers])
    decision = Decision(gettext("本期上报清单"))
    period = gettext("%(start)s 至 %(end)s", start=shown_time(report.get("period_from")),
                     end=shown_time(report.get("period_to")))
    decision.blocks.append(Block(gettext("统计期间"), lines=[Line(gettext("起止"), period)]))
    for kind, name in KINDS:
        numbers = lists[kind]
        total = counts.get(kind, len(numbers)) if isinstance(counts, dict) else len(numbers)
        block = Block(gettext(name), badges=[gettext("%(count)s 件", count=total)],
                      cases=[Listed(n, *titles.get(n, ("", None))) for n in numbers])
        if not numbers:
            block.lines.append(Line(gettext("清单"), gettext("本期没有。")))
        elif isinstance(total, int) and total > len(numbers):
            block.lines.append(Line(gettext("注意"), gettext("只列出前 %(shown)s 件。", shown=len(numbers))))
        decision.blocks.append(block)
    decision.note = gettext("核对无误后确认上报；本期不报时请在说明中写明原因（不要填写电话号码或身份证号）。")
    return decision


def _titles(src: Sources, numbers: list[str]) -> dict[str, tuple[str, str | None]]:
    """Return each case's title (phone and ID numbers masked) and its id when this user may open it."""
    if not numbers:
        return {}
    rows = src.db.execute(sa.select(Case.number, Case.title, Case.id, access.case_filter(src.viewer).label("seen"))
                          .where(Case.number.in_(numbers))).all()
    return {number: (mask_numbers(title), str(case_id) if seen else None) for number, title, case_id, seen in rows}
