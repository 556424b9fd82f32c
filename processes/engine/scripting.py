"""Restricted scripts and expressions for BPMN, and service tasks bound to the handler registry."""

from __future__ import annotations

import ast
import json
import re
import traceback
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from RestrictedPython.compile import compile_restricted_eval
from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import guarded_iter_unpack_sequence
from RestrictedPython.Guards import guarded_unpack_sequence
from RestrictedPython.Guards import safe_builtins
from RestrictedPython.Limits import limited_builtins
from RestrictedPython.transformer import RestrictingNodeTransformer
from RestrictedPython.transformer import copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from processes.engine.limits import IterationBudget
from processes.engine.limits import SafeStr
from processes.engine.limits import binop
from processes.engine.limits import check_data
from processes.engine.limits import guarded_getattr
from processes.engine.limits import inplacevar
from processes.engine.limits import printable
from processes.engine.limits import safe_repr
from processes.engine.limits import safe_sum
from processes.engine.limits import sized
from processes.engine.limits import text_size
from processes.engine.limits import write_guard
from processes.errors import ScriptRejected

MAX_SOURCE_CHARS = 4000
MAX_EXPRESSION_CHARS = 500
MAX_NODES = 400
MAX_INT_CONSTANT = 10**7
MAX_EXPONENT = 64
MAX_CARDINALITY = 500  # multi-instance cardinality computed at runtime
# Not in the sandbox's builtins anyway; naming them at parse time turns a runtime NameError into an upload error.
# Only calls are refused: a task-data field may well be called `type` or `open`.
FORBIDDEN_CALLS = frozenset({
    "open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "hasattr", "globals", "locals", "vars",
    "dir", "type", "input", "breakpoint", "help", "memoryview", "bytearray", "object", "super", "print", "iter",
    "next", "format", "pow", "exit", "quit", "classmethod", "staticmethod", "property"})
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "expandtabs", "translate", "maketrans"})

ServiceCaller = Callable[[str, dict[str, Any], Any], str]


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
_GROWING_OPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<",
                                               ast.Mod: "%"}


def _guard_call(name: str, where: ast.expr, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    copy_locations(call, where)
    return call


class _SizePolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus size guards: growing operators and every assigned value are checked."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        """Route + * ** << % through _binop_."""
        node = self.node_contents_visit(node)
        symbol = _GROWING_OPS.get(type(node.op))
        if symbol is None:
            return node
        return _guard_call("_binop_", node, ast.Constant(symbol), node.left, node.right)

    def visit_Assign(self, node: ast.Assign) -> Any:
        """Check the size of every assigned value (growth in a loop must pass through a name)."""
        result = super().visit_Assign(node)
        for one in result if isinstance(result, list) else [result]:
            if isinstance(one, ast.Assign):
                one.value = _guard_call("_sized_", one.value, one.value)
        return result

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """Check that an f-string field would not print a huge value."""
        node = self.node_contents_visit(node)
        node.value = _guard_call("_printable_", node.value, node.value)
        return node

    def visit_NamedExpr(self, node: ast.NamedExpr) -> Any:
        """Check the size of a walrus-assigned value."""
        result = super().visit_NamedExpr(node)
        if isinstance(result, ast.NamedExpr):
            result.value = _guard_call("_sized_", result.value, result.value)
        return result


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
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            self._check_format_spec(node.format_spec)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            raise ScriptRejected(f"{node.func.id}() is not available in BPMN scripts")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            raise ScriptRejected(f".{node.attr} is not available in BPMN scripts")
        super().generic_visit(node)

    @staticmethod
    def _check_format_spec(spec: ast.expr) -> None:
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
            raise ScriptRejected("f-string format specs must be constants")
        if re.search(r"\d{4,}", "".join(str(p.value) for p in parts if isinstance(p, ast.Constant))):
            raise ScriptRejected("f-string format widths must be under 1000")

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
    if mode == "exec":
        result = compile_restricted_exec(source, policy=_SizePolicy)
    else:
        result = compile_restricted_eval(source, policy=_SizePolicy)
    if result.errors or result.code is None:
        raise ScriptRejected("; ".join(result.errors) or "rejected")
    return result.code


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

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """Evaluate an expression for a task; name rejections clearly and cap multi-instance cardinality."""
        try:
            result = self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as exc:
            raise WorkflowTaskException(f"expression {expression!r} failed: {_describe(exc)}", task=task,
                                        exception=exc) from exc
        if (isinstance(result, int) and result > MAX_CARDINALITY
                and expression == getattr(task.task_spec, "cardinality", None)):
            rejected = ScriptRejected(
                f"multi-instance cardinality {result} from {expression!r} is over the limit of {MAX_CARDINALITY}")
            raise WorkflowTaskException(str(rejected), task=task, exception=rejected)
        return result

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        """Wrap a script error with its line; 3.2.0 crashes on non-string arguments and line-less SyntaxErrors."""
        line = _error_line(err)
        lines = script.splitlines()
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if isinstance(err, SpiffWorkflowException):
            err.line_number, err.error_line = line, text
            err.add_note(f"Python script error on line {line}: '{text}'")
            return err  # type: ignore[no-any-return]
        return WorkflowTaskException(  # type: ignore[no-any-return]
            _describe(err), task=task, exception=err, line_number=line, error_line=text)

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


def _describe(exc: BaseException) -> str:
    """Name an exception and its message whatever its arguments are (a huge argument is not printed)."""
    message = "(message too large to show)" if any(text_size(a) > 2000 for a in exc.args) else str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _error_line(err: BaseException) -> int:
    """Return the script line an error was raised on, or 0."""
    if isinstance(err, SyntaxError):
        return err.lineno or 0
    line = 0
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == "<string>":
            line = frame.lineno or 0
    return line


def dumps_result(result: Any) -> str:
    """Encode a handler result as the JSON string SpiffWorkflow expects."""
    return json.dumps(result, ensure_ascii=False, default=str)
