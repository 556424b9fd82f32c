"""Who may change which account on the web (用户管理的三员分立): the split between system and security administrator.

The split (等保 三员分立, security.md AC-04; roles in `processes.accounts.roles`):

* 系统管理员 `sysadmin` runs the system: creates accounts (with business roles only), disables and enables them.
* 安全管理员 `secadmin` sets security: changes roles (business roles only), unlocks accounts, resets the second
  factor and ends a user's sessions.
* 审计员 `auditor` reads the audit trail; changes no account.

Nobody acts on their own account here (their own sessions end at /auth/history). The accounts of the three
administrators are set up and changed only on the server (`hotline users …`, run by whoever installs the system): on
the web no administrator role is ever granted, an administrator's roles are never changed and an administrator is
never disabled, so neither the system nor the security administrator can make themselves or each other something
三员分立 forbids, or silence the auditor. The security administrator may still unlock an administrator and reset
their second factor (both only let the owner sign in again with their own password).
"""

from __future__ import annotations

from collections.abc import Iterable

from processes.accounts.roles import ADMIN_ROLES
from processes.accounts.roles import check_combination
from processes.errors import RuntimeErrorBase

# The role an actor needs for each account action on the web.
ACTION_ROLE: dict[str, str] = {
    "create": "sysadmin",
    "disable": "sysadmin",
    "enable": "sysadmin",
    "roles": "secadmin",
    "unlock": "secadmin",
    "reset_totp": "secadmin",
    "end_sessions": "secadmin",
}
# Actions that would change what an administrator account is or whether it works.
_NOT_ON_ADMINS = frozenset({"disable", "enable", "roles"})


class AdminRefused(RuntimeErrorBase):
    """An account action the 三员 split does not allow; `reason` is for the audit row and the message."""

    http_status = 403

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_action(action: str, *, actor_id: str, actor_roles: Iterable[str], target_id: str | None,
                 target_roles: Iterable[str] = ()) -> None:
    """Refuse an account action the actor may not take on the target (their role, themselves, an administrator)."""
    needed = ACTION_ROLE.get(action)
    if needed is None:
        raise AdminRefused("unknown_action", f"unknown account action {action!r}")
    if needed not in frozenset(actor_roles):
        raise AdminRefused("wrong_role", f"{action} is done by {needed}")
    if target_id is not None and target_id == actor_id:
        raise AdminRefused("self", f"nobody may {action} their own account")
    if action in _NOT_ON_ADMINS and frozenset(target_roles) & ADMIN_ROLES:
        raise AdminRefused("admin_account", "administrator accounts are changed only on the server (hotline users)")


def check_web_roles(codes: Iterable[str]) -> frozenset[str]:
    """Return roles the web may grant (business roles, a valid combination), else raise.

    Raises AdminRefused for an administrator role and `processes.accounts.roles.RoleConflict` for an unknown role,
    none at all or a combination one person may not hold.
    """
    held = frozenset(codes)
    if held & ADMIN_ROLES:
        raise AdminRefused("admin_role", "administrator roles (三员) are granted only on the server (hotline users)")
    return check_combination(held)  # raises for unknown codes, none at all, or a forbidden combination
