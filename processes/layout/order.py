"""Layered ordering (Sugiyama style): longest-path ranks, dummy vertices on long flows, barycenter sweeps, rows."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from collections.abc import Sequence
from collections.abc import Set
from dataclasses import dataclass
from dataclasses import field
from itertools import pairwise

SWEEPS = 4
BAND_SLOTS = 100_000  # slot numbers order vertices across bands: band first, then position in the band


@dataclass
class Grid:
    """Where every vertex sits: rank (column), band (lane) and row; flows as chains of vertices."""

    rank: dict[str, int]
    band: dict[str, int]
    row: dict[str, int] = field(default_factory=dict)
    chains: dict[str, list[str]] = field(default_factory=dict)
    back: set[str] = field(default_factory=set)
    succ: dict[str, list[str]] = field(default_factory=dict)
    pred: dict[str, list[str]] = field(default_factory=dict)
    layers: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    attached: dict[str, list[str]] = field(default_factory=dict)


def longest_path_ranks(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> tuple[dict[str, int], list[str]]:
    """Rank nodes by the longest path from a source and return a topological order; a cycle is cut at its first node."""
    index = {n: i for i, n in enumerate(nodes)}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    indegree = dict.fromkeys(nodes, 0)
    for source, target in edges:
        if source in index and target in index and source != target:
            succ[source].append(target)
            indegree[target] += 1
    rank, done = dict.fromkeys(nodes, 0), set()
    order: list[str] = []
    ready = [(index[n], n) for n in nodes if indegree[n] == 0]
    heapq.heapify(ready)
    while len(order) < len(nodes):
        if not ready:  # only a cycle is left: release its earliest node (the diagrams should have none)
            first = min((n for n in nodes if n not in done), key=index.__getitem__)
            heapq.heappush(ready, (index[first], first))
        _, node = heapq.heappop(ready)
        if node in done:
            continue
        done.add(node)
        order.append(node)
        for target in succ[node]:
            if target not in done:
                rank[target] = max(rank[target], rank[node] + 1)
                indegree[target] -= 1
                if indegree[target] == 0:
                    heapq.heappush(ready, (index[target], target))
    return rank, order


def build_grid(nodes: Sequence[str], flows: Sequence[tuple[str, str, str]], hosts: Mapping[str, str],
               band: Mapping[str, int], preferred: Set[str] = frozenset()) -> Grid:
    """Rank, split long flows with dummies, order each layer and assign rows (hosts: boundary event -> host)."""
    # `preferred` holds gateways' default flows: they go first where branches tie, so the normal path runs straight
    alias = {b: h for b, h in hosts.items() if h in band}
    rank, _ = longest_path_ranks(nodes, [(alias.get(s, s), t) for _, s, t in flows])
    grid = Grid(dict(rank), {n: band[n] for n in nodes})
    for boundary, host in alias.items():
        if any(s == boundary for _, s, _ in flows):  # a boundary event without flows needs no row of its own
            grid.rank[boundary], grid.band[boundary] = rank[host], band[host]
            grid.attached.setdefault(host, []).append(boundary)
    for v in grid.rank:
        grid.succ[v], grid.pred[v] = [], []
    for flow, source, target in flows:
        if source not in grid.rank or target not in grid.rank:
            continue
        if grid.rank[target] <= grid.rank[source]:
            grid.back.add(flow)
            grid.chains[flow] = [source, target]
            continue
        chain = [source]
        for r in range(grid.rank[source] + 1, grid.rank[target]):
            dummy = f"{flow}~{r}"
            grid.rank[dummy], grid.band[dummy], grid.succ[dummy], grid.pred[dummy] = r, grid.band[source], [], []
            chain.append(dummy)
        chain.append(target)
        grid.chains[flow] = chain
        for a, b in pairwise(chain):
            grid.succ[a].append(b)
            grid.pred[b].append(a)
    _order(grid, list(nodes), {grid.chains[f][1] for f in preferred if f in grid.chains})
    _assign_rows(grid)
    return grid


def _order(grid: Grid, nodes: list[str], preferred: Set[str]) -> None:
    """Order each (rank, band) layer: depth-first discovery, then barycenter sweeps keeping the fewest crossings."""
    seen = _discovery(grid, nodes, preferred)
    for v in sorted(grid.rank, key=seen.__getitem__):
        grid.layers.setdefault((grid.rank[v], grid.band[v]), []).append(v)
    _attach(grid)
    best, best_crossings = _snapshot(grid), _crossings(grid)
    top = max(grid.rank.values(), default=0)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        for r in range(1, top + 1) if downward else range(top - 1, -1, -1):
            slot = _slots(grid)
            near = grid.pred if downward else grid.succ
            for key in [k for k in grid.layers if k[0] == r]:
                grid.layers[key] = _by_barycenter(grid.layers[key], near, slot)
            _attach(grid)
        crossings = _crossings(grid)
        if crossings < best_crossings:
            best, best_crossings = _snapshot(grid), crossings
    grid.layers = best


def _discovery(grid: Grid, nodes: list[str], preferred: Set[str]) -> dict[str, int]:
    """Number vertices depth-first from the sources, following the branch that reaches furthest first."""
    reach = dict(grid.rank)
    for v in sorted(grid.rank, key=grid.rank.__getitem__, reverse=True):
        reach[v] = max([reach[v], *(reach[s] for s in grid.succ[v])])
    position = {n: i for i, n in enumerate(nodes)}
    seen: dict[str, int] = {}
    roots = [v for v in grid.rank if not grid.pred[v]]
    stack = sorted(roots, key=lambda v: (grid.rank[v], position.get(v, len(position))), reverse=True)
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen[v] = len(seen)
        following = sorted(grid.succ[v], key=lambda s: (-reach[s], s not in preferred)) + grid.attached.get(v, [])
        stack.extend(reversed(following))
    for v in grid.rank:  # vertices only reachable through a cycle
        seen.setdefault(v, len(seen))
    return seen


def _by_barycenter(layer: list[str], near: Mapping[str, list[str]], slot: Mapping[str, int]) -> list[str]:
    """Sort a layer by the mean slot of each vertex's neighbours; the sort is stable, so ties keep their order."""
    def center(v: str) -> float:
        return sum(slot[n] for n in near[v]) / len(near[v]) if near[v] else float(slot[v])
    return sorted(layer, key=center)


def _attach(grid: Grid) -> None:
    """Keep boundary-event rows directly after their host in its layer."""
    stuck = {b for bs in grid.attached.values() for b in bs}
    for key, layer in grid.layers.items():
        ordered: list[str] = []
        for v in layer:
            if v not in stuck:
                ordered.append(v)
                ordered.extend(grid.attached.get(v, []))
        grid.layers[key] = ordered


def _slots(grid: Grid) -> dict[str, int]:
    """Number every vertex top to bottom across bands."""
    return {v: key[1] * BAND_SLOTS + i for key, layer in grid.layers.items() for i, v in enumerate(layer)}


def _snapshot(grid: Grid) -> dict[tuple[int, int], list[str]]:
    """Copy the current layer orders."""
    return {k: list(v) for k, v in grid.layers.items()}


def _crossings(grid: Grid) -> int:
    """Count crossing pairs of edges between neighbouring ranks (quadratic; diagrams are small)."""
    slot = _slots(grid)
    by_rank: dict[int, list[tuple[int, int]]] = {}
    for v, targets in grid.succ.items():
        by_rank.setdefault(grid.rank[v], []).extend((slot[v], slot[t]) for t in targets)
    total = 0
    for edges in by_rank.values():
        for i, (a, b) in enumerate(edges):
            total += sum(1 for c, d in edges[i + 1:] if (a - c) * (b - d) < 0)
    return total


def _assign_rows(grid: Grid) -> None:
    """Give each vertex a row in its band: its predecessor's row when free, so chains run straight."""
    host_of = {b: h for h, bs in grid.attached.items() for b in bs}
    for key in sorted(grid.layers):
        previous = -1
        for v in grid.layers[key]:
            same_band = [grid.row[p] for p in grid.pred[v] if grid.band[p] == grid.band[v] and p in grid.row]
            wanted = grid.row[host_of[v]] + 1 if v in host_of else min(same_band, default=0)
            grid.row[v] = max(wanted, previous + 1)
            previous = grid.row[v]
