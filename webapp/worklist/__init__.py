"""The worklist (待办): my tasks, my group's unclaimed tasks and my unit's, with claim, give back and hand over."""

from __future__ import annotations

from webapp.worklist.views import bp

__all__ = ["bp"]
