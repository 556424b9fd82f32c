"""Diagram interchange (BPMNDI) for hand-written BPMN: lanes per role, pools, a readable left-to-right layout."""

from processes.layout.build import ROLE_NAMES
from processes.layout.build import layout_bpmn
from processes.layout.check import FileResult
from processes.layout.check import branch_order_changes
from processes.layout.check import layout_file
from processes.layout.check import layout_problem

__all__ = ["ROLE_NAMES", "FileResult", "branch_order_changes", "layout_bpmn", "layout_file", "layout_problem"]
