"""Workflow snapshots with the spec stored by reference (spec parsed once per definition version)."""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

SERIALIZER_VERSION = "1.5"
_SPECS_KEY = "__specs__"


class SpecByReferenceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Leave the spec out of snapshots; restore it from the caller's parsed spec instead."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """Convert tasks, data and subprocesses, not the spec."""
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        """Rebuild a workflow around the spec objects passed in under a private key."""
        spec, subprocess_specs = dct.pop(_SPECS_KEY)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


def _registry() -> Any:
    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = SpecByReferenceConverter
    return BpmnWorkflowSerializer.configure(config)


_SERIALIZER = BpmnWorkflowSerializer(_registry(), version=SERIALIZER_VERSION)


def dump_workflow(workflow: BpmnWorkflow) -> str:
    """Serialize a workflow's state (not its spec) to compact JSON."""
    registry = _SERIALIZER.registry
    registry._encoder_mode = True  # the library's own switch for JSON-ready conversion
    try:
        dct = registry.convert(workflow)
    finally:
        registry._encoder_mode = False
    dct[BpmnWorkflowSerializer.VERSION_KEY] = SERIALIZER_VERSION
    return json.dumps(dct, cls=_SERIALIZER._encoder_cls, separators=(",", ":"), ensure_ascii=False)


def load_workflow(text: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    """Restore a workflow from a snapshot and its version's parsed spec."""
    dct = json.loads(text, cls=_SERIALIZER.json_decoder_cls)
    version = dct.pop(BpmnWorkflowSerializer.VERSION_KEY, SERIALIZER_VERSION)
    if version != SERIALIZER_VERSION and version in MIGRATIONS:
        MIGRATIONS[version](dct)  # snapshots written by an older engine are upgraded on load
    dct[_SPECS_KEY] = (spec, subprocess_specs)
    return _SERIALIZER.registry.restore(dct)
