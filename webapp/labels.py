"""Chinese names of the codes cases carry (渠道、诉求类型、紧急程度、状态 …), marked for translation.

Each value is a Chinese source text marked with `N_`; templates show it with `_()`, so the English catalogue
translates it. The keys are the only values the worklist filters accept.
"""

from __future__ import annotations

from webapp.messages import N_

CHANNELS = {
    "phone": N_("来电"), "visit": N_("现场接访"), "platform": N_("民呼我为转录"), "township": N_("民情难题"),
    "police110": N_("110移交"), "network": N_("网络（Open311）"),
}
REQUEST_TYPES = {
    "consult": N_("咨询"), "help": N_("求助"), "complaint": N_("投诉"), "report": N_("举报"),
    "suggestion": N_("建议"), "praise": N_("表扬"), "other": N_("其他"),
}
URGENCIES = {"normal": N_("一般"), "urgent": N_("紧急"), "critical": N_("特急")}
COMPLEXITIES = {"normal": N_("一般"), "complex": N_("复杂件")}  # 复杂件 is set at triage, beside the request type
STATUSES = {
    "registered": N_("已登记"), "triage": N_("初审中"), "accepted": N_("已受理"), "dispatched": N_("已派单"),
    "signed": N_("已签收"),
    "returned": N_("已退单"), "extension": N_("延期中"), "replied": N_("已答复"), "reviewed": N_("已审核"),
    "callback": N_("回访中"), "rehandle": N_("重办中"), "closed": N_("已办结"), "published": N_("已挂网"),
    "archived": N_("已归档"), "answered": N_("已直接答复"), "transferred": N_("已转办"), "rejected": N_("不予受理"),
    "returned_to_110": N_("已退回110"), "merged": N_("已并单"),
}
WARNINGS = {"none": N_("正常"), "yellow": N_("黄灯"), "red": N_("红灯")}
STAGES = {
    "sign_for": N_("签收"), "return": N_("退单"), "handle": N_("办理"), "extension_max": N_("延期上限"),
    "callback": N_("回访"), "accept_110": N_("110移交受理"), "notice": N_("通报"), "feedback": N_("反馈"),
    "writeback": N_("回填上级平台"), "triage": N_("初审"), "dispatch": N_("派单"), "review": N_("审核"),
    "publish": N_("挂网"),
}
# 回访结果 (case flag callback_result, the callback form's choices)
CALLBACK_RESULTS = {"satisfied": N_("满意"), "basically_satisfied": N_("基本满意"), "unsatisfied": N_("不满意"),
                    "unreachable": N_("联系不上")}
# Status changes the timeline shows as steps of their own (办理过程), by the step's name. The others follow from
# the task just done (签收 → 已签收) and stay in the history only.
STATUS_STEPS = {"accepted": N_("受理"), "closed": N_("办结"), "published": N_("挂网"), "archived": N_("归档"),
                "answered": N_("直接答复办结"), "transferred": N_("转办"), "rejected": N_("不予受理"),
                "returned_to_110": N_("退回110"), "merged": N_("并单")}
FLAGS = {
    "confidential": N_("诉求人要求保密"), "doubtful": N_("存疑件"), "escalated": N_("提级办理"),
    "leader_instructed": N_("领导批办件"), "notice_candidate": N_("通报候选"), "unreachable": N_("回访联系不上"),
    "callback_result": N_("回访结果"), "satisfaction_disputed": N_("满意度存疑"),
}
# Free texts tasks record (case_text.field), as the forms name them.
TEXTS = {
    "reply_text": N_("办理情况（内部）"), "public_reply": N_("公开答复内容"), "handling_note": N_("办理情况"),
    "return_reason": N_("退单理由"), "extension_reason": N_("延期理由及依据"), "reject_reason": N_("不予受理理由"),
    "inspection_findings": N_("巡查情况"), "callback_note": N_("回访记录"), "instruction": N_("批示内容"),
    "direct_answer": N_("答复内容"), "transfer_note": N_("转办说明"), "review_note": N_("审核意见"),
    "not_solved_reason": N_("未解决原因"), "contact_record": N_("联系诉求人情况"), "urging_note": N_("催办意见"),
    "supervision_note": N_("督办意见"), "merge_note": N_("并单说明"), "writeback_note": N_("回填说明"),
    "report_note": N_("上报说明"),
}
# What a history event (办理过程) means; task events add the task's name.
HISTORY = {
    "started": N_("工单登记，流程启动"), "task_completed": N_("办理完成"), "claimed": N_("认领任务"),
    "unclaimed": N_("退回待认领"), "assigned": N_("转交任务"), "timer_fired": N_("时限到期"),
    "message_received": N_("收到消息"), "timers_rescheduled": N_("时限调整"), "error": N_("流程出错"),
    "retried": N_("重试"), "suspended": N_("挂起"), "resumed": N_("恢复"), "terminated": N_("终止"),
    "completed": N_("流程结束"), "status_changed": N_("状态变更"), "deadline_extended": N_("延期"),
    "urged": N_("催办"),  # by a supervisor from the instance page (processes/runtime/urging.py)
    "migrated": N_("迁移到新版本流程"),  # by an analyst's migration (processes/modeling/migration.py)
}
# Actors that are not people.
ACTORS = {"system": N_("系统"), "system:timer": N_("系统定时"), "cli": N_("命令行"), "scheduler": N_("调度程序")}
