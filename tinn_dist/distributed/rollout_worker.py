"""``RolloutWorker``: one Ray actor that plays lockstep batches of episodes and feeds the replay shards.

It builds its matrix element inside the actor (MadGraph's ``matrix2py`` modules cannot be pickled) through the
learning core's builder, holds a CPU copy of the Q-network in the core's :class:`EpisodeRunner`, takes ε from
the core's :class:`EpsilonSchedule` by global episode number, and loads new weights through a
:class:`VariableClient` (never more than ``max_weight_lag`` versions behind). :class:`ShardRouter` (the "adder")
decides which shard gets which rows.
"""

from __future__ import annotations

import numpy as np
import ray
import torch
from ray.exceptions import RayActorError

from tinn_dist.analysis.evaluate import evaluate_policy
from tinn_dist.distributed.variables import VariableClient, WeightVersion
from tinn_dist.errors import TinnError
from tinn_dist.rl.builder import build_env, build_runner
from tinn_dist.rl.config import TrainConfig
from tinn_dist.rl.env import AssignmentEnv
from tinn_dist.rl.replay import N_BINS, reward_bin
from tinn_dist.rl.schedule import EpsilonSchedule
from tinn_dist.rl.transitions import Transitions

__all__ = ["RolloutWorker", "ShardRouter"]


class ShardRouter:
    """Splits a chunk over M shards so that every shard gets an equal share of every reward bin.

    Rows of bin k go round-robin to the shards, continuing where the previous chunk stopped, so even the rare
    r > 10 transitions spread over all shards and a batch of batch_size/M rows per shard stays even across bins.
    """

    def __init__(self, n_shards: int, start: int = 0) -> None:
        self.n_shards = n_shards
        self.next_shard = np.full(N_BINS, start % n_shards, dtype=np.int64)

    def split(self, chunk: Transitions) -> list[Transitions]:
        bins = reward_bin(chunk.reward)
        shard = np.empty(len(chunk), dtype=np.int64)
        for k in range(N_BINS):
            rows = np.flatnonzero(bins == k)
            shard[rows] = (self.next_shard[k] + np.arange(len(rows))) % self.n_shards
            self.next_shard[k] = (self.next_shard[k] + len(rows)) % self.n_shards
        return [chunk.select(np.flatnonzero(shard == s)) for s in range(self.n_shards)]


class RolloutWorker:
    """Ray actor body. ``events`` holds the training momenta and the evaluation (held-out) momenta and truth."""

    def __init__(self, cfg: TrainConfig, events: dict[str, np.ndarray], index: int, shards: list,
                 max_weight_lag: int, num_cpus: float = 1.0) -> None:
        torch.set_num_threads(max(1, int(num_cpus)))
        self.index = index
        self.cfg = cfg
        self.shards = shards
        self.error: str | None = None
        try:
            self.env = build_env(cfg, events["train_momenta"])
        except TinnError as exc:  # e.g. a MadGraph directory missing on this node: reported by ready()
            self.error = f"rollout worker {index} on node {ray.util.get_node_ip_address()}: {exc}"
            return
        torch.manual_seed(cfg.seed + 7919 * (index + 1))
        self.runner = build_runner(cfg, self.env, seed=cfg.seed + 1 + 7919 * (index + 1))
        self.schedule = EpsilonSchedule(cfg.exploration)
        self.weights = VariableClient(self.runner.set_weights, max_weight_lag)
        self.router = ShardRouter(len(shards), start=index)
        self.holdout = AssignmentEnv(self.env.me, events["holdout_momenta"])
        self.holdout_truth = events["holdout_true_perm"]

    def set_shards(self, shards: list) -> None:
        """A shard was re-created by the driver: push to the new handles from now on."""
        self.shards = shards

    def ready(self) -> str | None:
        """None when the worker is usable, else the one-line reason it is not."""
        return self.error

    def collect(self, jobs: list[tuple[int, np.ndarray]], version: WeightVersion | None) -> dict:
        """Play each job (first global episode number, event indices) as one lockstep batch; push to replay."""
        lag = self.weights.offer(version)
        me0, steps0 = self.env.me_evals, self.env.env_steps
        gains, greedy_gains, episodes = [], [], 0
        added = np.zeros(len(self.shards), dtype=np.int64)
        lost = np.zeros(len(self.shards), dtype=np.int64)
        for first_episode, event_idx in jobs:
            epsilon = self.schedule.epsilon(first_episode + np.arange(len(event_idx)))
            chunk, final = self.runner.run(event_idx, epsilon)
            gain = np.log(final.m / final.m_start)
            gains.append(gain)
            greedy_gains.append(gain[epsilon == 0])
            episodes += len(event_idx)
            parts = self.router.split(chunk)
            pending = {s: self.shards[s].add.remote(p) for s, p in enumerate(parts) if len(p)}
            for s, ref in pending.items():
                try:
                    added[s] += ray.get(ref)
                except RayActorError:  # the shard died under us: these rows are lost (counted, logged by driver)
                    lost[s] += len(parts[s])
        gains_all = np.concatenate(gains)
        greedy_all = np.concatenate(greedy_gains)
        return {
            "worker": self.index,
            "episodes": episodes,
            "env_steps": self.env.env_steps - steps0,
            "me_evals": self.env.me_evals - me0,
            "added": added.tolist(),
            "lost": lost.tolist(),
            "gain_sum": float(gains_all.sum()),
            "greedy_gain_sum": float(greedy_all.sum()),
            "greedy_episodes": len(greedy_all),
            "weights_seq": self.weights.seq,
            "weight_lag": lag,
        }

    def evaluate(self, version: WeightVersion) -> dict:
        """The greedy policy with weights ``version`` on the held-out events, scored by the evaluation module
        (ME-optimality, truth match, mean log(m_final / m_true), ...)."""
        self.weights.load(version)
        metrics, _ = evaluate_policy(self.holdout, self.runner.qnet, self.holdout_truth, baselines=())
        return {**metrics, "weights_updates": self.weights.updates}
