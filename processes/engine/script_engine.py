"""The script engine: sandboxed evaluation with readable errors, and service tasks bound to the handler registry."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from processes.engine.cpu_budget import DEFAULT_CPU_SECONDS
from processes.engine.cpu_budget import CpuBudget
from processes.engine.cpu_budget import ScriptTimeExceeded
from processes.engine.pass_budget import DEFAULT_MAX_PASSES
from processes.engine.script_compiler import compile_checked
from processes.engine.script_environment import RestrictedEnvironment
from processes.engine.size_limits import text_size
from processes.engine.timer_values import TimerValueError
from processes.engine.timer_values import kind_of_expression
from processes.engine.timer_values import resolve
from processes.errors import ScriptRejected

MAX_CARDINALITY = 500  # multi-instance cardinality computed at runtime

ServiceCaller = Callable[[str, dict[str, Any], Any], str]


class HotlineScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Script engine whose service tasks call allow-listed handlers; fixes 3.2.0's call_service NameError."""

    def __init__(self, environment: RestrictedEnvironment, call: ServiceCaller | None,
                 max_steps: int = 1000, max_passes: int = DEFAULT_MAX_PASSES,
                 cpu_seconds: float = DEFAULT_CPU_SECONDS) -> None:
        super().__init__(environment=environment)
        self._call = call
        self.max_steps = max_steps  # engine steps one command may run (read by runtime.run_engine)
        self.max_passes = max_passes  # runs of one element per instance (pass_budget)
        self.cpu = CpuBudget(cpu_seconds)  # CPU time of all scripts and expressions of the command (cpu_budget)

    def validate(self, expression: str) -> None:
        """Check an expression at parse time with the sandbox rules."""
        compile_checked(expression, "eval")

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """Evaluate an expression for a task; name rejections clearly and cap multi-instance cardinality."""
        kind = kind_of_expression(task.task_spec, expression)
        if kind is not None:  # a timer value: literal ISO 8601 as written, else an expression giving one
            try:
                return resolve(kind, expression, lambda: self._evaluate(task, expression, external_context))
            except TimerValueError as exc:
                raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc
        result = self._evaluate(task, expression, external_context)
        if (isinstance(result, int) and result > MAX_CARDINALITY
                and expression == getattr(task.task_spec, "cardinality", None)):
            rejected = ScriptRejected(
                f"multi-instance cardinality {result} from {expression!r} is over the limit of {MAX_CARDINALITY}")
            raise WorkflowTaskException(str(rejected), task=task, exception=rejected)
        return result

    def _evaluate(self, task: Any, expression: str, external_context: Any) -> Any:
        """Evaluate in the sandbox; an error becomes a WorkflowTaskException that names the expression."""
        try:
            with self.cpu.running():
                result = self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as exc:
            exc.add_note(f"Error evaluating expression '{expression}'")
            raise
        except ScriptTimeExceeded as exc:
            raise _over_time(task, exc) from exc
        except Exception as exc:
            raise WorkflowTaskException(f"expression {expression!r} failed: {_describe(exc)}", task=task,
                                        exception=exc) from exc
        return result

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        """Run a script task within the command's CPU-time budget."""
        with self.cpu.running():
            return super().execute(task, script, external_context)

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Exception:
        """Wrap a script error with its line; 3.2.0 crashes on non-string arguments and line-less SyntaxErrors."""
        if isinstance(err, ScriptTimeExceeded):
            return _over_time(task, err)
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


def _over_time(task: Any, exc: ScriptTimeExceeded) -> Exception:
    """Name the element whose script or expression used up the command's CPU time (an incident's cause)."""
    element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    return WorkflowTaskException(f"element {element}: {exc}", task=task, exception=exc)  # type: ignore[no-any-return]


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
