"""``Learner``: one Ray actor (on a GPU when it has one) running the learning core's :class:`DQNLearner`.

It keeps ``prefetch_batches`` batch requests in flight to the replay shards — each request asks every shard for
its share of ``batch_size`` rows, so a batch is even across shards, and each shard's sample is even across its
reward bins — and collects them with ``ray.wait``. A shard that is dead or (after a restart) still empty leaves a
gap that the other shards fill, so the learner never stops on one shard. After each call it publishes the new
weights once (:class:`WeightPublisher`).
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import ray
import torch
from ray.exceptions import RayActorError

from tinn_dist.distributed.variables import WeightPublisher, WeightVersion
from tinn_dist.errors import TinnError
from tinn_dist.physics.runtime import heap_for_temporaries
from tinn_dist.rl.builder import build_learner
from tinn_dist.rl.config import TrainConfig
from tinn_dist.rl.transitions import Transitions

__all__ = ["Learner", "shard_shares"]

SHARD_WAIT_S = 60.0  # a batch that no shard can serve for this long is an error, not a hang


def shard_shares(batch_size: int, n_shards: int, offset: int) -> list[int]:
    """Rows asked of each shard: batch_size split evenly, the remainder rotating with ``offset``."""
    shares = [batch_size // n_shards] * n_shards
    for k in range(batch_size % n_shards):
        shares[(offset + k) % n_shards] += 1
    return shares


def _to_cpu(obj: object) -> object:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


class Learner:
    def __init__(self, cfg: TrainConfig, shards: list, device: str, prefetch_batches: int,
                 num_cpus: float = 1.0) -> None:
        torch.set_num_threads(max(1, int(num_cpus)))
        torch.manual_seed(cfg.seed)
        if torch.device(device).type == "cpu":
            # No matrix element runs here to set it: the MLP's activations (MiBs) are page-faulted in afresh on
            # every call above glibc's mmap threshold; from the heap the update is ~1.5x faster (tttt).
            heap_for_temporaries()
        self.cfg = cfg
        self.shards = shards
        self.device = device
        self.learner = build_learner(cfg, device)
        self.publisher = WeightPublisher()
        self.prefetch_batches = prefetch_batches
        self._inflight: deque[list[tuple[int, int, ray.ObjectRef]]] = deque()
        self._requests = 0

    def device_name(self) -> str:
        return str(self.learner.device)

    # -- batches ---------------------------------------------------------------------------------------------
    def _request(self) -> list[tuple[int, int, ray.ObjectRef]]:
        shares = shard_shares(self.cfg.dqn.batch_size, len(self.shards), self._requests)
        self._requests += 1
        return [(s, n, self.shards[s].sample.remote(n)) for s, n in enumerate(shares) if n]

    def _fill(self) -> None:
        while len(self._inflight) < self.prefetch_batches:
            self._inflight.append(self._request())

    def _next_batch(self) -> Transitions:
        self._fill()
        parts = self._inflight.popleft()
        self._fill()
        got: list[Transitions] = []
        missing = 0
        healthy: list[int] = []
        ray.wait([ref for _, _, ref in parts], num_returns=len(parts), timeout=SHARD_WAIT_S)
        for s, n, ref in parts:
            try:
                part = ray.get(ref, timeout=SHARD_WAIT_S)
            except (RayActorError, ray.exceptions.GetTimeoutError):
                part = None
            if part is None:
                missing += n
            else:
                got.append(part)
                healthy.append(s)
        deadline = time.monotonic() + SHARD_WAIT_S
        while missing:
            candidates = healthy or list(range(len(self.shards)))
            s = candidates[missing % len(candidates)]
            try:
                part = ray.get(self.shards[s].sample.remote(missing), timeout=SHARD_WAIT_S)
            except (RayActorError, ray.exceptions.GetTimeoutError):
                part = None
            if part is not None:
                got.append(part)
                missing = 0
            elif time.monotonic() > deadline:
                raise TinnError(f"no replay shard could serve {missing} transitions for {SHARD_WAIT_S:.0f} s")
            else:
                healthy = [h for h in healthy if h != s]
                time.sleep(0.05)
        return Transitions.concat(got) if len(got) > 1 else got[0]

    # -- training ----------------------------------------------------------------------------------------------
    def train(self, n_updates: int) -> dict:
        """``n_updates`` DQN updates on prefetched batches, then one weight publication."""
        losses, q_means = [], []
        for _ in range(n_updates):
            info = self.learner.update(self._next_batch())
            losses.append(info["loss"])
            q_means.append(info["q_mean"])
        return {
            "updates": n_updates,
            "samples": n_updates * self.cfg.dqn.batch_size,
            "loss": float(np.mean(losses)) if losses else float("nan"),
            "q_mean": float(np.mean(q_means)) if q_means else float("nan"),
            "version": self.publish(),
        }

    def publish(self) -> WeightVersion:
        version, weights = self.learner.get_weights()
        return self.publisher.publish(version, weights)

    def sync_target(self) -> int:
        self.learner.sync_target()
        return self.learner.target_syncs

    def state(self) -> dict:
        """Nets, optimizer and counters, on the CPU (the driver may have no GPU)."""
        return _to_cpu(self.learner.state_dict())

    def set_shards(self, shards: list) -> None:
        """A shard was re-created by the driver: drop requests to the old handles."""
        self.shards = shards
        self._inflight.clear()

    def load(self, state: dict) -> WeightVersion:
        self.learner.load_state_dict(state)
        return self.publish()
