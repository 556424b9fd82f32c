"""Restricted scripts and expressions for BPMN, and service tasks bound to the handler registry."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from RestrictedPython.compile import compile_restricted_eval
from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Eval import default_guarded_getiter
from RestrictedPython.Guards import full_write_guard
from RestrictedPython.Guards import guarded_iter_unpack_sequence
from RestrictedPython.Guards import guarded_unpack_sequence
from RestrictedPython.Guards import safe_builtins
from RestrictedPython.Guards import safer_getattr
from RestrictedPython.Limits import limited_builtins
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from processes.errors import ScriptRejected

MAX_SOURCE_CHARS = 4000
MAX_EXPRESSION_CHARS = 500
MAX_NODES = 400
MAX_INT_CONSTANT = 10**7
MAX_EXPONENT = 64

ServiceCaller = Callable[[str, dict[str, Any], Any], str]

_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": lambda a, b: a + b,
    "-=": lambda a, b: a - b,
    "*=": lambda a, b: a * b,
    "/=": lambda a, b: a / b,
    "//=": lambda a, b: a // b,
    "%=": lambda a, b: a % b,
    "|=": lambda a, b: a | b,
    "&=": lambda a, b: a & b,
}


def _inplacevar(op: str, left: Any, right: Any) -> Any:
    """Apply an augmented assignment operator that the sandbox allows."""
    if op not in _INPLACE:
        raise ScriptRejected(f"operator {op} is not allowed")
    if op == "*=" and isinstance(left, str | list | tuple | bytes):
        raise ScriptRejected("sequence repetition is not allowed")
    return _INPLACE[op](left, right)


def _restricted_builtins() -> dict[str, Any]:
    """Builtins a BPMN script may use: data only, no I/O, no introspection."""
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)  # list, tuple and a range capped in length
    for name in ("id", "hash", "setattr", "delattr", "__build_class__"):
        allowed.pop(name, None)
    allowed.update(
        dict=dict, min=min, max=max, sum=sum, any=any, all=all, enumerate=enumerate, set=set,
        sorted=sorted, reversed=reversed,
    )
    return allowed


SAFE_BUILTINS = _restricted_builtins()
GUARDS: dict[str, Any] = {
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
}


class _ResourceCheck(ast.NodeVisitor):
    """Reject constructs that exhaust the server even in restricted Python."""

    def __init__(self) -> None:
        self.nodes = 0

    def generic_visit(self, node: ast.AST) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ScriptRejected("script is too complex")
        if isinstance(node, ast.While):
            raise ScriptRejected("while loops are not allowed; model repetition in BPMN")
        if isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            raise ScriptRejected("defining functions or classes is not allowed")
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise ScriptRejected("import is not allowed")
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and abs(node.value) > MAX_INT_CONSTANT:
            raise ScriptRejected("integer constant too large")
        if isinstance(node, ast.BinOp):
            self._check_binop(node)
        super().generic_visit(node)

    @staticmethod
    def _check_binop(node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Pow):
            exponent = node.right
            if not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, int)
                    and abs(exponent.value) <= MAX_EXPONENT):
                raise ScriptRejected("only small constant exponents are allowed")
            if isinstance(node.left, ast.BinOp) and isinstance(node.left.op, ast.Pow):
                raise ScriptRejected("nested powers are not allowed")
        if isinstance(node.op, ast.Mult):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and isinstance(side.value, str | bytes):
                    raise ScriptRejected("string repetition is not allowed")
                if isinstance(side, ast.List | ast.Tuple | ast.ListComp):
                    raise ScriptRejected("sequence repetition is not allowed")


def check_source(source: str, mode: str) -> None:
    """Raise ScriptRejected if a script ('exec') or expression ('eval') breaks the sandbox rules."""
    limit = MAX_SOURCE_CHARS if mode == "exec" else MAX_EXPRESSION_CHARS
    if len(source) > limit:
        raise ScriptRejected(f"{'script' if mode == 'exec' else 'expression'} longer than {limit} characters")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScriptRejected(f"syntax error: {exc.msg}") from exc
    _ResourceCheck().visit(tree)


def compile_checked(source: str, mode: str) -> Any:
    """Compile a script or expression with RestrictedPython after the resource checks."""
    check_source(source, mode)
    result = compile_restricted_exec(source) if mode == "exec" else compile_restricted_eval(source)
    if result.errors or result.code is None:
        raise ScriptRejected("; ".join(result.errors) or "rejected")
    return result.code


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
        namespace: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, **GUARDS, **self.globals}
        namespace.update(external or {})
        namespace.update(context)
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
        context.clear()
        context.update(kept)
        return True


def _is_data(value: Any) -> bool:
    """Return True for values that may live in task data (JSON-like, dates)."""
    return not callable(value) and type(value).__module__ in ("builtins", "datetime", "decimal", "uuid")


class HotlineScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Script engine whose service tasks call allow-listed handlers; fixes 3.2.0's call_service NameError."""

    def __init__(self, environment: RestrictedEnvironment, call: ServiceCaller | None,
                 max_steps: int = 1000) -> None:
        super().__init__(environment=environment)
        self._call = call
        self.max_steps = max_steps  # engine steps one command may run (read by runtime.run_engine)

    def validate(self, expression: str) -> None:
        """Check an expression at parse time with the sandbox rules."""
        compile_checked(expression, "eval")

    def call_service(self, task: Any, **kwargs: Any) -> str:
        """Call the registered handler and return its JSON result, or put the task in error."""
        name = kwargs.get("operation_name", "")
        params = {k: v["value"] for k, v in (kwargs.get("operation_params") or {}).items()}
        if self._call is None:
            raise WorkflowTaskException(f"{name}: no handler registry in this context", task=task)
        try:
            return self._call(name, params, task)
        except Exception as exc:
            raise WorkflowTaskException(f"{name} failed: {exc}", task=task, exception=exc) from exc


def dumps_result(result: Any) -> str:
    """Encode a handler result as the JSON string SpiffWorkflow expects."""
    return json.dumps(result, ensure_ascii=False, default=str)
