"""The contract between the runtime and service-task handlers (服务任务处理函数), without importing handlers."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

JSONValue = Any


class HandlerError(Exception):
    """A handler could not do its work; the instance goes to error and a retry is scheduled."""


@dataclass(frozen=True)
class HandlerContext:
    """What a handler may use: the command's session, the case, the actor and the clock."""

    session: Session
    instance_id: str
    case_id: str | None
    actor: str
    now: datetime
    task_bpmn_id: str = ""
    task_id: str = ""  # the engine task's id: the same on a retry, new in every loop round
    history: Callable[..., None] | None = None  # the command's history recorder (CommandContext.record)

    def record(self, kind: str, **detail: Any) -> None:
        """Add an event to the case's history (办理过程) in this command; no values of personal data, ever."""
        if self.history is not None:  # None when a handler runs outside a command (tests call them directly)
            self.history(kind, bpmn_id=self.task_bpmn_id or None, **detail)


HandlerFunction = Callable[..., JSONValue]


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler: operator id, function, Chinese and English labels and documented parameters.

    `writes=False` declares that the handler only reads: the runtime then runs it without a savepoint of its own.
    """

    operator_id: str
    fn: HandlerFunction
    label_zh: str
    params: Mapping[str, str] = field(default_factory=dict)
    label_en: str = ""
    writes: bool = True

    def label(self, lang: str) -> str:
        """Return the label in a page language (English when asked for and given, else Chinese)."""
        return self.label_en if lang.startswith("en") and self.label_en else self.label_zh


HandlerRegistry = Mapping[str, HandlerSpec]
