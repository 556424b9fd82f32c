"""Object rules (数据权限): which cases and tasks a user may see or work on, and how personal data is shown to them.

The route table (webapp/permissions.py) says who may call an endpoint; these rules say which objects they may touch
there. Every rule is also a SQL filter, so lists never load what the user may not see and an id from elsewhere
(another department's case, task or attachment) answers "not found", never "forbidden" (no hint that it exists).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from processes.cases.models import Case
from processes.runtime.models import HumanTask

# The hotline office itself (热线办): they register, triage, dispatch, supervise and call back every case.
OFFICE_ROLES = frozenset({"operator", "transcriber", "dispatcher", "inspector", "callback", "supervisor",
                          "duty_leader", "leader"})
# Who may hand a task over to someone else (转交) besides the holder: shift leaders and dispatchers.
HANDOVER_ROLES = frozenset({"dispatcher", "duty_leader"})
# Who may reveal a masked value with a reason (查看完整信息, audited); a confidential requester only to a leader.
REVEAL_ROLES = frozenset({"supervisor", "duty_leader", "leader"})
CONFIDENTIAL_REVEAL_ROLES = frozenset({"leader"})
# Roles that see the requester's phone, name and address in full while they hold an open task on the case:
# callback staff must call, a department must contact the requester, an inspector must find the place.
CONTACT_ROLES = frozenset({"callback", "handler", "inspector"})
# Roles that never see a confidential requester (举报人保密), not even masked.
SHIELDED_ROLES = frozenset({"handler", "inspector", "township_reporter"})
CONFIDENTIAL_TEXT = "（保密）"
TOWNSHIP_CHANNEL = "township"


@dataclass(frozen=True)
class Viewer:
    """Who is asking (当前用户): username, roles and unit (department or township code)."""

    username: str
    roles: frozenset[str]
    department: str | None

    @property
    def office(self) -> bool:
        """Return whether the user works in the hotline office (sees every case)."""
        return bool(self.roles & OFFICE_ROLES)


def case_filter(viewer: Viewer) -> ColumnElement[bool]:
    """Return the SQL condition on `hotline_case` for the cases this user may open (工单可见范围)."""
    if viewer.office:
        return sa.true()
    conditions: list[ColumnElement[bool]] = []
    if "handler" in viewer.roles and viewer.department:
        # A unit sees the cases it leads and every case on which it has or had a task (协办, 退单 before 改派).
        worked_on = sa.select(HumanTask.case_id).where(HumanTask.department == viewer.department,
                                                       HumanTask.case_id.is_not(None))
        conditions += [Case.lead_department == viewer.department, Case.id.in_(worked_on)]
    if "township_reporter" in viewer.roles and viewer.department:
        conditions.append(sa.and_(Case.channel == TOWNSHIP_CHANNEL, Case.township == viewer.department))
    return sa.or_(*conditions) if conditions else sa.false()


def task_filter(viewer: Viewer) -> ColumnElement[bool]:
    """Return the SQL condition on `human_task` for the tasks this user may work on (my tasks and my group's)."""
    roles = sorted(viewer.roles)
    in_group = sa.and_(HumanTask.role.in_(roles),
                       sa.or_(HumanTask.department.is_(None), HumanTask.department == viewer.department)
                       if viewer.department else HumanTask.department.is_(None))
    return sa.or_(HumanTask.assignee == viewer.username, in_group)


def visible_case(session: Session, viewer: Viewer, case_id: str) -> Case | None:
    """Return the case if this user may open it, else None (the caller answers 404)."""
    return session.scalar(sa.select(Case).where(Case.id == case_id, case_filter(viewer)))


def workable_task(session: Session, viewer: Viewer, task_id: str) -> HumanTask | None:
    """Return the task if it is in this user's reach (theirs or their group's), else None (404)."""
    return session.scalar(sa.select(HumanTask).where(HumanTask.id == task_id, task_filter(viewer)))


def may_act(viewer: Viewer, task: HumanTask) -> bool:
    """Return whether the user may complete the task now: open and unclaimed or claimed by them."""
    return task.status == "open" and task.assignee in (None, viewer.username)


def may_hand_over(viewer: Viewer, task: HumanTask) -> bool:
    """Return whether the user may give the task to someone else (转交): its holder or a dispatcher/shift leader."""
    return task.status == "open" and (task.assignee == viewer.username or bool(viewer.roles & HANDOVER_ROLES))


def held_roles(session: Session, viewer: Viewer, case_id: str) -> frozenset[str]:
    """Return the roles of the open tasks on the case that this user holds (claimed by them)."""
    rows = session.scalars(sa.select(HumanTask.role).where(
        HumanTask.case_id == case_id, HumanTask.status == "open", HumanTask.assignee == viewer.username))
    return frozenset(role for role in rows if role)


def is_confidential(case: Case) -> bool:
    """Return whether the requester asked for confidentiality (举报人保密)."""
    return bool((case.flags or {}).get("confidential"))


def contact_visible(viewer: Viewer, case: Case, held: frozenset[str]) -> bool:
    """Return whether the user sees name, phone and address in full: holding a contact task on the case."""
    if is_confidential(case) and viewer.roles & SHIELDED_ROLES and not viewer.office:
        return False
    return bool(held & CONTACT_ROLES & viewer.roles)


def shielded(viewer: Viewer, case: Case) -> bool:
    """Return whether the requester is hidden from this user altogether (a unit on a confidential case)."""
    return is_confidential(case) and not viewer.office


def may_reveal(viewer: Viewer, case: Case) -> bool:
    """Return whether the user may reveal masked values with a reason (audited)."""
    allowed = CONFIDENTIAL_REVEAL_ROLES if is_confidential(case) else REVEAL_ROLES
    return bool(viewer.roles & allowed)
