"""The paper's exploration schedule, per episode number (0-based, counted over the whole run).

ε(k) = max(epsilon_min, epsilon_start · epsilon_decay^k); random actions are taken (with probability ε) only in
every ``explore_every``-th episode (k % explore_every == 0), the others act greedily, so half the data always
shows what the current policy does. Episodes of one lockstep batch have consecutive numbers, so a batch mixes
exploring and greedy episodes exactly as a one-at-a-time run would.
"""

from __future__ import annotations

import numpy as np

from tinn_dist.rl.config import ExplorationConfig

__all__ = ["EpsilonSchedule"]


class EpsilonSchedule:
    def __init__(self, cfg: ExplorationConfig) -> None:
        self.cfg = cfg

    def base_epsilon(self, episode: np.ndarray | int) -> np.ndarray:
        """ε(k) of the exploring episodes."""
        k = np.asarray(episode, dtype=np.float64)
        return np.maximum(self.cfg.epsilon_min, self.cfg.epsilon_start * self.cfg.epsilon_decay**k)

    def epsilon(self, episode: np.ndarray | int) -> np.ndarray:
        """The probability of a random action in each episode: ε(k) when it explores, else 0."""
        k = np.asarray(episode, dtype=np.int64)
        return np.where(k % self.cfg.explore_every == 0, self.base_epsilon(k), 0.0)
