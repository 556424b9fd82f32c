"""Runtime resource guards for sandboxed BPMN scripts: value sizes, loop rounds, growing operators."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from typing import Any
from uuid import UUID

from RestrictedPython.Guards import full_write_guard
from RestrictedPython.Guards import safer_getattr

from processes.errors import ScriptRejected

MAX_ITERATIONS = 100_000  # loop and comprehension rounds of one script or expression run
MAX_LENGTH = 100_000  # characters or items of one value a script builds
MAX_INT_BITS = 4096
MAX_DATA_UNITS = 1_000_000  # values plus characters of the task data a script leaves behind
MAX_DATA_DEPTH = 64  # nesting of task data (deepcopy and JSON recurse)

_SEQUENCES = (str, bytes, list, tuple)
_PERCENT_WIDTH = re.compile(r"%[^%a-zA-Z]*?(?:\*|\d{4,})")
_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "-=": lambda a, b: a - b,
    "/=": lambda a, b: a / b,
    "//=": lambda a, b: a // b,
    "%=": lambda a, b: binop("%", a, b),
    "|=": lambda a, b: a | b,
    "&=": lambda a, b: a & b,
    "+=": lambda a, b: binop("+", a, b),
}


def too_big(what: str) -> ScriptRejected:
    """The rejection for a value that would outgrow the limits."""
    return ScriptRejected(f"{what} would exceed the sandbox size limit")


def sized(value: Any) -> Any:
    """Return the value, or raise ScriptRejected if it is too big to keep (one level deep, O(1))."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset) and len(value) > MAX_LENGTH:
        raise too_big(f"a value of {len(value)} items")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise too_big("an integer")
    return value


def binop(op: str, left: Any, right: Any) -> Any:
    """Apply + * ** << or %, refusing results that would exhaust memory before computing them."""
    if op == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES) and len(left) + len(right) > MAX_LENGTH:
            raise too_big("concatenation")
        return sized(left + right)
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, _SEQUENCES) and isinstance(times, int) and len(seq) * max(times, 0) > MAX_LENGTH:
                raise too_big("sequence repetition")
        if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise too_big("multiplication")
        return sized(left * right)
    if op == "**":
        if (isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
                and left.bit_length() * right > MAX_INT_BITS):
            raise too_big("power")
        return sized(left**right)
    if op == "<<":
        if isinstance(left, int) and isinstance(right, int) and left and left.bit_length() + right > MAX_INT_BITS:
            raise too_big("shift")
        return sized(left << right)
    if op == "%":
        if isinstance(left, str) and _PERCENT_WIDTH.search(left):
            raise ScriptRejected("%-format widths must be under 1000")
        if isinstance(left, str | bytes):
            printable(right)
        return sized(left % right)
    raise ScriptRejected(f"operator {op} is not allowed")


def inplacevar(op: str, left: Any, right: Any) -> Any:
    """Apply an augmented assignment operator that the sandbox allows."""
    if op not in _INPLACE:
        raise ScriptRejected(f"operator {op} is not allowed")
    return _INPLACE[op](left, right)


def safe_sum(values: Iterable[Any], start: Any = 0) -> Any:
    """sum() of numbers only: adding lists in a loop is quadratic."""
    if not isinstance(start, int | float):
        raise ScriptRejected("sum() adds numbers only")
    return sized(sum(values, start))


def printable(value: Any) -> Any:
    """Return value, or raise ScriptRejected if its text (str, repr, f-string, %) would outgrow the limits."""
    if isinstance(value, _CONTAINERS) and text_size(value) > MAX_LENGTH:
        raise too_big("the text of a value")
    return value


class _StrType(type):
    """Metaclass that makes isinstance and issubclass against SafeStr mean str."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, str)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, str)


class SafeStr(str, metaclass=_StrType):
    """The sandbox's str: str(value) refuses values whose text would be huge; otherwise it is plain str."""

    def __new__(cls, *args: Any, **kwargs: Any) -> str:  # type: ignore[misc]
        if args:
            printable(args[0])
        return str(*args, **kwargs)


def safe_repr(value: Any) -> str:
    """repr() with the same limit as SafeStr."""
    return repr(printable(value))


_CONTAINERS = (dict, list, tuple, set, frozenset)


def text_size(top: Any) -> int:
    """Estimate the characters str() writes for a value, visiting each distinct container once."""
    if not isinstance(top, _CONTAINERS):
        return _text_leaf(top)
    memo: dict[int, int] = {}
    open_ids: set[int] = set()
    stack: list[tuple[Any, bool]] = [(top, False)]
    while stack:
        value, children_done = stack.pop()
        if not isinstance(value, _CONTAINERS):
            continue
        key = id(value)
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else list(value)
        if children_done:
            open_ids.discard(key)
            memo[key] = 2 + 2 * len(items) + sum(
                (memo.get(id(c), 5) if isinstance(c, _CONTAINERS) else _text_leaf(c)) for c in items)
        elif key not in memo and key not in open_ids:  # a cycle prints as [...]
            open_ids.add(key)
            stack.append((value, True))
            stack.extend((child, False) for child in items)
    return memo[id(top)]


def _text_leaf(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value) + 2
    if isinstance(value, int):
        return 2 + value.bit_length() // 3
    return 32


class IterationBudget:
    """The _getiter_ guard of one run: counts every loop, comprehension and unpacking round."""

    def __init__(self) -> None:
        self.left = MAX_ITERATIONS

    def __call__(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.left -= 1
            if self.left < 0:
                raise ScriptRejected(f"more than {MAX_ITERATIONS} loop rounds in one run")
            yield item


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


_STORABLE = (type(None), bool, int, float, str, datetime, timedelta, UUID)  # what the snapshot serializer writes
_KEYS = (type(None), bool, int, float, str)


def check_data(data: Mapping[str, Any]) -> None:
    """Refuse task data the snapshot cannot store: other types, cycles, too deep, or too big as JSON."""
    memo: dict[int, tuple[int, int]] = {}  # id(container) -> (JSON units, depth); shared references count again
    units = 0
    for name, value in data.items():
        units += _measure(name, value, memo)[0]
        if units > MAX_DATA_UNITS:
            raise ScriptRejected(f"the task data is too large at variable {name!r}")


def _measure(name: str, top: Any, memo: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """Return (units, depth) of one value, iteratively, each distinct container visited once."""
    stack: list[tuple[Any, bool]] = [(top, False)]
    open_ids: set[int] = set()
    while stack:
        value, children_done = stack.pop()
        if not isinstance(value, dict | list | tuple | set):
            continue
        key = id(value)
        if children_done:
            open_ids.discard(key)
            parts = [_leaf(name, c) if not isinstance(c, dict | list | tuple | set) else memo[id(c)]
                     for c in _children(name, value)]
            size, depth = 1 + sum(p[0] for p in parts), 1 + max((p[1] for p in parts), default=0)
            if size > MAX_DATA_UNITS or depth > MAX_DATA_DEPTH:
                raise ScriptRejected(f"variable {name!r} is too large or nested too deep to store")
            memo[key] = (size, depth)
        elif key not in memo:
            if key in open_ids:
                raise ScriptRejected(f"variable {name!r} contains itself (a cycle), which task data cannot store")
            open_ids.add(key)
            stack.append((value, True))
            stack.extend((child, False) for child in _children(name, value))
    return _leaf(name, top) if not isinstance(top, dict | list | tuple | set) else memo[id(top)]


def _children(name: str, value: dict[Any, Any] | list[Any] | tuple[Any, ...] | set[Any]) -> list[Any]:
    if isinstance(value, dict):
        if not all(isinstance(key, _KEYS) for key in value):
            raise ScriptRejected(f"variable {name!r} holds a dict with keys task data cannot store")
        return [*value.keys(), *value.values()]
    return list(value)


def _leaf(name: str, value: Any) -> tuple[int, int]:
    if not isinstance(value, _STORABLE):
        raise ScriptRejected(f"variable {name!r} holds a {type(value).__name__} value, which task data cannot store")
    return 1 + (len(value) if isinstance(value, str) else 0), 0
