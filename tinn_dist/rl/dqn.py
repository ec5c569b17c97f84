"""The DQN update: Bellman MSE on a sampled batch, with illegal actions masked in the next-state max.

y = r + γ (1 - done) max_{a' legal in s'} Q_target(s', a')            (paper / Mnih et al. 2015)
y = r + γ (1 - done) Q_target(s', argmax_{a' legal} Q_policy(s', a'))  (double DQN, van Hasselt et al. 2016)
loss = mean (Q_policy(s, a) - y)^2       (or the Huber loss, a switch: rewards here reach |r| ~ 30)

``reward_scale`` (a switch; paper: 1) multiplies r in y, so Q learns scale x return and the greedy policy is
unchanged. Adam moves each weight by about lr per step whatever the gradient's size, so outputs of order |r| ~ 20
take hundreds of steps to reach; scaled to order 1 they are reached early.

Illegal actions get Q = -1e9 (not -inf: -inf · 0 and -inf - -inf are NaN) both here and in action choice
(:mod:`tinn_dist.rl.actor`). Double DQN is a switch: it removes the max's upward bias, which matters here because
most swaps of a near-right assignment have large negative rewards and the max picks the noisiest positive one.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from tinn_dist.rl.config import DQNConfig
from tinn_dist.rl.transitions import Transitions

__all__ = ["MASK_VALUE", "DQNLearner", "dqn_loss", "masked_q"]

MASK_VALUE = -1e9


def masked_q(q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Q-values with illegal actions (mask False) set to :data:`MASK_VALUE`."""
    return torch.where(mask, q, torch.full_like(q, MASK_VALUE))


def dqn_loss(
    policy: nn.Module,
    target: nn.Module,
    batch: dict[str, torch.Tensor],
    gamma: float,
    double: bool,
    loss: str = "mse",
    reward_scale: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Bellman MSE of ``policy`` against ``target`` on one batch (columns as in :class:`Transitions`)."""
    q = policy.q_taken(batch["obs"], batch["action"])
    with torch.no_grad():
        # A final transition's target is its reward alone: only the other rows' next states are evaluated.
        live = torch.nonzero(~batch["done"]).squeeze(1)
        next_obs, next_mask = batch["next_obs"][live], batch["next_mask"][live]
        if double:
            next_action = masked_q(policy(next_obs), next_mask).argmax(dim=1)
            live_value = target.q_taken(next_obs, next_action)
        else:
            live_value = masked_q(target(next_obs), next_mask).max(dim=1).values
        next_value = torch.zeros_like(q).index_copy(0, live, live_value.to(q.dtype))
        y = reward_scale * batch["reward"].to(q.dtype) + gamma * next_value
    value = F.mse_loss(q, y) if loss == "mse" else F.smooth_l1_loss(q, y)
    return value, {
        "loss": float(value.detach()),
        "q_mean": float(q.detach().mean()),
        "target_mean": float(y.mean()),
    }


class DQNLearner:
    """Policy and target nets, Adam, and the weight version (incremented by every update).

    Plain torch, no Ray: the local trainer calls it directly, a Ray learner actor wraps it.
    """

    def __init__(self, policy: nn.Module, dqn_cfg: DQNConfig, device: str = "cpu") -> None:
        self.cfg = dqn_cfg
        self.device = torch.device(device)
        self.policy = policy.to(self.device)
        self.target = copy.deepcopy(self.policy).eval()
        self.target.requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=dqn_cfg.lr)
        self.version = 0  # weight version: number of updates applied
        self.target_syncs = 0

    def update(self, batch: Transitions) -> dict[str, float]:
        """One gradient step on ``batch``; returns loss and Q statistics."""
        self.policy.train()
        loss, info = dqn_loss(
            self.policy,
            self.target,
            batch.to_torch(self.device),
            self.cfg.gamma,
            self.cfg.double,
            self.cfg.loss,
            self.cfg.reward_scale,
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.cfg.grad_clip_norm)
        self.optimizer.step()
        self.version += 1
        return info

    def sync_target(self) -> None:
        self.target.load_state_dict(self.policy.state_dict())
        self.target_syncs += 1

    def get_weights(self) -> tuple[int, dict[str, torch.Tensor]]:
        """(version, policy state dict on CPU) — what rollout workers load."""
        return self.version, {k: v.detach().to("cpu", copy=True) for k, v in self.policy.state_dict().items()}

    def state_dict(self) -> dict:
        return {
            "policy": self.policy.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "version": self.version,
            "target_syncs": self.target_syncs,
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.version = int(state["version"])
        self.target_syncs = int(state["target_syncs"])
