"""The sandbox a script or expression runs in: allowed builtins, the guard functions, task data in and out."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import guarded_iter_unpack_sequence
from RestrictedPython.Guards import guarded_unpack_sequence
from RestrictedPython.Guards import safe_builtins
from RestrictedPython.Limits import limited_builtins
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from processes.engine.access_guards import guarded_getattr
from processes.engine.access_guards import write_guard
from processes.engine.script_compiler import compile_checked
from processes.engine.size_limits import IterationBudget
from processes.engine.size_limits import SafeStr
from processes.engine.size_limits import binop
from processes.engine.size_limits import inplacevar
from processes.engine.size_limits import printable
from processes.engine.size_limits import safe_repr
from processes.engine.size_limits import safe_sum
from processes.engine.size_limits import sized
from processes.engine.storable_data import check_data
from processes.errors import ScriptRejected


def _restricted_builtins() -> dict[str, Any]:
    """Builtins a BPMN script may use: data only, no I/O, no introspection."""
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)  # list, tuple and a range capped in length
    for name in ("id", "hash", "setattr", "delattr", "__build_class__", "_getattr_", "pow",
                 # not Exception subclasses: they would escape the engine's error handling
                 "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit",
                 # spiff's error formatter crashes on a SyntaxError without a line number
                 "SyntaxError", "IndentationError", "TabError"):
        allowed.pop(name, None)
    allowed.update(
        dict=dict, min=min, max=max, sum=safe_sum, any=any, all=all, enumerate=enumerate, set=set,
        sorted=sorted, reversed=reversed, str=SafeStr, repr=safe_repr,
    )
    return allowed


SAFE_BUILTINS = _restricted_builtins()
GUARDS: dict[str, Any] = {
    "_getattr_": guarded_getattr,
    "_getitem_": default_guarded_getitem,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": write_guard,
    "_inplacevar_": inplacevar,
    "_binop_": binop,
    "_sized_": sized,
    "_printable_": printable,
}  # plus a fresh _getiter_ (IterationBudget) per run


def constant_value(expression: str) -> Any:
    """Evaluate an expression that names no data (e.g. a cardinality `10**9`) in the sandbox; else None."""
    compile_checked(expression, "eval")
    if any(isinstance(node, ast.Name) for node in ast.walk(ast.parse(expression, mode="eval"))):
        return None
    try:
        return RestrictedEnvironment().evaluate(expression, {})
    except ScriptRejected:
        raise
    except Exception as exc:
        raise ScriptRejected(f"{expression!r} fails: {type(exc).__name__}: {exc}") from exc


class RestrictedEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """Script environment: guarded RestrictedPython code over task data, compiled once per source."""

    def __init__(self, functions: Mapping[str, Any] | None = None) -> None:
        super().__init__(dict(functions or {}))
        self._cache: dict[tuple[str, str], Any] = {}

    def _code(self, source: str, mode: str) -> Any:
        key = (mode, source)
        code = self._cache.get(key)
        if code is None:
            code = compile_checked(source, mode)
            if len(self._cache) < 4096:
                self._cache[key] = code
        return code

    def _namespace(self, context: Mapping[str, Any], external: Mapping[str, Any] | None) -> dict[str, Any]:
        namespace: dict[str, Any] = {**self.globals, **(external or {}), **context}
        namespace.update(GUARDS, __builtins__=SAFE_BUILTINS, _getiter_=IterationBudget())  # data never wins
        return namespace

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        """Evaluate a condition, timer or parameter expression."""
        return eval(self._code(expression, "eval"), self._namespace(context, external_context))  # noqa: S307

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        """Run a script task; only plain data it assigns is kept in the task data."""
        self.check_for_overwrite(context, external_context or {})
        namespace = self._namespace(context, external_context)
        exec(self._code(script, "exec"), namespace)  # noqa: S102
        hidden = set(self.globals) | set(GUARDS) | set(external_context or {})
        kept = {k: v for k, v in namespace.items()
                if not k.startswith("_") and k not in hidden and _is_data(v)}
        check_data(kept)
        context.clear()
        context.update(kept)
        return True


def _is_data(value: Any) -> bool:
    """Return True for what a script may leave in task data; callables (functions, types) are dropped."""
    return not callable(value)
