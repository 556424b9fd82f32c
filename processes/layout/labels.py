"""External labels (BPMNLabel bounds) for named events, gateways, data objects and sequence flows."""

from __future__ import annotations

import unicodedata
from itertools import pairwise

from processes.layout.route import Point
from processes.layout.route import Rect

LINE = 14  # bpmn-js draws external labels in 11-12 px type
MAX_WIDTH = 90  # bpmn-js wraps external labels at 90 px
WIDE = 12  # a CJK character at 12 px
NARROW = 7


def text_width(text: str) -> int:
    """Estimate the width of a label in pixels: CJK and full-width characters count double."""
    return sum(WIDE if unicodedata.east_asian_width(c) in "WF" else NARROW for c in text)


def wrapped(text: str, limit: int = MAX_WIDTH) -> tuple[int, int]:
    """Return (width, height) of a label wrapped character by character at `limit` pixels."""
    lines, line, widest = 1, 0, 0
    for c in text:
        w = text_width(c)
        if line + w > limit and line:
            lines, widest, line = lines + 1, max(widest, line), 0
        line += w
    return max(widest, line), lines * LINE


def node_label(kind: str, rect: Rect, name: str, *, boundary_index: int | None = None) -> Rect | None:
    """Place the label of an event, gateway or data object below it (boundary events: beside their edge)."""
    if not name or kind not in ("event", "gateway", "dataObjectReference", "dataStoreReference"):
        return None
    w, h = wrapped(name)
    if kind.startswith("data"):  # to the right: an association usually leaves a data object downwards
        return Rect(rect.right + 4, rect.cy - h // 2, w, h)
    if boundary_index is None:
        return Rect(rect.cx - w // 2, rect.bottom + 4, w, h)
    # The flow leaves a boundary event straight down: the first event's label goes right, the others left.
    x = rect.right + 2 if boundary_index == 0 else rect.x - 2 - w
    return Rect(x, rect.cy + 4, w, h)


def flow_label(points: list[Point], name: str, between: int | None = None) -> Rect | None:
    """Place a flow's name right of its first vertical segment (at y `between` if given), else above its start."""
    if not name or len(points) < 2:
        return None
    w, h = wrapped(name, limit=10 * MAX_WIDTH)
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 == x1 and y0 != y1:
            y = between if between is not None and min(y0, y1) < between < max(y0, y1) else (y0 + y1) // 2
            return Rect(x0 + 4, y - h // 2, w, h)
    x, y = points[0]
    return Rect(x + 4, y - h - 4, w, h)
