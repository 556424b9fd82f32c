"""Functions BPMN service tasks call by registered operator id (an allow-list; nothing else is callable)."""

from handlers import callbacks as _callbacks  # noqa: F401  (registers its handlers)
from handlers import cases as _cases  # noqa: F401
from handlers import casework as _casework  # noqa: F401
from handlers import deadlines as _deadlines  # noqa: F401
from handlers import notify as _notify  # noqa: F401
from handlers import reports as _reports  # noqa: F401
from handlers import routing as _routing  # noqa: F401
from handlers.base import REGISTRY
from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler

__all__ = ["REGISTRY", "HandlerContext", "HandlerError", "handler"]
