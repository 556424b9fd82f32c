"""Check BPMN scripts and expressions against the sandbox rules and compile them with RestrictedPython."""

from __future__ import annotations

import ast
import re
from typing import Any

from RestrictedPython.compile import compile_restricted_eval
from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer
from RestrictedPython.transformer import copy_locations

from processes.errors import ScriptRejected

MAX_SOURCE_CHARS = 4000
MAX_EXPRESSION_CHARS = 500
MAX_NODES = 400
MAX_INT_CONSTANT = 10**7
MAX_EXPONENT = 64
# Not in the sandbox's builtins anyway; naming them at parse time turns a runtime NameError into an upload error.
# Only calls are refused: a task-data field may well be called `type` or `open`.
FORBIDDEN_CALLS = frozenset({
    "open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "hasattr", "globals", "locals", "vars",
    "dir", "type", "input", "breakpoint", "help", "memoryview", "bytearray", "object", "super", "print", "iter",
    "next", "format", "pow", "exit", "quit", "classmethod", "staticmethod", "property"})
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "expandtabs", "translate", "maketrans"})
_GROWING_OPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<",
                                               ast.Mod: "%"}


def _guard_call(name: str, where: ast.expr, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    copy_locations(call, where)
    return call


# The calls it inserts (_binop_, _sized_, _printable_) are bound by script_environment.GUARDS.
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
