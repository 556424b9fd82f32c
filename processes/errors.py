"""Errors the workflow runtime raises; the web layer maps each to an HTTP status."""

from __future__ import annotations


class RuntimeErrorBase(Exception):
    """Base class of every error the runtime raises on purpose."""

    http_status = 400


class Conflict(RuntimeErrorBase):
    """Someone else changed the case first (lost race); reload and try again (409)."""

    http_status = 409


class AlreadyRegistered(Conflict):
    """A 110 incident number (警情编号) that already has its case: one case per incident (409)."""

    def __init__(self, case_number: str) -> None:
        super().__init__(f"the incident is already registered as case {case_number}")
        self.case_number = case_number


class NotFound(RuntimeErrorBase):
    """The instance, task, case or definition does not exist (404)."""

    http_status = 404


class TaskNotReady(Conflict):
    """The task is no longer open: completed, cancelled or not yet reached (409)."""


class InvalidState(Conflict):
    """The command does not apply to the instance in its current status (409)."""


class DefinitionInvalid(RuntimeErrorBase):
    """A BPMN bundle was rejected: the message names the file, element and problem (400)."""

    def __init__(self, message: str, *, file: str | None = None, element: str | None = None) -> None:
        where = ", ".join(p for p in (f"file {file}" if file else "", f"element {element}" if element else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.element = element


class UploadRejected(DefinitionInvalid):
    """Hostile or oversized XML refused before the engine sees it (400/413)."""


class FormDataInvalid(RuntimeErrorBase):
    """Form data that cannot enter a workflow: bad names, types or sizes (400)."""

    def __init__(self, message: str, *, field: str | None = None, errors: dict[str, str] | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        # Every field's problem at once (field name -> message), for forms that show them beside the fields.
        self.errors = errors if errors is not None else ({field: message} if field else {})


class ScriptRejected(PermissionError):
    """A BPMN script or expression used a construct the sandbox forbids."""
