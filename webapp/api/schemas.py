"""JSON Schemas of what the API answers (工单, 任务, 流程实例 …), shared by the views and the OpenAPI document."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
TEXT: Schema = {"type": "string"}
MAYBE_TEXT: Schema = {"type": ["string", "null"]}
TIME: Schema = {"type": ["string", "null"], "format": "date-time"}


def obj(required: list[str], **properties: Schema) -> Schema:
    """Return an object schema."""
    return {"type": "object", "required": required, "properties": properties}


CASE_SUMMARY = obj(["id", "number", "status", "channel", "created_at"],
                   id=TEXT, number=TEXT, status=TEXT, channel=TEXT, request_type=MAYBE_TEXT, urgency=MAYBE_TEXT,
                   category=MAYBE_TEXT, township=MAYBE_TEXT, lead_department=MAYBE_TEXT, created_at=TIME,
                   deadline=TIME, closed_at=TIME)
REQUESTER = obj(["mode", "name", "phone", "address"], mode={"enum": ["masked", "contact", "shielded", "none"]},
                name=TEXT, phone=TEXT, address=TEXT, caller_type=TEXT)
CASE: Schema = {**CASE_SUMMARY, "properties": {
    **CASE_SUMMARY["properties"], "title": TEXT, "content": TEXT, "location": TEXT, "updated_at": TIME,
    "upstream_order_id": MAYBE_TEXT, "requester": REQUESTER, "instances": {"type": "array", "items": TEXT}}}
CREATED = obj(["id", "number", "status", "channel"], id=TEXT, number=TEXT, status=TEXT, channel=TEXT)
TASK = obj(["id", "instance_id", "bpmn_id", "name", "status"],
           id=TEXT, instance_id=TEXT, case_id=MAYBE_TEXT, case_number=MAYBE_TEXT, bpmn_id=TEXT, name=TEXT,
           role=MAYBE_TEXT, department=MAYBE_TEXT, assignee=MAYBE_TEXT, form=MAYBE_TEXT, status=TEXT,
           due_at=TIME, created_at=TIME)
TASK_DETAIL: Schema = {**TASK, "properties": {**TASK["properties"], "form_schema": {"type": ["object", "null"]}}}
COMPLETED = obj(["task_id", "instance_status"], task_id=TEXT, instance_status=TEXT)
ELEMENT = obj(["bpmn_id", "kind"], bpmn_id=TEXT, kind={"enum": ["task", "timer"]}, name=MAYBE_TEXT, task_id=MAYBE_TEXT,
              due_at=TIME, assignee=MAYBE_TEXT, department=MAYBE_TEXT)
INSTANCE = obj(["id", "process_key", "status", "current"],
               id=TEXT, process_key=TEXT, version={"type": ["integer", "null"]}, status=TEXT, case_id=MAYBE_TEXT,
               created_at=TIME, updated_at=TIME, current={"type": "array", "items": ELEMENT})
EVENT = obj(["at", "kind"], at=TIME, kind=TEXT, actor=TEXT, bpmn_id=MAYBE_TEXT, task_id=MAYBE_TEXT,
            fields={"type": "array", "items": TEXT})
DEFINITION = obj(["key", "name"], key=TEXT, name=TEXT, published_version={"type": ["integer", "null"]},
                 versions={"type": "integer"})
VERSION = obj(["key", "version", "status"], key=TEXT, version={"type": "integer"}, status=TEXT, name=TEXT,
              sha256=TEXT, process_id=TEXT, created_at=TIME, published_at=TIME,
              files={"type": "array", "items": TEXT})
