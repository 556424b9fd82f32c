"""Handlers that send messages out of the system (通知、回填、反馈) through the outbox."""

from __future__ import annotations

from typing import Any

from handlers.base import HandlerContext
from handlers.base import HandlerError
from handlers.base import handler
from processes.runtime.outbox import enqueue
from processes.runtime.outbox_payloads import build

CHANNELS = frozenset({"sms", "upstream", "police110", "township"})


@handler("outbox.send", label_zh="发送消息（发件箱）", label_en="Send a message (outbox)",
         params={"channel": "渠道 sms/upstream/police110/township", "kind": "消息类型",
                 "target": "接收方（单位代码、角色如 leader/duty_leader，或 requester 诉求人）",
                 "body": "附加内容（仅路由数据，如上报清单）"})
def send(ctx: HandlerContext, channel: str, kind: str, target: str | None = None,
         body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Queue a message with its versioned payload for delivery after commit; a retried task never queues it twice."""
    if body is not None and not isinstance(body, dict):
        raise HandlerError("body must be an object")
    if channel not in CHANNELS:
        raise HandlerError(f"unknown channel {channel!r}")
    if not kind or len(kind) > 64:
        raise HandlerError("message kind must be 1-64 characters")
    if target is not None and (not isinstance(target, str) or len(target) > 64):
        raise HandlerError("target must be a code of at most 64 characters")
    key = f"{ctx.instance_id}:{ctx.task_id or ctx.task_bpmn_id}:{channel}:{kind}"
    payload = build(ctx.session, channel=channel, kind=kind, target=target, case_id=ctx.case_id,
                    instance_id=ctx.instance_id, now=ctx.now, body=body)
    created = enqueue(ctx.session, channel=channel, kind=kind, key=key, now=ctx.now, case_id=ctx.case_id,
                      instance_id=ctx.instance_id, payload=payload)
    # Only routing values go back into the workflow: the payload (texts, names) stays in the outbox.
    return {"queued": created, "channel": channel, "kind": kind}
