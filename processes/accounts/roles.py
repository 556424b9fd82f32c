"""The one canonical role table (角色表): codes, Chinese and English names, and the 三员分立 rule.

BPMN `candidate_role` values, permissions, accounts and the CLI all use these codes; nothing else lists roles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from processes.errors import RuntimeErrorBase


class RoleConflict(RuntimeErrorBase):
    """An unknown role, or a combination of roles one person may not hold (三员分立)."""


@dataclass(frozen=True)
class Role:
    """One role (角色): its code, names, duties and what kind of unit its holder must belong to."""

    code: str
    name_zh: str
    name_en: str
    description: str
    admin: bool = False  # one of the three separated administrators (三员)
    unit: str | None = None  # "any": needs a department or township; "township": needs a township (乡镇街道)


ROLES: dict[str, Role] = {r.code: r for r in (
    Role("operator", "受理员/话务员", "Operator", "Answers calls and walk-ins, registers cases, answers online."),
    Role("transcriber", "转录员", "Transcriber", "Imports cases from upstream platforms and writes results back."),
    Role("dispatcher", "审核派单员", "Reviewer-dispatcher",
         "Triages, categorises and dispatches cases; reviews returns and extensions."),
    Role("handler", "承办人", "Department handler",
         "Signs for, handles and replies to cases dispatched to their unit.", unit="any"),
    Role("township_reporter", "街道上报员", "Township reporter",
         "Reports local problems (民情难题) of their township for district dispatch.", unit="township"),
    Role("inspector", "巡查员", "Inspector", "Checks results on site."),
    Role("callback", "回访员", "Callback staff", "Calls requesters back for satisfaction and verification."),
    Role("supervisor", "督办员", "Supervisor", "Urges (催办) and supervises (督办) overdue or difficult cases."),
    Role("duty_leader", "值班长", "Duty leader", "Approves returns and re-dispatch in the shift; owns the roster."),
    Role("leader", "领导", "Office leader", "Gives instructions (批示) and approves extensions and returns."),
    Role("analyst", "分析员", "Analyst", "Reads statistics; drafts process diagrams (a second person publishes them)."),
    Role("sysadmin", "系统管理员", "System administrator",
         "Runs the system: accounts, configuration, deployments; cannot change the audit trail.", admin=True),
    Role("secadmin", "安全管理员", "Security administrator",
         "Sets roles and security policy, unlocks accounts.", admin=True),
    Role("auditor", "审计员", "Auditor", "Reads and exports the audit trail; changes nothing.", admin=True),
)}

ROLE_CODES = frozenset(ROLES)
ADMIN_ROLES = frozenset(code for code, r in ROLES.items() if r.admin)
BUSINESS_ROLES = ROLE_CODES - ADMIN_ROLES


def role(code: str) -> Role:
    """Return the role with this code; refuse unknown codes."""
    try:
        return ROLES[code]
    except KeyError:
        raise RoleConflict(f"unknown role {code!r}; known: {', '.join(ROLES)}") from None


def check_combination(codes: Iterable[str]) -> frozenset[str]:
    """Return the roles as a set if one person may hold them all together (三员分立), else raise RoleConflict."""
    held = frozenset(role(code).code for code in codes)
    if not held:
        raise RoleConflict("a user needs at least one role")
    admins = held & ADMIN_ROLES
    # 等保 三员分立: whoever runs the system must not also set security or review the audit of what they did.
    if len(admins) > 1:
        raise RoleConflict(f"administrator roles are exclusive (三员分立): {', '.join(sorted(admins))}")
    if admins and held - admins:
        raise RoleConflict(f"{next(iter(admins))} cannot be combined with business roles "
                           f"(三员分立): {', '.join(sorted(held - admins))}")
    return held
