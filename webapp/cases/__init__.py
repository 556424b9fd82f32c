"""Case pages (工单详情): one case with its requester, deadlines, history, attachments and related cases."""

from __future__ import annotations

from webapp.cases.views import bp

__all__ = ["bp"]
