"""The sandbox's _getattr_ and _write_ guards: RestrictedPython's own, plus size checks on growing methods."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from RestrictedPython.Guards import full_write_guard
from RestrictedPython.Guards import safer_getattr

from processes.engine.size_limits import MAX_LENGTH
from processes.engine.size_limits import too_big
from processes.errors import ScriptRejected

_TEXT_BLOCKED = frozenset({"expandtabs", "translate", "maketrans"})
_TEXT_WIDTH = frozenset({"ljust", "rjust", "center", "zfill"})
_TEXT_CHECKED = _TEXT_BLOCKED | _TEXT_WIDTH | {"replace", "join"}


def guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """safer_getattr, plus size checks on the str and list methods that can build huge values."""
    value = safer_getattr(obj, name, default)  # type: ignore[no-untyped-call]
    if isinstance(obj, type) and issubclass(obj, str | bytes):
        if name in _TEXT_CHECKED:
            kind = "str" if issubclass(obj, str) else "bytes"
            raise ScriptRejected(f"{kind}.{name} is not allowed; call it on a value")
    elif isinstance(obj, str | bytes):
        if name in _TEXT_BLOCKED:
            raise ScriptRejected(f"{name}() is not allowed")
        if name in _TEXT_WIDTH:
            return _width_checked(value)
        if name == "replace":
            return _replace_checked(obj, value)
        if name == "join":
            return _join_checked(obj, value)
    elif type(obj) is list and name == "extend":
        return _extend_checked(obj)
    return value


def _width_checked(method: Callable[..., Any]) -> Callable[..., Any]:
    def padded(width: Any, *args: Any) -> Any:
        if isinstance(width, int) and width > MAX_LENGTH:
            raise too_big("padding")
        return method(width, *args)
    return padded


def _replace_checked(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        if isinstance(old, str | bytes) and isinstance(new, str | bytes) and len(new) > len(old):
            hits = text.count(old) if old else len(text) + 1  # type: ignore[arg-type]
            if count >= 0:
                hits = min(hits, count)
            if len(text) + hits * (len(new) - len(old)) > MAX_LENGTH:
                raise too_big("replace()")
        return method(old, new, count)
    return replace


def _join_checked(sep: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def join(items: Iterable[Any]) -> Any:
        parts = list(items)
        total = len(sep) * max(len(parts) - 1, 0) + sum(len(p) for p in parts if isinstance(p, str | bytes))
        if total > MAX_LENGTH:
            raise too_big("join()")
        return method(parts)
    return join


def _extend_checked(target: list[Any]) -> Callable[[Iterable[Any]], None]:
    def extend(items: Iterable[Any]) -> None:
        extra = list(items)
        if len(target) + len(extra) > MAX_LENGTH:
            raise too_big("extend()")
        target.extend(extra)
    return extend


class ListWriter:
    """Write proxy for lists: slice assignment may not grow a list past the size limit."""

    __slots__ = ("_target",)

    def __init__(self, target: list[Any]) -> None:
        self._target = target

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, slice):
            value = list(value)
            if len(self._target) + len(value) > MAX_LENGTH:
                raise too_big("slice assignment")
        self._target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._target[key]


def write_guard(obj: Any) -> Any:
    """The _write_ guard: lists through a size-checking proxy, everything else as RestrictedPython does."""
    return ListWriter(obj) if type(obj) is list else full_write_guard(obj)
