"""The only package that imports SpiffWorkflow: parsing, scripts, snapshots, timers and task views."""

import logging

from SpiffWorkflow.exceptions import SpiffWorkflowException as EngineError

from processes.engine import clockpatch as _clockpatch  # noqa: F401  (installs the clock hook)
from processes.engine.bundle import ParsedBundle
from processes.engine.bundle import parse_bundle
from processes.engine.bundle import specs_from_json
from processes.engine.bundle import specs_to_json
from processes.engine.clockpatch import engine_clock
from processes.engine.cpu_budget import DEFAULT_CPU_SECONDS
from processes.engine.runtime import EngineStepLimit
from processes.engine.runtime import OpenTask
from processes.engine.runtime import Outcome
from processes.engine.script_engine import HotlineScriptEngine
from processes.engine.script_engine import dumps_result
from processes.engine.script_environment import RestrictedEnvironment
from processes.engine.snapshot import dump_workflow
from processes.engine.snapshot import load_workflow
from processes.engine.waiting_events import PendingTimer

# The engine logs every task state change with task data at INFO; keep it quiet (cost, and data in logs).
logging.getLogger("spiff").setLevel(logging.WARNING)

__all__ = [
    "DEFAULT_CPU_SECONDS",
    "EngineError",
    "EngineStepLimit",
    "HotlineScriptEngine",
    "OpenTask",
    "Outcome",
    "ParsedBundle",
    "PendingTimer",
    "RestrictedEnvironment",
    "dump_workflow",
    "dumps_result",
    "engine_clock",
    "load_workflow",
    "parse_bundle",
    "specs_from_json",
    "specs_to_json",
]
