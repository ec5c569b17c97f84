"""Afterstate Q-network: Q(s, a) = g(s ∘ a) - g(s), one learned score g per slot arrangement.

A swap is a known, deterministic transition, so the value of taking action a in state s is the value of the
arrangement it leads to (an *afterstate*, Sutton & Barto, *Reinforcement Learning*, 2nd ed., §6.8). The paper's
network must learn d_A separate outputs from one pooled vector; here one scalar g is learned and shared by every
(state, action) pair that reaches the same arrangement, and Q(s, do-nothing) = 0 exactly. With the telescoping
reward r_t = log(m_{t+1}/m_t) and γ → 0, g(x) = log m(x) + c(event) (a learned surrogate of the matrix element);
with γ = 1, g(x) = (best log m reachable from x) + c(event). The per-event constant c cancels in every Q, so g only
has to rank the arrangements of one event.

g is a multilayer perceptron of Lorentz invariants of the arrangement — |M|² depends on the momenta through the
dot products p_i·p_j (and, through the complex Breit–Wigner widths, through tiny parity-odd ε-tensor terms that
these inputs cannot see: they are why the tt charge mirror differs by only ~0.1 %, see
:mod:`tinn_dist.analysis.evaluate`): for each slot pair i < j, log(2 p_i·p_j); for each final slot,
log(1 + |p²|/GeV²) (a b quark, mass 4.7 GeV, in a light-quark slot is visible); with ``resonance_features``, for
each s-channel resonance of the process's decay tree, its Breit–Wigner denominator
log[((p_S² - M²)² + M²Γ²) / M⁴] with p_S the summed momenta of the resonance's slots and M, Γ from the param card
— the propagators that dominate |M|² near the assignment, given to the network instead of learned — and
log(2 p_S·p_k) for k its daughters' slots and the two incoming slots (decay-angle and spin correlations). A linear
path beside the MLP carries the part of log |M|² that is linear in these logs.

With ``parity_odd_features`` the inputs also hold the pseudoscalars ε_{μνρσ} p_1^μ p_2^ν p_i^ρ p_j^σ (the two
incoming partons and each pair of final slots, as asinh(ε / scale⁴)). They change sign under parity, so they see
the CP-odd width terms that the dot products cannot: on tt truth/mirror pairs, a classifier on these 15 inputs
tells which of the two has the larger |M|² for 92 % of held-out events (50 % without them).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from tinn_dist.rl.config import QNetConfig
from tinn_dist.rl.env import swap_pairs

__all__ = ["AfterstateQNetwork", "ResonanceShape"]

ResonanceShape = tuple[tuple[int, ...], float, float]  # (slots, mass GeV, width GeV)
_METRIC = (1.0, -1.0, -1.0, -1.0)


def _levi_civita() -> torch.Tensor:
    eps = torch.zeros(4, 4, 4, 4)
    for perm in itertools.permutations(range(4)):
        inversions = sum(perm[a] > perm[b] for a in range(4) for b in range(a + 1, 4))
        eps[perm] = (-1.0) ** inversions
    return eps


class AfterstateQNetwork(nn.Module):
    """Input (B, N, 4) momenta in GeV in slot order; output (B, d_A) Q-values, column 0 (do-nothing) = 0."""

    def __init__(self, cfg: QNetConfig, n_slots: int, resonances: tuple[ResonanceShape, ...] = ()) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_slots = n_slots
        pairs = swap_pairs(n_slots)
        self.n_actions = 1 + len(pairs)
        arrangements = np.tile(np.arange(n_slots), (self.n_actions, 1))
        rows = np.arange(1, self.n_actions)
        arrangements[rows, pairs[:, 0]], arrangements[rows, pairs[:, 1]] = pairs[:, 1], pairs[:, 0]
        i, j = np.triu_indices(n_slots, k=1)
        # Slot-pair (i, j) of arrangement a reads the stored momenta (arrangements[a, i], arrangements[a, j]).
        self.register_buffer("pair_left", torch.from_numpy(arrangements[:, i]), persistent=False)
        self.register_buffer("pair_right", torch.from_numpy(arrangements[:, j]), persistent=False)
        self.register_buffer("arrangement", torch.from_numpy(arrangements), persistent=False)
        self.register_buffer("metric", torch.tensor(_METRIC), persistent=False)
        membership = np.zeros((len(resonances), n_slots), dtype=np.float32)
        for r, (slots, _, _) in enumerate(resonances):
            membership[r, list(slots)] = 1.0
        # resonance_slots[a, r, n] = 1 when stored momentum n sits in one of resonance r's slots in arrangement a.
        by_arrangement = np.stack([membership[:, np.argsort(arr)] for arr in arrangements])
        self.register_buffer("resonance_slots", torch.from_numpy(by_arrangement), persistent=False)
        self.register_buffer(
            "resonance_mass", torch.tensor([m for _, m, _ in resonances], dtype=torch.float32), persistent=False
        )
        self.register_buffer(
            "resonance_width", torch.tensor([w for _, _, w in resonances], dtype=torch.float32), persistent=False
        )
        # Per resonance r: P_r · p_k for each of its daughters' slots and the two incoming slots (decay angles and
        # spin correlations: for t -> b u d~, |M|^2 ~ (p_t·p_d~)(p_b·p_u) is linear in the logs of these).
        partners = [(r, k) for r, (slots, _, _) in enumerate(resonances) for k in (0, 1, *slots)]
        self.register_buffer(
            "partner_resonance", torch.tensor([r for r, _ in partners], dtype=torch.int64), persistent=False
        )
        self.register_buffer(
            "partner_slot", torch.tensor([k for _, k in partners], dtype=torch.int64), persistent=False
        )
        n_features = len(i) + (n_slots - 2) + len(resonances) + len(partners)
        if cfg.parity_odd_features:
            fi, fj = np.triu_indices(n_slots - 2, k=1)
            final = arrangements[:, 2:]
            self.register_buffer("odd_left", torch.from_numpy(final[:, fi]), persistent=False)
            self.register_buffer("odd_right", torch.from_numpy(final[:, fj]), persistent=False)
            self.register_buffer("levi_civita", _levi_civita(), persistent=False)
            n_features += len(fi)
        layers: list[nn.Module] = []
        width = n_features
        for _ in range(cfg.mlp_layers):
            layers += [nn.Linear(width, cfg.hidden), nn.ReLU()]
            width = cfg.hidden
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)
        # A linear path beside the MLP: log |M|^2 is close to minus the sum of the Breit-Wigner features.
        self.linear = nn.Linear(n_features, 1, bias=False)

    def features(self, momenta: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """(B, K, F) invariants of the arrangements reached from each row's state by ``actions`` (B, K)."""
        p = momenta.to(self.metric.dtype)
        dots = torch.einsum("bim,bjm,m->bij", p, p, self.metric)  # p_i · p_j, GeV²
        rows = torch.arange(len(p), device=p.device)[:, None, None]
        arrangement = self.arrangement[actions]  # (B, K, N): slot s of row b's k-th arrangement holds momentum [b, k, s]
        pair = dots[rows, self.pair_left[actions], self.pair_right[actions]]  # (B, K, P)
        masses = torch.diagonal(dots, dim1=1, dim2=2).abs()
        out = [
            torch.log(torch.clamp(2.0 * pair / self.cfg.momentum_scale**2, min=1e-8)),
            torch.log1p(masses[rows, arrangement[:, :, 2:]]),
        ]
        if self.resonance_mass.numel():
            summed = torch.einsum("bkrn,bnm->bkrm", self.resonance_slots[actions], p)
            s = torch.einsum("bkrm,bkrm,m->bkr", summed, summed, self.metric)
            m2, mw = self.resonance_mass**2, self.resonance_mass * self.resonance_width
            out.append(torch.log(((s - m2) ** 2 + mw**2) / m2**2))
            slot_momenta = p[rows, arrangement[:, :, self.partner_slot]]  # (B, K, Q, 4)
            partner = torch.einsum(
                "bkqm,bkqm,m->bkq", summed[:, :, self.partner_resonance], slot_momenta, self.metric
            )
            out.append(torch.log(torch.clamp(2.0 * partner / self.cfg.momentum_scale**2, min=1e-8)))
        if self.cfg.parity_odd_features:
            # eps[b, n, m] = ε(p_1, p_2, p_n, p_m) of row b's stored momenta (the incoming slots never move)
            beams = torch.einsum("wxyz,bw,bx->byz", self.levi_civita, p[:, 0], p[:, 1])
            eps = torch.einsum("bny,byz,bmz->bnm", p, beams, p)
            odd = eps[rows, self.odd_left[actions], self.odd_right[actions]]
            out.append(torch.asinh(odd / self.cfg.momentum_scale**4))
        return torch.cat(out, dim=2)

    def scores(self, momenta: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """g of the arrangements reached by ``actions`` (B, K): (B, K)."""
        f = self.features(momenta, actions)
        return (self.mlp(f) + self.linear(f)).squeeze(2)

    def forward(self, momenta: torch.Tensor) -> torch.Tensor:
        every = torch.arange(self.n_actions, device=momenta.device).expand(len(momenta), -1)
        g = self.scores(momenta, every)
        return g - g[:, :1]

    def q_taken(self, momenta: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(s, a) for one action per row (B,): two arrangements scored instead of d_A."""
        g = self.scores(momenta, torch.stack([torch.zeros_like(actions), actions], dim=1))
        return g[:, 1] - g[:, 0]
