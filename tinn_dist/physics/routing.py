"""Close every diagram at the vertex MadGraph closes it, so propagator momenta are summed over the same legs.

Why it matters: event momenta conserve four-momentum only to the precision they were written with (LHE: ~1e-9
relative, ~1e-6 GeV). A propagator's momentum summed from one side of the line then differs from the other side,
and for a resonant W or a small-|t| photon exchange |M|^2 moves by up to ~4e-7 -- more than the 1e-8 we promise.
MadGraph builds each diagram by combining legs in rounds (``diagram_generation.generate_diagrams``): every group
of a round contains a leg made in the round before, and the final vertex takes >= 2 legs of the last round, or the
last two legs meet in an identity vertex that is merged into the vertex away from leg number 1. In tree terms:
with height(external) = 0 and height(current) = 1 + max(height of its inputs), the amplitude sits at the tree
centre (the vertex where >= 2 branches reach the maximal height); when the centre is an edge, at its endpoint
whose side does not hold the first initial leg. Decay chains are built as a core process whose decayed
resonances are leaves (each always a current of its decay products).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from tinn_dist.physics.diagrams import Amplitude, CompiledProcess, Current, ExternalLeg, Node
from tinn_dist.physics.model import Model
from tinn_dist.processes import Process

__all__ = ["madgraph_routing"]


@dataclass
class _Vertex:
    vertex: int
    term: int
    links: list[tuple[str, object]] = field(default_factory=list)   # per position: ("leaf", Node) | ("vertex", id)


class _Tree:
    """One diagram as an undirected tree of vertices; leaves are external legs and decay currents."""

    def __init__(self, amp: Amplitude, model: Model, leaves: frozenset[frozenset[int]]) -> None:
        self.model = model
        self.leaves = leaves
        self.vertices: list[_Vertex] = [_Vertex(amp.vertex, amp.term, [None] * len(amp.inputs))]  # type: ignore[list-item]
        for pos, node in enumerate(amp.inputs):
            self.vertices[0].links[pos] = self._attach(node, 0)

    def _attach(self, node: Node, parent: int) -> tuple[str, object]:
        if isinstance(node, ExternalLeg) or frozenset(node.legs) in self.leaves:
            return ("leaf", node)
        vid = len(self.vertices)
        n = len(self.model.vertices[node.vertex].particles)
        v = _Vertex(node.vertex, node.term, [None] * n)  # type: ignore[list-item]
        self.vertices.append(v)
        v.links[node.offshell] = ("vertex", parent)
        others = [i for i in range(n) if i != node.offshell]
        for pos, child in zip(others, node.inputs):
            v.links[pos] = self._attach(child, vid)
        return ("vertex", vid)

    def _away(self, vid: int, pos: int) -> tuple[int, set[int]]:
        """(height, external leg indices) of the branch leaving vertex ``vid`` through position ``pos``."""
        kind, target = self.vertices[vid].links[pos]
        if kind == "leaf":
            return 0, set(target.legs)  # type: ignore[union-attr]
        height, legs = 0, set()
        v = self.vertices[target]  # type: ignore[index]
        for p, link in enumerate(v.links):
            if link == ("vertex", vid):
                continue
            h, l = self._away(target, p)  # type: ignore[arg-type]
            height, legs = max(height, h), legs | l
        return height + 1, legs

    def centre(self) -> int:
        heights = [[self._away(vid, p)[0] for p in range(len(v.links))] for vid, v in enumerate(self.vertices)]
        for vid, hs in enumerate(heights):
            top = sorted(hs, reverse=True)
            if len(top) > 1 and top[0] == top[1]:
                return vid
        ecc = [max(hs) for hs in heights]
        a, b = [vid for vid, e in enumerate(ecc) if e == min(ecc)]
        pos_to_b = self.vertices[a].links.index(("vertex", b))
        _, legs_on_b_side = self._away(a, pos_to_b)
        return a if 0 in legs_on_b_side else b

    def amplitude_at(self, root: int) -> Amplitude:
        v = self.vertices[root]
        return Amplitude(v.vertex, v.term, tuple(self._node(root, p) for p in range(len(v.links))))

    def _node(self, vid: int, pos: int) -> Node:
        kind, target = self.vertices[vid].links[pos]
        if kind == "leaf":
            return target  # type: ignore[return-value]
        v = self.vertices[target]  # type: ignore[index]
        off = v.links.index(("vertex", vid))
        inputs = tuple(self._node(target, p) for p in range(len(v.links)) if p != off)  # type: ignore[arg-type]
        particles = self.model.vertices[v.vertex].particles
        legs = frozenset().union(*(n.legs for n in inputs))
        return Current(v.vertex, v.term, off, inputs, self.model.anti(particles[off]), legs, None)


def madgraph_routing(compiled: CompiledProcess, model: Model, process: Process) -> CompiledProcess:
    """The same diagrams, each closed at MadGraph's amplitude vertex (equal currents stay shared)."""
    leaves = frozenset(frozenset(r.slots) for r in process.resonances if r.parent is None)
    shared: dict[Node, Node] = {}

    def share(node: Node) -> Node:
        if isinstance(node, ExternalLeg):
            return node
        node = dataclasses.replace(node, inputs=tuple(share(n) for n in node.inputs))
        return shared.setdefault(node, node)

    diagrams = []
    for d in compiled.diagrams:
        tree = _Tree(d.amplitude, model, leaves)
        amp = tree.amplitude_at(tree.centre())
        amp = Amplitude(amp.vertex, amp.term, tuple(share(n) for n in amp.inputs))
        diagrams.append(dataclasses.replace(d, amplitude=amp))
    ordered: dict[Node, None] = {}

    def visit(node: Node) -> None:
        if isinstance(node, Current) and node not in ordered:
            for n in node.inputs:
                visit(n)
            ordered[node] = None

    for d in diagrams:
        for n in d.amplitude.inputs:
            visit(n)
    return dataclasses.replace(compiled, diagrams=tuple(diagrams), currents=tuple(ordered))  # type: ignore[arg-type]
