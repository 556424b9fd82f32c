"""Coordinates: a column per rank, rows per band (lane), subprocesses laid out recursively and sized to fit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from collections.abc import Set
from dataclasses import dataclass
from dataclasses import field
from itertools import pairwise

from processes.layout.labels import flow_label
from processes.layout.labels import text_width
from processes.layout.labels import wrapped
from processes.layout.model import Container
from processes.layout.model import Link
from processes.layout.model import Node
from processes.layout.order import Grid
from processes.layout.order import build_grid
from processes.layout.route import Point
from processes.layout.route import Rect
from processes.layout.route import route_flows

GAP_X = 60  # between columns: room for the vertical segment of an edge
GAP_Y = 40  # between rows: room for event and gateway labels
PAD = 30
DUMMY_HEIGHT = 10  # a row that only carries long edges
BOUNDARY_STEP = 44  # boundary events on one host, from the right: a 36 px event and a little air
MIN_SUBPROCESS = (200, 120)
TASK_WIDTH = 100
TASK_HEIGHT = 80


@dataclass(frozen=True)
class Frame:
    """Margins of a container: where content starts inside each band, and the least band height."""

    left: int
    top: int
    bottom: int = PAD
    right: int = PAD
    min_band: int = 0


SUBPROCESS = Frame(left=PAD, top=2 * PAD)  # the expanded subprocess's name sits in its top-left corner


@dataclass
class Block:
    """A laid-out container: size, shapes and sequence-flow routes relative to its top-left, band extents."""

    width: int
    height: int
    shapes: dict[str, Rect] = field(default_factory=dict)
    edges: dict[str, list[Point]] = field(default_factory=dict)
    bands: list[tuple[int, int]] = field(default_factory=list)
    labels: dict[str, Rect] = field(default_factory=dict)

    def add(self, other: Block, dx: int, dy: int) -> None:
        """Copy another block's shapes and edges into this one, shifted."""
        self.shapes.update({k: r.moved(dx, dy) for k, r in other.shapes.items()})
        self.edges.update({k: [(x + dx, y + dy) for x, y in pts] for k, pts in other.edges.items()})
        self.labels.update({k: r.moved(dx, dy) for k, r in other.labels.items()})


def place(box: Container, band: Mapping[str, int] | None, bands: int, frame: Frame, links: Sequence[Link]) -> Block:
    """Lay out a container: nodes on the grid, subprocesses inside, boundary events and artifacts around."""
    inner = {n.id: place(n.inner, None, 1, SUBPROCESS, links) for n in box.nodes if n.inner is not None}
    for node in box.nodes:
        if node.id in inner:
            node.width = max(inner[node.id].width, MIN_SUBPROCESS[0])
            node.height = max(inner[node.id].height, MIN_SUBPROCESS[1])
    for host, count in Counter(b.host for b in box.boundaries if b.host).items():
        for node in (n for n in box.nodes if n.id == host):  # room on the bottom edge for every boundary event
            node.width = max(node.width, BOUNDARY_STEP * (count - 1) + 2 * PAD)
    band_of = {n.id: (band or {}).get(n.id, 0) for n in box.nodes}
    main = [n for n in box.nodes if not n.event_subprocess]
    grid = build_grid([n.id for n in main], [(f.id, f.source, f.target) for f in box.flows],
                      {b.id: b.host for b in box.boundaries if b.host}, {n.id: band_of[n.id] for n in main},
                      {str(n.el.get("default")) for n in main if n.el.get("default")})
    size = {n.id: (n.width, n.height) for n in main}
    cols = _columns(grid, size, box, frame.left)
    row_h = _row_heights(grid, size)
    anchors = _anchors(box, links)
    block, row_y = _stack_bands(box, band_of, bands, row_h, frame, _artifact_strips(box, band_of, anchors))
    line = _centre_lines(grid, size, {n.id for n in main if n.inner is not None}, row_y)
    for node in main:
        col_x, col_w = cols[grid.rank[node.id]]
        key = (grid.band[node.id], grid.row[node.id])
        slot = min(col_w, TASK_WIDTH)  # centred on a task's width: an event beside a wide subprocess stays left
        y = row_y[key] if node.inner is not None else line[key] - node.height // 2
        block.shapes[node.id] = Rect(col_x + max(slot - node.width, 0) // 2, y, node.width, node.height)
    _place_boundaries(box, block)
    centre = {v: line[(grid.band[v], grid.row[v])] for v in grid.rank}
    gaps = {r: (x + w, cols[r + 1][0]) for r, (x, w) in cols.items() if r + 1 in cols}
    block.edges.update(route_flows(grid, block.shapes, centre, gaps))
    _label_flows(box, grid, block, row_y, row_h)
    right = max([frame.left, *(r.right for r in block.shapes.values())])
    for node in box.nodes:
        if node.id in inner:
            rect = block.shapes[node.id]
            block.add(inner[node.id], rect.x, rect.y)
    _place_artifacts(box, block, band_of, anchors, frame)
    block.width = max([right, *(r.right for r in block.shapes.values())]) + frame.right
    return block


def _label_flows(box: Container, grid: Grid, block: Block, row_y: Mapping[tuple[int, int], int],
                 row_h: Mapping[tuple[int, int], int]) -> None:
    """Label named flows; a bending flow's name goes in the free space between its source row and the next."""
    boundary = {b for bs in grid.attached.values() for b in bs}
    for flow in box.flows:
        points = block.edges.get(flow.id)
        if not flow.name or not points or flow.id in grid.back:
            continue
        source = grid.chains[flow.id][0]
        key = (grid.band[source], grid.row[source])
        down = any(a[0] == b[0] and b[1] > a[1] for a, b in pairwise(points))
        between = row_y[key] + row_h[key] + GAP_Y // 2 if down else row_y[key] - GAP_Y // 2
        label = flow_label(points, flow.name, None if source in boundary else between)
        while label is not None and any(_overlap(label, other) for other in block.labels.values()):
            label = label.moved(0, label.h + 2 if down else -label.h - 2)  # branches of one gateway share a track
        if label is not None:
            block.labels[flow.id] = label


def _overlap(a: Rect, b: Rect) -> bool:
    """Tell whether two boxes overlap."""
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


def _columns(grid: Grid, size: Mapping[str, tuple[int, int]], box: Container,
             left: int) -> dict[int, tuple[int, int]]:
    """Return x and width of each rank's column; a gap widens to fit the names of flows leaving it."""
    top = max(grid.rank.values(), default=-1)
    width = dict.fromkeys(range(top + 1), 0)
    for v, (w, _) in size.items():
        width[grid.rank[v]] = max(width[grid.rank[v]], w)
    gap = dict.fromkeys(range(top + 1), GAP_X)
    for flow in box.flows:
        if flow.name and flow.id in grid.chains and flow.id not in grid.back:
            r = grid.rank[grid.chains[flow.id][0]]
            gap[r] = max(gap[r], text_width(flow.name) + 16)
    cols, x = {}, left
    for r in range(top + 1):
        cols[r] = (x, width[r])
        x += width[r] + gap[r]
    return cols


def _centre_lines(grid: Grid, size: Mapping[str, tuple[int, int]], boxes: Set[str],
                  row_y: Mapping[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Return the y each row's flows run at: the middle of its small shapes; subprocesses hang from the row top."""
    # Centring a task on a tall subprocess would leave half the subprocess's height empty above the main path.
    boundary = {b for bs in grid.attached.values() for b in bs}
    half: dict[tuple[int, int], int] = {}
    for v in grid.rank:
        key = (grid.band[v], grid.row[v])
        h = size[v][1] if v in size else 36 if v in boundary else DUMMY_HEIGHT
        half[key] = max(half.get(key, 0), TASK_HEIGHT // 2 if v in boxes else h // 2)
    return {key: row_y[key] + h for key, h in half.items()}


def _row_heights(grid: Grid, size: Mapping[str, tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Return the height of each (band, row): its tallest vertex; rows of dummies only are thin."""
    boundary = {b for bs in grid.attached.values() for b in bs}
    heights: dict[tuple[int, int], int] = {}
    for v in grid.rank:
        h = size[v][1] if v in size else 36 if v in boundary else DUMMY_HEIGHT
        key = (grid.band[v], grid.row[v])
        heights[key] = max(heights.get(key, 0), h)
    return heights


def _stack_bands(box: Container, band_of: Mapping[str, int], bands: int, row_h: Mapping[tuple[int, int], int],
                 frame: Frame, strips: Mapping[int, int]) -> tuple[Block, dict[tuple[int, int], int]]:
    """Stack bands top to bottom: artifact strip, rows, event-subprocess strip; return row tops."""
    block = Block(0, 0)
    row_y: dict[tuple[int, int], int] = {}
    y = 0
    for b in range(bands):
        top = cursor = y + frame.top + strips.get(b, 0)
        rows = sorted(k for k in row_h if k[0] == b)
        for key in range(rows[-1][1] + 1 if rows else 0):
            row_y[(b, key)] = cursor
            if row_h.get((b, key)):  # a row nobody uses takes no room
                cursor += row_h[(b, key)] + GAP_Y
        subs = [n for n in box.nodes if n.event_subprocess and band_of[n.id] == b]
        x = frame.left
        for node in subs:
            block.shapes[node.id] = Rect(x, cursor, node.width, node.height)
            x += node.width + GAP_X
        cursor += max((n.height + GAP_Y for n in subs), default=0)
        bottom = cursor - GAP_Y if cursor > top or strips.get(b) else y + frame.top
        height = max(bottom + frame.bottom - y, frame.min_band)
        block.bands.append((y, height))
        y += height
    block.height = y
    return block, row_y


def _anchors(box: Container, links: Sequence[Link]) -> dict[str, tuple[str, str]]:
    """For each artifact: the node of this container whose band it joins, and the shape it is linked to."""
    owner = {n.id: n.id for n in box.nodes}
    owner.update({b.id: b.host or "" for b in box.boundaries})
    for node in box.nodes:
        if node.inner is not None:
            owner.update(dict.fromkeys(node.inner.all_ids(), node.id))
    anchors: dict[str, tuple[str, str]] = {}
    for art in box.artifacts:
        ends = [lk.target if lk.source == art.id else lk.source for lk in links if art.id in (lk.source, lk.target)]
        other = next((e for e in ends if e in owner), "")
        anchors[art.id] = (owner.get(other, ""), other)
    return anchors


def _artifact_strips(box: Container, band_of: Mapping[str, int],
                     anchors: Mapping[str, tuple[str, str]]) -> dict[int, int]:
    """Height of the strip on top of each band that holds that band's annotations and data objects."""
    strips: dict[int, int] = {}
    for art in box.artifacts:
        b = band_of.get(anchors[art.id][0], 0)
        strips[b] = max(strips.get(b, 0), art.height + GAP_Y)
    return strips


def _place_boundaries(box: Container, block: Block) -> None:
    """Put boundary events on the bottom edge of their host, from the right, in document order."""
    count: dict[str, int] = {}
    for event in box.boundaries:
        host = block.shapes.get(event.host or "")
        if host is None:
            continue
        k = count[event.host or ""] = count.get(event.host or "", -1) + 1
        cx = max(host.right - PAD - BOUNDARY_STEP * k, host.x + event.width // 2)
        block.shapes[event.id] = Rect(cx - event.width // 2, host.bottom - event.height // 2, event.width, event.height)


def _place_artifacts(box: Container, block: Block, band_of: Mapping[str, int],
                     anchors: Mapping[str, tuple[str, str]], frame: Frame) -> None:
    """Put artifacts in their band's top strip above the shape they are linked to, never overlapping."""
    def key(art: Node) -> tuple[int, int]:
        target = block.shapes.get(anchors[art.id][1])
        return band_of.get(anchors[art.id][0], 0), target.x if target else frame.left
    free: dict[int, int] = {}
    for art in sorted(box.artifacts, key=key):
        b, x = key(art)
        x = max(x, free.get(b, frame.left))
        block.shapes[art.id] = Rect(x, block.bands[b][0] + frame.top, art.width, art.height)
        free[b] = x + art.width + PAD + (wrapped(art.name)[0] if art.kind.startswith("data") else 0)
