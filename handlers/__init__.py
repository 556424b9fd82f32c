"""Functions BPMN service tasks call by registered operator id (an allow-list; nothing else is callable)."""

from handlers import cases as _cases  # noqa: F401  (registers its handlers)
from handlers import notify as _notify  # noqa: F401
from handlers.base import REGISTRY
from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler

__all__ = ["REGISTRY", "HandlerContext", "HandlerError", "handler"]
