"""What a task form's person decides on (决策信息), shown above the form's fields, and what the form starts with.

Each screen is data: a function registered for a form file name (`model.screen`) gathers a `Decision` (a title,
blocks of earlier steps with who and when, the values to prefill) from the case, the free text and files earlier
tasks recorded (`case_text`, attachments), the completed tasks (`human_task`) and the routing data the open task
sees (`processes.runtime.task_data`). One partial, `templates/tasks/_decision.html`, draws every screen; the form
pipeline lays the prefill over the schema's defaults (`schemaforms.starting`), and a saved draft wins over both.
Free text is shown as on the case page (`sources.Privacy`).

Screens (form → shows; prefills):
- review, review_final, callback (审核, 巡查后审核, 回访) → each unit's latest reply: texts, who, when, files,
  whether solved; the on-site inspection.
- return_review (退单审核) → the returning unit, its reason and suggested unit; prefills 改派单位.
- extension_approval (延期审批) → days asked, reason, the deadline now and after, what the limit allows;
  prefills 批准天数.
- reply back again (办理答复) → the reviewer's note (发回, prefills the last reply), the callback result and note
  (重办), the extension or return decision.
- dispatch (派单) → the 派单目录 suggestion (units, rule, why) and a leader's instruction; prefills mode and units.
- publish (挂网审核) → the accepted reply and callback result; prefills the public reply, numbers and name taken out.
- upward_check (核对上报清单) → the period and the 咨询件、存疑件、满意件 by number and title.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext
from sqlalchemy.orm import Session

from processes.cases.access import Viewer
from processes.cases.models import Case
from processes.runtime.core import Runtime
from processes.runtime.models import HumanTask
from webapp.tasks.decision import replies as _replies  # noqa: F401  (registers its screens)
from webapp.tasks.decision import report as _report  # noqa: F401  (registers its screen)
from webapp.tasks.decision import routing as _routing  # noqa: F401  (registers its screens)
from webapp.tasks.decision.model import SCREENS
from webapp.tasks.decision.model import Block
from webapp.tasks.decision.model import Decision
from webapp.tasks.decision.model import Line
from webapp.tasks.decision.model import Listed
from webapp.tasks.decision.sources import Sources

__all__ = ["SCREENS", "Block", "Decision", "Line", "Listed", "gather"]
log = logging.getLogger(__name__)


def gather(db: Session, rt: Runtime, viewer: Viewer, task: HumanTask, case: Case | None,
           now: datetime) -> Decision | None:
    """Return the decision context of an open task for this user, or None when its form has no screen."""
    form = str(task.form or "").rsplit("/", 1)[-1]
    gatherer = SCREENS.get(form)
    if gatherer is None or task.status != "open":
        return None
    try:
        return gatherer(Sources(db, rt, viewer, task, case, now))
    except Exception:  # the form still works without it; say so instead of failing the page (logged)
        log.exception("decision context of task %s (%s) failed", task.id, form)
        return Decision(gettext("办理依据"), note=gettext("暂时无法显示办理依据，请查看工单详情和办理过程。"))
