"""The paper's transformer Q-network: Q(s, ·) for every action from the momenta in slot order."""

from __future__ import annotations

import torch
from torch import nn

from tinn_dist.rl.config import QNetConfig

__all__ = ["QNetwork"]


class QNetwork(nn.Module):
    """Linear embedding of each slot's four-momentum (scaled by 1/momentum_scale) plus a learned slot-ID
    embedding, summed; a transformer encoder (d_model, n_layers, n_heads, ff_dim, dropout); sum over slots;
    ``mlp_layers`` dense layers of ``hidden`` with ReLU, then d_A outputs (paper: 128-128-d_A). Input (B, N, 4) in GeV, output (B, d_A)."""

    def __init__(self, cfg: QNetConfig, n_slots: int, n_actions: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_slots = n_slots
        self.n_actions = n_actions
        self.momentum_embed = nn.Linear(4, cfg.d_model)
        self.slot_embed = nn.Embedding(n_slots, cfg.d_model)
        layer = nn.TransformerEncoderLayer(
            cfg.d_model,
            cfg.n_heads,
            dim_feedforward=cfg.ff_dim,
            dropout=cfg.dropout,
            batch_first=True,
            norm_first=cfg.norm_first,
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        head: list[nn.Module] = []
        width = cfg.d_model
        for _ in range(cfg.mlp_layers):
            head += [nn.Linear(width, cfg.hidden), nn.ReLU()]
            width = cfg.hidden
        self.head = nn.Sequential(*head, nn.Linear(width, n_actions))
        self.register_buffer("slot_ids", torch.arange(n_slots), persistent=False)

    def forward(self, momenta: torch.Tensor) -> torch.Tensor:
        x = self.momentum_embed(momenta / self.cfg.momentum_scale) + self.slot_embed(self.slot_ids)
        return self.head(self.encoder(x).sum(dim=1))

    def q_taken(self, momenta: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(s, a) for one action per row (B,)."""
        return self(momenta).gather(1, actions[:, None]).squeeze(1)
