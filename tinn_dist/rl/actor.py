"""The policy side: ε-greedy action choice with the legal-action mask, and rollouts of a lockstep batch of
episodes into columnar transition chunks. Plain torch/numpy; a Ray rollout worker wraps :class:`EpisodeRunner`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from torch import nn

from tinn_dist.rl.dqn import masked_q
from tinn_dist.rl.env import AssignmentEnv, EpisodeBatch
from tinn_dist.rl.transitions import Transitions

__all__ = ["EpisodeRunner", "select_actions"]


def select_actions(
    q: Callable[[np.ndarray], torch.Tensor], mask: np.ndarray, epsilon: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Per row: with probability epsilon[b] a uniformly random legal action, else the legal argmax of Q.

    ``q(rows)`` returns the Q-values (len(rows), d_A) of the listed rows; it is asked only for the greedy rows,
    so exploring episodes cost no network forward.
    """
    # Random legal action: the argmax of uniform noise over the legal entries (illegal ones get -1).
    actions = np.where(mask, rng.random(mask.shape), -1.0).argmax(axis=1).astype(np.int64)
    greedy = np.flatnonzero(rng.random(len(mask)) >= epsilon)
    if len(greedy):
        actions[greedy] = masked_q(q(greedy), torch.from_numpy(mask[greedy])).argmax(dim=1).numpy()
    return actions


class EpisodeRunner:
    """Holds an environment and a CPU copy of the Q-network; runs batches of episodes to completion.

    ``me_call_per_rollout``: the policy never sees |M|^2, so the whole rollout is played first and every
    arrangement it visited is evaluated in one batched call (``AssignmentEnv.settle``); False evaluates after
    every step, as the paper's loop does (one call per step). Rewards are the same either way.
    """

    def __init__(
        self, env: AssignmentEnv, qnet: nn.Module, seed: int = 0, me_call_per_rollout: bool = True
    ) -> None:
        self.env = env
        self.qnet = qnet.eval()
        self.me_call_per_rollout = me_call_per_rollout
        self.rng = np.random.default_rng(seed)
        self.weights_version = -1

    def set_weights(self, state_dict: dict[str, torch.Tensor], version: int) -> None:
        self.qnet.load_state_dict(state_dict)
        self.weights_version = int(version)

    @torch.no_grad()
    def q_rows(self, obs: np.ndarray, rows: np.ndarray) -> torch.Tensor:
        """Q-values of the listed rows of a batch of observations."""
        return self.qnet(torch.from_numpy(obs[rows]))

    def run(self, event_idx: np.ndarray, epsilon: np.ndarray) -> tuple[Transitions, EpisodeBatch]:
        """Play T = N - 3 lockstep steps for the events ``event_idx`` with per-episode ``epsilon`` (0: greedy).

        Returns the transitions (step-major: all episodes' step 0, then step 1, ...) and the final batch state
        (``perm``, ``m``, ``m_start`` give each episode's assignment and gain log(m / m_start)).
        """
        batch = self.env.reset(event_idx, evaluate=not self.me_call_per_rollout)
        obs, mask = self.env.obs(batch), self.env.legal_mask(batch)
        steps, moves, step_rewards = [], [], []
        while batch.t < self.env.n_steps:
            actions = select_actions(partial(self.q_rows, obs), mask, epsilon, self.rng)
            if self.me_call_per_rollout:
                swapped = self.env.move(batch, actions)
                moves.append((swapped, batch.perm[swapped]))
            else:
                step_rewards.append(self.env.step(batch, actions)[0])
            next_obs, next_mask = self.env.obs(batch), self.env.legal_mask(batch)
            steps.append((obs, actions, next_obs, next_mask))
            obs, mask = next_obs, next_mask
        rewards = (
            self.env.settle(batch, moves) if self.me_call_per_rollout else np.stack(step_rewards)
        ).astype(np.float32)
        last = len(steps) - 1
        chunks = [
            Transitions(o, a, r, next_o, next_m, np.full(len(batch), t == last))
            for t, ((o, a, next_o, next_m), r) in enumerate(zip(steps, rewards))
        ]
        return Transitions.concat(chunks), batch

    def greedy(self, event_idx: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Greedy assignment of many events, ``chunk`` at a time: (perm (E, N), m_final (E,), m_start (E,))."""
        perms, m, m0 = [], [], []
        for start in range(0, len(event_idx), chunk):
            idx = np.asarray(event_idx[start : start + chunk])
            _, batch = self.run(idx, np.zeros(len(idx)))
            perms.append(batch.perm)
            m.append(batch.m)
            m0.append(batch.m_start)
        return np.concatenate(perms), np.concatenate(m), np.concatenate(m0)
