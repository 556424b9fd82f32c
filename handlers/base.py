"""The handler registry: BPMN service tasks call these functions by operator id, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import TypeVar

from processes.runtime.handler_api import HandlerContext
from processes.runtime.handler_api import HandlerError
from processes.runtime.handler_api import HandlerFunction
from processes.runtime.handler_api import HandlerSpec

__all__ = ["REGISTRY", "HandlerContext", "HandlerError", "handler"]

H = TypeVar("H", bound=HandlerFunction)
REGISTRY: dict[str, HandlerSpec] = {}


def handler(operator_id: str, *, label_zh: str, label_en: str,
            params: Mapping[str, str] | None = None, writes: bool = True) -> Callable[[H], H]:
    """Register a function that BPMN service tasks can call by `operator_id`, named in Chinese and English.

    `writes=False` promises that the function only reads the database (no ORM changes, no DML): it then runs
    without a savepoint of its own (one SAVEPOINT and one RELEASE fewer), see `Runtime.script_engine`.
    """

    def register(fn: H) -> H:
        if operator_id in REGISTRY:
            raise ValueError(f"duplicate handler id {operator_id!r}")
        REGISTRY[operator_id] = HandlerSpec(operator_id, fn, label_zh, dict(params or {}), label_en, writes)
        return fn

    return register
