"""The shape of a decision context (决策信息) and the registry of the screens that have one, by form file name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from processes.cases.models import Attachment

if TYPE_CHECKING:
    from webapp.tasks.decision.sources import Sources


@dataclass(frozen=True)
class Line:
    """One fact shown: its label and value; `long` text keeps its line breaks."""

    label: str
    value: str
    long: bool = False


@dataclass(frozen=True)
class Listed:
    """One case of a list (the upward report): number, title, and its id when the user may open it."""

    number: str
    title: str
    case_id: str | None


@dataclass
class Block:
    """One earlier step the decision rests on: a unit's reply, a return, the reviewer's note, a list of cases."""

    heading: str  # '' when the section's title says it all
    byline: str = ""  # who and when: "李承办 · 2026-11-25 10:30"
    badges: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    cases: list[Listed] = field(default_factory=list)


@dataclass
class Decision:
    """What the person needs to decide, shown above the form, and the values the form starts with."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    prefill: dict[str, Any] = field(default_factory=dict)  # typed values by field name (bool, int, str, list)
    note: str = ""  # what was prefilled and from where

    def __bool__(self) -> bool:
        return bool(self.blocks or self.note)


Gatherer = Callable[["Sources"], Decision | None]
# Form file name (the task's `form`) -> what its screen shows: the same form means the same decision everywhere.
SCREENS: dict[str, Gatherer] = {}


def screen(*forms: str) -> Callable[[Gatherer], Gatherer]:
    """Register the function that gathers the decision context of the screens of these forms."""
    def register(gather: Gatherer) -> Gatherer:
        for form in forms:
            if form in SCREENS:
                raise ValueError(f"form {form!r} already has a decision screen")
            SCREENS[form] = gather
        return gather
    return register
