"""Tree-level diagram generation with MadGraph's process semantics, producing a :class:`CompiledProcess`.

Design: a diagram is built as off-shell currents (Berends-Giele style recursion over subsets of external
"slots"): ``currents(S)`` are all ways the slots in S merge into one propagating line, memoised per subset, so a
sub-current shared by several diagrams is one object. A diagram closes the last slot against a partition of all
other slots at one vertex. Decay chains follow MadGraph's ``DecayChainAmplitude``: every decay step is generated as
its own process (its daughters merged into one current of the decaying particle: the s-channel resonance with its
Breit-Wigner), and the core process is generated with that current in the decaying particle's slot, i.e. only
diagrams with the named resonances survive. Coupling orders apply per step: explicit limits where given, else
MadGraph's default -- only diagrams with the minimal WEIGHTED = QCD + 2 QED of that step. Each decay chain decays
the first not yet decayed particle of its kind (MadGraph's rule when there are as many chains as decaying
particles), so identical chains (tttt) give one assignment; the identical-particle factor is that of each step's
final state (tttt: 2! 2! from the core). A vertex with several colour terms (4 gluons) gives one diagram per term,
as MadGraph splits such UFO vertices into separate interactions (tttt: 72 topologies, 76 diagrams).

Conventions (see :mod:`tinn_dist.physics.diagrams`): MadGraph's all-outgoing matching -- a final-state leg sits at a
vertex position holding its own PDG, an initial-state leg at one holding its antiparticle, a current at one holding
its ``pdg``. In every fermion vertex of the model positions 0 and 1 are the fermion pair. The relative fermion sign
of a diagram is the parity of the permutation that orders the external fermions as (position 0, position 1)
pairs along each fermion line, relative to their external order (Wick's theorem, as MadGraph's fermion sign).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import Counter
from collections.abc import Iterator
from functools import cache

import numpy as np

from tinn_dist.errors import TinnError
from tinn_dist.physics.colour import ColourNetwork, colour_decomposition, parse_colour
from tinn_dist.physics.diagrams import Amplitude, CompiledProcess, Current, Diagram, ExternalLeg, Node
from tinn_dist.physics.model import Model
from tinn_dist.physics.process_string import OrderLimit, ProcessSpec, parse_process
from tinn_dist.processes import Process

__all__ = ["compile_process", "compile_string"]

WEIGHTS = {"QCD": 1, "QED": 2}

Orders = tuple[tuple[str, int], ...]


def _add(a: Orders, b: Orders) -> Orders:
    c = Counter(dict(a))
    c.update(dict(b))
    return tuple(sorted((k, v) for k, v in c.items() if v))


def _set_partitions(items: tuple[int, ...], k: int) -> Iterator[tuple[tuple[int, ...], ...]]:
    """All partitions of ``items`` into exactly k non-empty unordered blocks."""
    if k == 1:
        yield (items,)
        return
    if len(items) < k:
        return
    first, rest = items[0], items[1:]
    # blocks in canonical order: the first block holds the smallest element
    for size in range(len(rest) - k + 2):
        for others in itertools.combinations(rest, size):
            block = (first,) + others
            remaining = tuple(x for x in rest if x not in others)
            for tail in _set_partitions(remaining, k - 1):
                yield (block,) + tail


class _VertexIndex:
    """Vertices by the sorted PDGs of the lines they join: ``by_inputs`` (all positions but the off-shell one)
    gives (vertex, offshell); ``closing`` (all positions) gives the vertices that can close a diagram."""

    def __init__(self, model: Model) -> None:
        self.by_inputs: dict[tuple[int, ...], list[tuple[int, int]]] = {}
        self.closing: dict[tuple[int, ...], list[int]] = {}
        for vi, v in enumerate(model.vertices):
            self.closing.setdefault(tuple(sorted(v.particles)), []).append(vi)
            for o, p in enumerate(v.particles):
                if p in v.particles[:o]:
                    continue   # an earlier position with the same PDG gives the same current
                key = tuple(sorted(q for i, q in enumerate(v.particles) if i != o))
                self.by_inputs.setdefault(key, []).append((vi, o))


def _assign(particles: tuple[int, ...], skip: int | None, nodes: list[tuple[object, Orders]]):
    """Put ``nodes`` (matched by all-outgoing PDG) at the positions of ``particles`` but ``skip``, in vertex order.
    Among nodes of equal PDG the given (canonical) order is kept, so each diagram appears once."""
    pool: dict[int, list[tuple[object, Orders]]] = {}
    for item in nodes:
        pool.setdefault(_pdg_out(item[0]), []).append(item)
    out = []
    for i, p in enumerate(particles):
        if i == skip:
            continue
        out.append(pool[p].pop(0))
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class _Leg:
    """External leg plus its all-outgoing PDG (bookkeeping only; the compiled process holds ExternalLeg)."""

    leg: ExternalLeg
    pdg_out: int

    @property
    def legs(self) -> frozenset[int]:
        return self.leg.legs


def _pdg_out(node) -> int:
    return node.pdg if isinstance(node, Current) else node.pdg_out


class _Step:
    """Generate the currents and amplitudes of one production/decay step over a list of slots. Each slot has
    alternatives (an external leg, or the currents of a decayed particle) as (node, orders-of-that-subtree)."""

    def __init__(self, model: Model, index: _VertexIndex, slots: list[list[tuple[object, Orders]]]) -> None:
        self.model = model
        self.index = index
        self.slots = slots
        self.memo: dict[tuple[int, ...], list[tuple[object, Orders]]] = {}

    def _combine(self, blocks: tuple[tuple[int, ...], ...]) -> Iterator[list[tuple[object, Orders]]]:
        for choice in itertools.product(*(self.currents(b) for b in blocks)):
            yield list(choice)

    def currents(self, subset: tuple[int, ...]) -> list[tuple[object, Orders]]:
        """Every current (with its orders) that merges exactly the slots in ``subset``, memoised."""
        if subset in self.memo:
            return self.memo[subset]
        if len(subset) == 1:
            out = list(self.slots[subset[0]])
        else:
            out = []
            for k in (2, 3):
                for blocks in _set_partitions(subset, k):
                    for choice in self._combine(blocks):
                        key = tuple(sorted(_pdg_out(n) for n, _ in choice))
                        for vi, o in self.index.by_inputs.get(key, []):
                            v = self.model.vertices[vi]
                            placed = _assign(v.particles, o, choice)
                            inputs = tuple(n for n, _ in placed)
                            orders = v.orders
                            for _, ords in placed:
                                orders = _add(orders, ords)
                            legs = frozenset().union(*(n.legs for n in inputs))
                            for ti in range(len(v.terms)):
                                cur = Current(vi, ti, o, inputs, self.model.anti(v.particles[o]), legs)
                                out.append((cur, orders))
        self.memo[subset] = out
        return out

    def amplitudes(self) -> list[tuple[Amplitude, Orders]]:
        """Every diagram: the last slot closed at one vertex against a partition of all other slots."""
        n = len(self.slots)
        root = n - 1
        others = tuple(range(n - 1))
        out = []
        for k in (2, 3):
            for blocks in _set_partitions(others, k):
                for choice in self._combine(blocks):
                    for rnode in self.slots[root]:
                        nodes = choice + [rnode]
                        key = tuple(sorted(_pdg_out(nd) for nd, _ in nodes))
                        for vi in self.index.closing.get(key, []):
                            v = self.model.vertices[vi]
                            placed = _assign(v.particles, None, nodes)
                            orders = v.orders
                            for _, ords in placed:
                                orders = _add(orders, ords)
                            for ti in range(len(v.terms)):
                                out.append((Amplitude(vi, ti, tuple(nd for nd, _ in placed)), orders))
        return out


def _select(orders_list: list[Orders], limits: tuple[OrderLimit, ...], what: str) -> list[bool]:
    """MadGraph's order selection: explicit limits if given, else minimal WEIGHTED."""
    if not orders_list:
        raise TinnError(f"{what}: no tree diagrams in the model")
    if limits:
        keep = []
        for ords in orders_list:
            d = dict(ords)
            keep.append(all((d.get(l.order, 0) == l.value) if l.exact else (d.get(l.order, 0) <= l.value)
                            for l in limits))
    else:
        weights = [sum(WEIGHTS[o] * n for o, n in ords) for ords in orders_list]
        keep = [w == min(weights) for w in weights]
    if not any(keep):
        raise TinnError(f"{what}: no diagram satisfies the coupling orders")
    return keep


def _strip_legs(node: object) -> Node:
    """Replace bookkeeping _Leg by ExternalLeg everywhere in a tree (``compile_string`` then shares equal ones)."""
    if isinstance(node, _Leg):
        return node.leg
    assert isinstance(node, Current)
    return dataclasses.replace(node, inputs=tuple(_strip_legs(n) for n in node.inputs))


class _Builder:
    def __init__(self, model: Model, text: str) -> None:
        self.model = model
        self.text = text
        self.index = _VertexIndex(model)
        self.legs: list[ExternalLeg] = []

    def _new_leg(self, pdg: int, incoming: bool) -> _Leg:
        leg = ExternalLeg(len(self.legs), pdg, incoming)
        self.legs.append(leg)
        return _Leg(leg, self.model.anti(pdg) if incoming else pdg)

    def _final_slots(self, spec: ProcessSpec) -> list[list[tuple[object, Orders]]]:
        """Slots of the final state of ``spec``: external legs, or the currents of each decayed particle."""
        pending = list(spec.decays)
        slots = []
        for part in spec.final:
            decay = next((d for d in pending if d.initial[0].pdg == part.pdg), None)
            if decay is None:
                if part.polarization is not None:
                    raise TinnError(f"process {self.text!r}: polarised {self.model.particles[part.pdg].name}"
                                    f"{{{part.polarization}}} must decay (a polarised propagator)")
                slots.append([(self._new_leg(part.pdg, False), ())])
                continue
            pending.remove(decay)
            # the decay's own orders stay with the decay: in this step the resonance is a leaf
            slots.append([(c, ()) for c in self._decay(decay, part.polarization)])
        if pending:
            name = self.model.particles[pending[0].initial[0].pdg].name
            raise TinnError(f"process {self.text!r}: decay of {name!r} has no matching particle to decay")
        return slots

    def _decay(self, spec: ProcessSpec, polarization: str | None) -> list[Current]:
        mother = spec.initial[0].pdg
        what = f"process {self.text!r}, decay {self.model.particles[mother].name} > " + " ".join(
            self.model.particles[p.pdg].name for p in spec.final)
        slots = self._final_slots(spec)
        step = _Step(self.model, self.index, slots)
        wanted = mother   # all-outgoing: the decaying particle leaves the core process as itself
        found = [(c, o) for c, o in step.currents(tuple(range(len(slots)))) if c.pdg == wanted]
        if not found:
            raise TinnError(f"{what}: no vertex of the model allows this decay")
        keep = _select([o for _, o in found], spec.orders, what)
        return [dataclasses.replace(c, polarization=polarization) if polarization else c
                for (c, _), k in zip(found, keep) if k]

    def build(self, spec: ProcessSpec) -> list[Amplitude]:
        """The diagrams of the whole process (core with every decay inserted), with the legs in ``self.legs``."""
        initial = [[(self._new_leg(p.pdg, True), ())] for p in spec.initial]
        for p in spec.initial:
            if p.polarization is not None:
                raise TinnError(f"process {self.text!r}: polarised initial particles are not supported")
        slots = initial + self._final_slots(spec)
        step = _Step(self.model, self.index, slots)
        amps = step.amplitudes()
        keep = _select([o for _, o in amps], spec.orders, f"process {self.text!r}")
        return [a for (a, _), k in zip(amps, keep) if k]


# ---------------------------------------------------------------------------------------------------------------
# fermion sign and colour of one diagram


def _fermion_sign(amp: Amplitude, model: Model) -> int:
    lines: list[tuple[int, int]] = []

    def walk(node: Node) -> int | None:
        """Open external fermion end of this line (or None for a boson line)."""
        if isinstance(node, ExternalLeg):
            return node.index if model.particles[node.pdg].spin == 2 else None
        v = model.vertices[node.vertex]
        ends = [walk(n) for n in node.inputs]
        positions = [i for i in range(len(v.particles)) if i != node.offshell]
        by_pos = dict(zip(positions, ends))
        if model.particles[v.particles[0]].spin == 2 and node.offshell in (0, 1):
            return by_pos[1 - node.offshell]
        if model.particles[v.particles[0]].spin == 2:
            lines.append((by_pos[0], by_pos[1]))
        return None

    v = model.vertices[amp.vertex]
    ends = [walk(n) for n in amp.inputs]
    if model.particles[v.particles[0]].spin == 2:
        lines.append((ends[0], ends[1]))
    order = [i for pair in lines for i in pair]
    # parity of the permutation sorting ``order``
    sign, seen = 1, [False] * len(order)
    pos = {x: i for i, x in enumerate(sorted(order))}
    perm = [pos[x] for x in order]
    for i in range(len(perm)):
        if not seen[i]:
            j, length = i, 0
            while not seen[j]:
                seen[j] = True
                j = perm[j]
                length += 1
            if length % 2 == 0:
                sign = -sign
    return sign


def _colour_network(amp: Amplitude, model: Model) -> ColourNetwork:
    """Tensor network of the colour factor of one diagram, with Identity deltas on internal lines eliminated."""
    tensors: list[tuple[str, tuple]] = []
    deltas: list[tuple[object, object, int]] = []
    counter = itertools.count()
    dims: dict[object, int] = {}
    external: dict[int, int] = {}

    def rep_dim(pdg: int) -> int:
        return abs(model.particles[pdg].color)

    def vertex(vi: int, ti: int, labels: list[object]) -> None:
        v = model.vertices[vi]
        local: dict[int, object] = {}
        for kind, idx in parse_colour(v.terms[ti].color):
            labs = []
            for k in idx:
                if k > 0:
                    labs.append(labels[k - 1])
                else:
                    if k not in local:
                        local[k] = ("sum", next(counter))
                        dims[local[k]] = 8
                    labs.append(local[k])
            if kind == "Identity":
                deltas.append((labs[0], labs[1], dims[labs[0]]))
            else:
                tensors.append((kind, tuple(labs)))

    def label(node: Node) -> object:
        if isinstance(node, ExternalLeg):
            lab = ("ext", node.index)
            d = rep_dim(node.pdg)
            if d > 1:
                external[node.index] = d
            dims[lab] = d
            return lab
        lab = ("int", next(counter))
        dims[lab] = rep_dim(node.pdg)
        v = model.vertices[node.vertex]
        labs = [label(n) for n in node.inputs]
        labs.insert(node.offshell, lab)
        if any(rep_dim(p) > 1 for p in v.particles):
            vertex(node.vertex, node.term, labs)
        return lab

    labs = [label(n) for n in amp.inputs]
    vertex(amp.vertex, amp.term, labs)

    # eliminate deltas: union-find over labels; a class keeps one external label (others get explicit deltas)
    parent: dict[object, object] = {}

    def find(x: object) -> object:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    factor = 1.0
    for a, b, d in deltas:
        ra, rb = find(a), find(b)
        if ra == rb:
            factor *= d          # closed colour loop: delta_ii = N
        else:
            parent[ra] = rb
    classes: dict[object, list[object]] = {}
    for lab in dims:
        classes.setdefault(find(lab), []).append(lab)
    rename: dict[object, object] = {}
    external_deltas = []
    for root, members in classes.items():
        ext = sorted((m for m in members if m[0] == "ext"), key=lambda m: m[1])
        target = ext[0] if ext else root
        for m in members:
            rename[m] = target
        for other in ext[1:]:
            external_deltas.append(("d3" if dims[other] == 3 else "d8", (target, other)))
    tensors = [(kind, tuple(rename.get(l, l) for l in labs_)) for kind, labs_ in tensors] + external_deltas
    return ColourNetwork(tuple(tensors), tuple(sorted(external.items())), complex(factor))


# ---------------------------------------------------------------------------------------------------------------


def _helicities(model: Model, pdg: int) -> int:
    p = model.particles[pdg]
    if p.spin == 3:
        return 2 if p.mass == "ZERO" else 3
    return p.spin


def _identical_factor(spec: ProcessSpec) -> int:
    """MadGraph's identical-particle factor: per step, the factorials of equal final-state particles."""
    counts = Counter((p.pdg, p.polarization) for p in spec.final)
    factor = math.prod(math.factorial(n) for n in counts.values())
    for d in spec.decays:
        factor *= _identical_factor(d)
    return factor


def compile_string(text: str, model: Model, name: str = "") -> CompiledProcess:
    """Compile a MadGraph process string (external order: core initial, then final states with every decayed
    particle replaced by its decay products, recursively -- MadGraph's ``legs_with_decays`` order)."""
    spec = parse_process(text, model)
    builder = _Builder(model, text)
    amps = builder.build(spec)
    legs = tuple(builder.legs)
    intern: dict[Node, Node] = {}

    def share(node: Node) -> Node:
        if isinstance(node, ExternalLeg):
            return node
        node = dataclasses.replace(node, inputs=tuple(share(n) for n in node.inputs))
        return intern.setdefault(node, node)

    amplitudes = []
    for amp in amps:
        inputs = tuple(share(_strip_legs(n)) for n in amp.inputs)
        amplitudes.append(Amplitude(amp.vertex, amp.term, inputs))
    networks = [_colour_network(a, model) for a in amplitudes]
    coeff, gram = colour_decomposition(networks)
    diagrams = tuple(
        Diagram(a, _fermion_sign(a, model), tuple(complex(c) for c in coeff[i]))
        for i, a in enumerate(amplitudes)
    )
    initial = [leg for leg in legs if leg.incoming]
    denominator = math.prod(_helicities(model, leg.pdg) * abs(model.particles[leg.pdg].color) for leg in initial)
    denominator *= _identical_factor(spec)
    ordered: list[Current] = []
    seen: set[int] = set()

    def visit(node: Node) -> None:
        if isinstance(node, Current) and id(node) not in seen:
            for n in node.inputs:
                visit(n)
            seen.add(id(node))
            ordered.append(node)

    for a in amplitudes:
        for n in a.inputs:
            visit(n)
    return CompiledProcess(
        name=name or text,
        legs=legs,
        diagrams=diagrams,
        color_matrix=np.real_if_close(gram),
        denominator=float(denominator),
        currents=tuple(ordered),
    )


@cache
def compile_process(process: Process, model: Model) -> CompiledProcess:
    """Compile a catalogue process; its external order must be the catalogue's ``external`` PDG tuple."""
    compiled = compile_string(process.madgraph, model, process.name)
    pdgs = tuple(leg.pdg for leg in compiled.legs)
    if pdgs != process.external:
        raise TinnError(f"process {process.name!r}: the process string gives external order {list(pdgs)}, "
                        f"field 'external' says {list(process.external)}")
    return compiled
