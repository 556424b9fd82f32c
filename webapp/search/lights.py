"""Names of the lights (时限状态), sorts, sources (来源平台) and stages (环节) the search and the office board use."""

from __future__ import annotations

from webapp import labels
from webapp.deadlines import STAGE_TASKS
from webapp.messages import N_

LIGHT_LABELS = {"overdue": N_("已超期"), "red": N_("红灯"), "yellow": N_("黄灯"), "green": N_("绿灯（正常）"),
                "none": N_("无时限")}
SORT_LABELS = {"": N_("按登记时间（最新在前）"), "deadline": N_("按办理时限（最紧在前）")}
SOURCE_LABELS = {"mhww": N_("民呼我为（省、市12345）"), "police110": N_("110联动"),
                 "local": N_("本级受理（来电、来访、街道）")}
# The stage an open task stands for, by its BPMN id: 签收, 办理, 审核, 回访 … (labels.STAGES)
TASK_STAGES: dict[str, str] = {task: labels.STAGES[stage] for stage, tasks in STAGE_TASKS.items()
                               for task in tasks if stage in labels.STAGES}
