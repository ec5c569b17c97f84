"""Partonic phase space of a catalogue process, sampled from the unit hypercube (batched numpy).

The final state is built as a product of two-body decays along the process's decay tree
(``Process.resonances``): the partonic c.m. system (mass sqrt(s_hat)) decays into the top-level objects, every
resonance (t, W, ...) into its children. Phase-space factorisation (PDG review "Kinematics", eq. 49.20 ff.):

    dPhi_n(P; p_1..p_n) = dPhi_j(Q; p_1..p_j) dQ^2/(2 pi) dPhi_{n-j+1}(P; Q, p_{j+1}..p_n),
    dPhi_2(P; p_a, p_b) = |p*| / (16 pi^2 sqrt(P^2)) dOmega*,

with dPhi_n = (2pi)^4 delta^4(P - sum p) prod d^3p_i / ((2pi)^3 2E_i). Every resonance mass is drawn from its
Breit-Wigner (tan mapping of Q^2) inside MadGraph's window |Q - M| < bwcutoff * Gamma (run-card default 15, which
MadGraph applies to every decay-chain resonance); a split into k > 2 objects is done as k - 1 two-body splits with
the intermediate invariant masses flat in Q^2. Angles are flat in cos(theta) and phi, so VEGAS can adapt them.

``PhaseSpace.generate(u, sqrt_s_hat)`` returns momenta in the process's external order in the partonic c.m.
frame (incoming partons along +z and -z) and the weight w with  E[w f] = int dPhi_n f.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinn_dist.errors import TinnError
from tinn_dist.events.kinematics import boost_to_rest_frame
from tinn_dist.physics.model import Model
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import Process

__all__ = ["BW_CUTOFF", "Node", "PhaseSpace", "PhaseSpaceBatch", "process_tree"]

BW_CUTOFF = 15.0


@dataclass(frozen=True)
class Node:
    """A node of the decay tree: an external leg (``slot`` set), a resonance with ``children`` (pole ``mass`` and
    non-zero ``width``), or the root (the partonic c.m. system). ``name``: the resonance's catalogue name."""

    name: str
    pdg: int
    mass: float = 0.0
    width: float = 0.0
    slot: int | None = None
    children: tuple[Node, ...] = field(default=())

    @property
    def leaves(self) -> list[int]:
        return [self.slot] if self.slot is not None else [s for c in self.children for s in c.leaves]


@dataclass
class PhaseSpaceBatch:
    """momenta: (B, N, 4) external order, partonic c.m. frame. weight: (B,) phase-space weight (GeV^(2n-4)),
    0 for points outside the kinematic limits. resonances: catalogue name -> (B, 4) momentum of each resonance.
    top_level: names of the objects the c.m. system decays into (resonances or ``slot<i>`` legs)."""

    momenta: np.ndarray
    weight: np.ndarray
    resonances: dict[str, np.ndarray]
    top_level: list[str]


def process_tree(process: Process, model: Model) -> Node:
    """The root node (the partonic c.m. system) of ``process``'s decay tree, masses and widths from ``model``."""

    def leaf(slot: int) -> Node:
        pdg = process.external[slot]
        return Node(f"slot{slot}", pdg, model.mass(pdg), slot=slot)

    def build(name: str | None, own: tuple[int, ...]) -> tuple[Node, ...]:
        kids = [r for r in process.resonances if r.parent == name]
        covered = {s for r in kids for s in r.slots}
        nodes = [leaf(s) for s in own if s not in covered]
        for r in kids:
            m, w = model.mass(r.pdg), model.width(r.pdg)
            if not w > 0:
                raise TinnError(f"param card: resonance {r.name} (PDG {r.pdg}) needs a mass and a non-zero width")
            nodes.append(Node(r.name, r.pdg, m, w, children=build(r.name, r.slots)))
        return tuple(nodes)

    return Node("cm", 0, children=build(None, process.final_slots))


def _two_body_momentum(m: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """|p*| of a two-body decay m -> m1 m2 (0 where closed)."""
    lam = (m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2)
    return np.sqrt(np.maximum(lam, 0.0)) / (2.0 * m)


class PhaseSpace:
    """Unit-hypercube parametrisation of the phase space of one decay tree (see the module docstring)."""

    def __init__(self, root: Node, n_external: int, bw_cutoff: float = BW_CUTOFF) -> None:
        self.root = root
        self.n_external = n_external
        self.bw_cutoff = bw_cutoff
        self.dim = self._count(root)
        self.min_mass = self._lower(root)

    @classmethod
    def for_process(cls, process: Process, card: str | Path, bw_cutoff: float = BW_CUTOFF) -> PhaseSpace:
        model = load_sm_model(card, alphas=0.13)  # alpha_s does not enter masses or widths
        return cls(process_tree(process, model), process.n_external, bw_cutoff)

    def _window(self, node: Node) -> tuple[float, float]:
        """Mass window of a resonance: |Q - M| < cutoff * Gamma, and above the sum of its children's minima."""
        lo = max(node.mass - self.bw_cutoff * node.width, sum(self._lower(c) for c in node.children))
        return lo, node.mass + self.bw_cutoff * node.width

    def _lower(self, node: Node) -> float:
        if node.slot is not None:
            return node.mass
        if node is self.root:
            return sum(self._lower(c) for c in node.children)
        return self._window(node)[0]

    def _upper(self, node: Node) -> float:
        return node.mass if node.slot is not None else self._window(node)[1]

    def _count(self, node: Node) -> int:
        if node.slot is not None:
            return 0
        k = len(node.children)
        own = 3 * (k - 1) - 1  # (k - 1) two-body splits with 2 angles, k - 2 intermediate masses
        masses = sum(1 for c in node.children if c.slot is None)
        return own + masses + sum(self._count(c) for c in node.children)

    @property
    def top_level(self) -> list[str]:
        return [c.name for c in self.root.children]

    def generate(self, u: np.ndarray, sqrt_s_hat: np.ndarray) -> PhaseSpaceBatch:
        """Momenta and weights for points ``u`` (B, dim) in [0, 1) at partonic energies ``sqrt_s_hat`` (B,)."""
        u = np.asarray(u, dtype=np.float64)
        if u.ndim != 2 or u.shape[1] != self.dim:
            raise TinnError(f"phase space: u must be shaped (B, {self.dim}), got {u.shape}")
        b = u.shape[0]
        roots = np.asarray(sqrt_s_hat, dtype=np.float64)
        self._u, self._col = u, 0
        weight = np.ones(b)
        momenta = np.zeros((b, self.n_external, 4))
        half = 0.5 * roots
        momenta[:, 0] = np.stack([half, 0 * half, 0 * half, half], axis=1)
        momenta[:, 1] = np.stack([half, 0 * half, 0 * half, -half], axis=1)
        resonances: dict[str, np.ndarray] = {}
        p_root = np.zeros((b, 4))
        p_root[:, 0] = roots
        weight *= self._decay(self.root, p_root, roots, momenta, resonances)
        if self._col != self.dim:
            raise AssertionError("phase space used a different number of random numbers than it declares")
        del self._u
        weight[~np.isfinite(weight)] = 0.0
        return PhaseSpaceBatch(momenta, weight, resonances, self.top_level)

    def _take(self) -> np.ndarray:
        col = self._u[:, self._col]
        self._col += 1
        return col

    def _breit_wigner(self, node: Node, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mass in [lo, hi] from the Breit-Wigner of ``node`` (tan mapping of Q^2), and dQ^2/(2 pi) / density."""
        m2, mg = node.mass**2, node.mass * node.width
        lo = np.maximum(lo, 0.0)
        a_lo = np.arctan((lo * lo - m2) / mg)
        a_hi = np.arctan((np.maximum(hi, lo) ** 2 - m2) / mg)
        s = m2 + mg * np.tan(a_lo + (a_hi - a_lo) * self._take())
        weight = (a_hi - a_lo) * ((s - m2) ** 2 + mg * mg) / mg / (2.0 * math.pi)
        return np.sqrt(np.maximum(s, 0.0)), np.where(hi > lo, weight, 0.0)

    def _decay(
        self, node: Node, p: np.ndarray, m: np.ndarray, out: np.ndarray, resonances: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Decay ``node`` with momentum ``p`` (B, 4) and mass ``m`` (B,) into its subtree; returns the weight."""
        kids = node.children
        weight = np.ones(len(m))
        # Masses of the children, each within its window and what the others leave at their minima.
        lows = [self._lower(c) for c in kids]
        child_m: list[np.ndarray] = []
        for j, c in enumerate(kids):
            if c.slot is not None:
                child_m.append(np.full(len(m), c.mass))
                continue
            room = m - sum(child_m) - sum(lows[j + 1 :])
            mj, wj = self._breit_wigner(c, np.full(len(m), lows[j]), np.minimum(self._upper(c), room))
            child_m.append(mj)
            weight *= wj
        # Sequential two-body splits: P -> c_0 + R_1, R_1 -> c_1 + R_2, ..., R_{k-2} -> c_{k-2} + c_{k-1}.
        p_cur, m_cur = p, m
        child_p = []
        for j in range(len(kids) - 1):
            if j < len(kids) - 2:
                rest_min = sum(child_m[j + 1 :])
                hi2 = (m_cur - child_m[j]) ** 2
                lo2 = rest_min**2
                s = lo2 + (hi2 - lo2) * self._take()
                m_rest = np.sqrt(np.maximum(s, 0.0))
                weight *= np.where(hi2 > lo2, (hi2 - lo2) / (2.0 * math.pi), 0.0)
            else:
                m_rest = child_m[j + 1]
            pa, pb, w2 = self._two_body(p_cur, m_cur, child_m[j], m_rest)
            weight *= w2
            child_p.append(pa)
            p_cur, m_cur = pb, m_rest
        child_p.append(p_cur)
        for c, pc, mc in zip(kids, child_p, child_m):
            if c.slot is not None:
                out[:, c.slot] = pc
            else:
                resonances[c.name] = pc
                weight *= self._decay(c, pc, mc, out, resonances)
        return weight

    def _two_body(
        self, p: np.ndarray, m: np.ndarray, m1: np.ndarray, m2: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """p (mass m) -> p1 (m1) + p2 (m2), isotropic in the rest frame of p; weight |p*| / (4 pi m)."""
        cos_t = 2.0 * self._take() - 1.0
        phi = 2.0 * math.pi * self._take()
        q = _two_body_momentum(m, m1, m2)
        sin_t = np.sqrt(np.maximum(1.0 - cos_t * cos_t, 0.0))
        b = len(m)
        p1 = np.empty((b, 1, 4))
        p1[:, 0, 0] = np.sqrt(q * q + m1 * m1)
        p1[:, 0, 1] = q * sin_t * np.cos(phi)
        p1[:, 0, 2] = q * sin_t * np.sin(phi)
        p1[:, 0, 3] = q * cos_t
        p2 = p1.copy()
        p2[:, 0, 0] = np.sqrt(q * q + m2 * m2)
        p2[:, 0, 1:] *= -1.0
        # Boosting out of the rest frame of p = boosting into the rest frame of (E, -p_vec).
        frame = p * np.array([1.0, -1.0, -1.0, -1.0])
        both = boost_to_rest_frame(np.concatenate([p1, p2], axis=1), frame)
        weight = np.where((m > m1 + m2) & (q > 0), q / (4.0 * math.pi * m), 0.0)
        return both[:, 0], both[:, 1], weight
