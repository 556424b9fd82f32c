"""Orthogonal edge routes: out of the source's right side, a vertical segment in the gap, into the target's left."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

from processes.layout.order import Grid

Point = tuple[int, int]
DETOUR = 20  # how far a backward flow (only in cyclic input) steps out before turning


@dataclass(frozen=True)
class Rect:
    """Bounds of a shape in diagram coordinates (integers, so output is byte-stable)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        """Return the x of the right side."""
        return self.x + self.w

    @property
    def bottom(self) -> int:
        """Return the y of the bottom side."""
        return self.y + self.h

    @property
    def cx(self) -> int:
        """Return the x of the centre."""
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        """Return the y of the centre."""
        return self.y + self.h // 2

    def moved(self, dx: int, dy: int) -> Rect:
        """Return the same bounds shifted."""
        return Rect(self.x + dx, self.y + dy, self.w, self.h)


@dataclass(frozen=True)
class Segment:
    """A vertical segment of one hop in the gap after a column; hops sharing an end may share its x."""

    lo: int
    hi: int
    start: str
    end: str


def route_flows(grid: Grid, shapes: Mapping[str, Rect], row_y: Mapping[str, int],
                gaps: Mapping[int, tuple[int, int]]) -> dict[str, list[Point]]:
    """Route every sequence flow of a grid through its dummy vertices; parallel verticals get separate tracks."""
    track = _tracks(grid, row_y)
    boundary = {b for bs in grid.attached.values() for b in bs}
    routes: dict[str, list[Point]] = {}
    for flow, chain in grid.chains.items():
        source, target = shapes[chain[0]], shapes[chain[-1]]
        if flow in grid.back:
            routes[flow] = _detour(source, target)
            continue
        if chain[0] in boundary:  # boundary flows leave downwards, then run along the row kept for them
            points = [(source.cx, source.bottom), (source.cx, row_y[chain[0]])]
        else:
            points = [(source.right, row_y[chain[0]])]
        for a, b in pairwise(chain):
            if row_y[a] != row_y[b]:
                x0, x1 = gaps[grid.rank[a]]
                index, count = track[(a, b)]
                x = x0 + (x1 - x0) * (index + 1) // (count + 1)
                points += [(x, row_y[a]), (x, row_y[b])]
        points.append((target.x, row_y[chain[-1]]))
        routes[flow] = simplify(points)
    return routes


def _tracks(grid: Grid, row_y: Mapping[str, int]) -> dict[tuple[str, str], tuple[int, int]]:
    """Give each vertical hop a track in its gap so that unrelated overlapping verticals do not coincide."""
    by_gap: dict[int, list[Segment]] = {}
    for flow, chain in grid.chains.items():
        if flow in grid.back:
            continue
        for a, b in pairwise(chain):
            if row_y[a] != row_y[b]:
                lo, hi = sorted((row_y[a], row_y[b]))
                by_gap.setdefault(grid.rank[a], []).append(Segment(lo, hi, a, b))
    result: dict[tuple[str, str], tuple[int, int]] = {}
    for segments in by_gap.values():
        placed: list[tuple[Segment, int]] = []
        for seg in sorted(segments, key=lambda s: (s.lo, s.hi, s.start, s.end)):
            taken = {t for other, t in placed if other.lo <= seg.hi and seg.lo <= other.hi
                     and other.start != seg.start and other.end != seg.end}
            placed.append((seg, min(t for t in range(len(placed) + 1) if t not in taken)))
        count = max(t for _, t in placed) + 1
        result.update({(seg.start, seg.end): (t, count) for seg, t in placed})
    return result


def _detour(source: Rect, target: Rect) -> list[Point]:
    """Route a flow that does not go rightwards below both shapes."""
    low = max(source.bottom, target.bottom) + DETOUR
    return simplify([(source.right, source.cy), (source.right + DETOUR, source.cy), (source.right + DETOUR, low),
                     (target.x - DETOUR, low), (target.x - DETOUR, target.cy), (target.x, target.cy)])


def connect(a: Rect, b: Rect) -> list[Point]:
    """Route an association or message flow: vertically between stacked shapes, else horizontally."""
    if a.bottom <= b.y or b.bottom <= a.y:
        down = a.bottom <= b.y
        y0, y1 = (a.bottom, b.y) if down else (a.y, b.bottom)
        mid = (y0 + y1) // 2
        return simplify([(a.cx, y0), (a.cx, mid), (b.cx, mid), (b.cx, y1)])
    if a.right <= b.x or b.right <= a.x:
        x0, x1 = (a.right, b.x) if a.right <= b.x else (a.x, b.right)
        mid = (x0 + x1) // 2
        return simplify([(x0, a.cy), (mid, a.cy), (mid, b.cy), (x1, b.cy)])
    return [(a.cx, a.cy), (b.cx, b.cy)]


def simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and the middle one of three collinear points."""
    out: list[Point] = []
    for p in points:
        if out and p == out[-1]:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
        else:
            out.append(p)
    return out
