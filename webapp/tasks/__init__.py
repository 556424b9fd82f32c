"""Task forms (办理): a task's JSON-schema form, its drafts and attachments, completed as one audited command."""

from __future__ import annotations

from webapp.tasks.views import bp

__all__ = ["bp"]
