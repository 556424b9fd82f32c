"""Who gets a human task (谁来办理): its candidate_role, else its lane, must be a role of the role table."""

from __future__ import annotations

from lxml import etree

from processes.accounts.roles import ROLES
from processes.engine.validation.model import HUMAN_TASKS
from processes.engine.validation.model import bpmn
from processes.engine.validation.model import lanes
from processes.engine.validation.model import spiff_property
from processes.engine.validation.problems import N_
from processes.engine.validation.problems import Problem
from processes.engine.validation.problems import at
from processes.engine.validation.problems import local_name

KNOWN = "、".join(sorted(code for code, role in ROLES.items() if not role.admin))


def role_problems(root: etree._Element, *, file: str) -> list[Problem]:
    """Warn about human tasks nobody will see in a worklist, and about untyped tasks that wait for a person."""
    lane_of = lanes(root)
    problems = []
    for task in bpmn(root, " | ".join(f".//bpmn:{tag}" for tag in HUMAN_TASKS)):
        if local_name(task) == "task":
            problems.append(at(task, "warning", "task.untyped",
                               N_("未指定类型的任务会当作人工任务，停在待办里等人办理"),
                               N_("如果它应自动完成，改成脚本任务或服务任务；如果由人办理，改成用户任务并指定角色"),
                               file=file))
        problems += _role(task, lane_of, file)
    return problems


def _role(task: etree._Element, lane_of: dict[str, etree._Element], file: str) -> list[Problem]:
    declared = spiff_property(task, "candidate_role")
    if declared is not None:
        if declared in ROLES:
            return []
        return [at(task, "warning", "role.unknown_property",
                   N_("candidate_role “%(role)s” 不是已知角色，没有人会在待办中看到这个任务"),
                   N_("改成角色表里的代码之一：%(known)s"), file=file, role=declared, known=KNOWN)]
    lane = _lane(task, lane_of)
    if lane is None:
        return [at(task, "warning", "role.none", N_("这个人工任务没有角色也不在泳道里，没有人会在待办中看到它"),
                   N_("加属性 candidate_role（角色代码：%(known)s），或把它放进以角色命名的泳道"), file=file,
                   known=KNOWN)]
    name = (lane.get("name") or "").strip()
    if name in ROLES:
        return []
    match = _guess(name)
    if match:
        return [at(task, "warning", "role.lane_name", N_("泳道 “%(lane)s” 不是角色代码，没有人会在待办中看到这个任务"),
                   N_("给任务加属性 candidate_role=%(suggested)s，或把泳道改名为 %(suggested)s"), file=file,
                   lane=name or "-", suggested=match)]
    return [at(task, "warning", "role.lane_unknown", N_("泳道 “%(lane)s” 不是已知角色，没有人会在待办中看到这个任务"),
               N_("给任务加属性 candidate_role（角色代码：%(known)s），或把泳道改名为其中之一"), file=file,
               lane=name or "-", known=KNOWN)]


def _lane(task: etree._Element, lane_of: dict[str, etree._Element]) -> etree._Element | None:
    """Return the task's lane, or the lane of the subprocess it sits in (SpiffWorkflow passes it down)."""
    for element in (task, *task.iterancestors()):
        lane = lane_of.get(str(element.get("id") or ""))
        if lane is not None:
            return lane
    return None


def _guess(name: str) -> str | None:
    """Return the role code a lane name means (its Chinese or English name), if any."""
    folded = name.casefold()
    for code, role in ROLES.items():
        names = {role.name_en.casefold(), code.casefold(), *(n.casefold() for n in role.name_zh.split("/"))}
        if folded in names:
            return code
    return None
