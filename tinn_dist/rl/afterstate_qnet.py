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
these inputs cannot see: they are why the tt charge mirror differs by only ~0.06 %, see
:mod:`tinn_dist.analysis.evaluate`): for each slot pair i < j, log(2 p_i·p_j); for each final slot,
log(1 + |p²|/GeV²) (a b quark, mass 4.7 GeV, in a light-quark slot is visible); with ``resonance_features``, for
each s-channel resonance of the process's decay tree, its Breit–Wigner denominator
log[((p_S² - M²)² + M²Γ²) / M⁴] with p_S the summed momenta of the resonance's slots and M, Γ from the param card
— the propagators that dominate |M|² near the assignment, given to the network instead of learned — and
log(2 p_S·p_k) for k its daughters' slots and the two incoming slots (decay-angle and spin correlations). A linear
path beside the MLP carries the part of log |M|² that is linear in these logs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tinn_dist.rl.config import QNetConfig
from tinn_dist.rl.env import swap_pairs

__all__ = ["AfterstateQNetwork", "ResonanceShape"]

ResonanceShape = tuple[tuple[int, ...], float, float]  # (slots, mass GeV, width GeV)
_METRIC = (1.0, -1.0, -1.0, -1.0)


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
        # arrangements[a, s]: the stored momentum that slot s holds in arrangement a
        self.register_buffer("arrangement", torch.from_numpy(arrangements), persistent=False)
        self.afterstate_inputs = _Inputs(cfg, arrangements, resonances)  # every afterstate, from one table
        self.state_inputs = _Inputs(cfg, arrangements[:1], resonances)  # the state as its slots hold it
        n_features = self.state_inputs.n_features
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
        rows = torch.arange(len(momenta), device=momenta.device)[:, None, None]
        arranged = momenta[rows, self.arrangement[actions]]  # (B, K, N, 4)
        inputs = self.state_inputs(arranged.flatten(0, 1), self.linear.weight.dtype)
        return inputs.view(*actions.shape, -1)

    def g(self, features: torch.Tensor) -> torch.Tensor:
        """The learned score of each arrangement from its (..., F) inputs: (...)."""
        return (self.mlp(features) + self.linear(features)).squeeze(-1)

    def scores(self, momenta: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """g of the arrangements reached by ``actions`` (B, K): (B, K)."""
        return self.g(self.features(momenta, actions))

    def forward(self, momenta: torch.Tensor) -> torch.Tensor:
        g = self.g(self.afterstate_inputs(momenta, self.linear.weight.dtype))  # (B, d_A)
        return g - g[:, :1]

    def q_taken(self, momenta: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(s, a) for one action per row (B,): two arrangements scored instead of d_A."""
        g = self.scores(momenta, torch.stack([torch.zeros_like(actions), actions], dim=1))
        return g[:, 1] - g[:, 0]


class _Inputs(nn.Module):
    """The network's inputs of a fixed list of arrangements (A, N) of each state's momenta: (B, A, F).

    Every input of every arrangement is one entry of a per-state table of invariants of the *stored* momenta, so
    the table is computed once per state (in float64 unless the network was cast) and read A times. Table: log(2
    p_n·p_m / scale²) for every stored pair (n, m), N² entries; log(1 + |p_n²|), N; per distinct (resonance, set of
    stored momenta its slots hold in some arrangement) — a "slot set" u, of momentum sum P_u — its Breit-Wigner
    term, U; per distinct (u, stored momentum k) that a decay-angle input pairs, log(2 P_u·p_k), V.
    ``columns[a]`` lists arrangement a's inputs in the network's input order: slot pairs i < j, final-slot
    masses, Breit-Wigner per resonance, decay-angle pairs (resonance r with slots 0, 1 and r's slots).
    """

    def __init__(
        self, cfg: QNetConfig, arrangements: np.ndarray, resonances: tuple[ResonanceShape, ...]
    ) -> None:
        super().__init__()
        self.cfg = cfg
        n_arr, n = arrangements.shape
        self.n_slots = n
        sets: dict[tuple[int, frozenset[int]], int] = {}
        partners: dict[tuple[int, int], int] = {}
        set_columns = np.zeros((n_arr, len(resonances)), dtype=np.int64)
        partner_columns = []
        for a, arr in enumerate(arrangements):
            row = []
            for r, (slots, _, _) in enumerate(resonances):
                u = sets.setdefault((r, frozenset(arr[list(slots)].tolist())), len(sets))
                set_columns[a, r] = u
                row += [partners.setdefault((u, int(arr[k])), len(partners)) for k in (0, 1, *slots)]
            partner_columns.append(row)
        members = np.zeros((len(sets), n))
        for (_, stored), u in sets.items():
            members[u, list(stored)] = 1.0
        i, j = np.triu_indices(n, k=1)
        offset = n * n + n
        blocks = [
            arrangements[:, i] * n + arrangements[:, j],
            n * n + arrangements[:, 2:],
            offset + set_columns,
            offset + len(sets) + np.array(partner_columns, dtype=np.int64),
        ]
        columns = np.concatenate(blocks, axis=1)
        self.n_arrangements, self.n_features = columns.shape
        self.register_buffer("columns", torch.from_numpy(columns.ravel()), persistent=False)
        self.register_buffer("metric", torch.tensor(_METRIC, dtype=torch.float64), persistent=False)
        self.register_buffer("set_members", torch.from_numpy(members), persistent=False)
        shapes = [resonances[r][1:] for r, _ in sets]
        self.register_buffer(
            "set_mass", torch.tensor([m for m, _ in shapes], dtype=torch.float64), persistent=False
        )
        self.register_buffer(
            "set_width", torch.tensor([w for _, w in shapes], dtype=torch.float64), persistent=False
        )
        # log(2 P_u·p_k) is read from the (N, U) matrix of p_k · P_u at row k, column u
        partner_column = [k * len(sets) + u for u, k in partners]
        self.register_buffer(
            "partner_column", torch.tensor(partner_column, dtype=torch.int64), persistent=False
        )

    def table(self, momenta: torch.Tensor) -> torch.Tensor:
        """(B, X) the invariants of each row's stored momenta (class docstring)."""
        p = momenta.to(self.metric.dtype)
        scale2 = self.cfg.momentum_scale**2
        dots = torch.bmm(p * self.metric, p.transpose(1, 2))  # p_n · p_m, GeV²
        table = [
            torch.log(torch.clamp(2.0 * dots.flatten(1) / scale2, min=1e-8)),
            torch.log1p(torch.diagonal(dots, dim1=1, dim2=2).abs()),
        ]
        if self.set_mass.numel():
            # set_dots[b, n, u] = p_n · P_u (dots is symmetric: one matmul for every row)
            set_dots = dots.reshape(-1, self.n_slots) @ self.set_members.T
            set_dots = set_dots.view(len(p), self.n_slots, len(self.set_mass))
            s = (set_dots * self.set_members.T).sum(1)  # P_u²
            m2, mw = self.set_mass**2, self.set_mass * self.set_width
            table.append(torch.log(((s - m2) ** 2 + mw**2) / m2**2))
            partner = set_dots.flatten(1).index_select(1, self.partner_column)
            table.append(torch.log(torch.clamp(2.0 * partner / scale2, min=1e-8)))
        return torch.cat(table, dim=1)

    def forward(self, momenta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(B, A, F) inputs of every arrangement of each row's momenta (B, N, 4), in ``dtype``."""
        table = self.table(momenta).to(dtype)
        return table.index_select(1, self.columns).view(len(table), self.n_arrangements, self.n_features)
