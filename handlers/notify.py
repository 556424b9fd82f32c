"""Handlers that send messages out of the system (通知、回填、反馈) through the outbox."""

from __future__ import annotations

from typing import Any

from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from processes.runtime.outbox import enqueue

CHANNELS = frozenset({"sms", "upstream", "police110", "township"})


@handler("outbox.send", label_zh="发送消息（发件箱）",
         params={"channel": "渠道 sms/upstream/police110/township", "kind": "消息类型", "target": "接收单位",
                 "body": "附加内容（仅路由数据，如上报清单）"})
def send(ctx: HandlerContext, channel: str, kind: str, target: str | None = None,
         body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Queue a message for delivery after commit; a retried task never queues it twice."""
    if body is not None and not isinstance(body, dict):
        raise HandlerError("body must be an object")
    if channel not in CHANNELS:
        raise HandlerError(f"unknown channel {channel!r}")
    if not kind or len(kind) > 64:
        raise HandlerError("message kind must be 1-64 characters")
    key = f"{ctx.instance_id}:{ctx.task_id or ctx.task_bpmn_id}:{channel}:{kind}"
    payload: dict[str, Any] = {"target": target, "case_id": ctx.case_id}
    if body:
        payload["body"] = body
    created = enqueue(ctx.session, channel=channel, kind=kind, key=key, now=ctx.now, case_id=ctx.case_id,
                      instance_id=ctx.instance_id, payload=payload)
    return {"queued": created, "channel": channel, "kind": kind}
