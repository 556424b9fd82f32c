"""Runtime size guards for sandboxed BPMN scripts: value sizes, growing operators, text size, loop rounds."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

from processes.engine.cpu_budget import ACTIVE as ACTIVE_CPU_BUDGET
from processes.engine.cpu_budget import CHECK_EVERY
from processes.errors import ScriptRejected

MAX_ITERATIONS = 100_000  # loop and comprehension rounds of one script or expression run
MAX_LENGTH = 100_000  # characters or items of one value a script builds
MAX_INT_BITS = 4096

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
        self.cpu = ACTIVE_CPU_BUDGET.get()  # the command's CPU-time budget, None outside a command

    def __call__(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.left -= 1
            if self.left < 0:
                raise ScriptRejected(f"more than {MAX_ITERATIONS} loop rounds in one run")
            if self.cpu is not None and self.left % CHECK_EVERY == 0:
                self.cpu.check()
            yield item

