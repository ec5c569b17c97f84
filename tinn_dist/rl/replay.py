"""Reward-binned replay (the paper's four buffers): r < -10, -10 <= r <= 0, 0 < r <= 10, r > 10.

Large |rewards| are rare (most swaps of a good assignment make m a little worse), so uniform replay would almost
never show the network the swaps that matter; sampling the four bins evenly does. Each bin is a preallocated
numpy ring buffer (oldest rows overwritten first). Plain numpy and no Ray, so a Ray ``ReplayShard`` actor wraps
this class unchanged.

Sampling rule: ``batch_size`` is split evenly over the bins that are NOT empty (the remainder goes to randomly
chosen non-empty bins, one row each); rows are drawn uniformly with replacement inside each bin. So before any
r > 10 transition exists the other three bins share the batch, and a batch is never short.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from tinn_dist.errors import TinnError
from tinn_dist.rl.transitions import Transitions

__all__ = ["BIN_EDGES", "N_BINS", "RewardBinnedReplay", "reward_bin"]

BIN_EDGES = (-10.0, 0.0, 10.0)  # right-closed bins: (-inf,-10), [-10,0], (0,10], (10,inf)
N_BINS = 4


def reward_bin(rewards: np.ndarray) -> np.ndarray:
    """Bin index 0..3 of each reward: 0: r < -10, 1: -10 <= r <= 0, 2: 0 < r <= 10, 3: r > 10."""
    r = np.asarray(rewards)
    return (r >= -10.0).astype(np.int64) + (r > 0.0) + (r > 10.0)


class _Ring:
    """One preallocated ring buffer of transitions."""

    def __init__(self, capacity: int, n_slots: int, n_actions: int) -> None:
        self.capacity = capacity
        self.data = Transitions(
            obs=np.zeros((capacity, n_slots, 4), np.float32),
            action=np.zeros(capacity, np.int64),
            reward=np.zeros(capacity, np.float32),
            next_obs=np.zeros((capacity, n_slots, 4), np.float32),
            next_mask=np.zeros((capacity, n_actions), bool),
            done=np.zeros(capacity, bool),
        )
        self.size = 0
        self.head = 0  # next row to write

    def add(self, chunk: Transitions) -> None:
        n = len(chunk)
        if n > self.capacity:  # only the newest `capacity` rows would survive anyway
            chunk = chunk.select(np.arange(n - self.capacity, n))
            n = self.capacity
        rows = (self.head + np.arange(n)) % self.capacity
        for f in fields(Transitions):
            getattr(self.data, f.name)[rows] = getattr(chunk, f.name)
        self.head = (self.head + n) % self.capacity
        self.size = min(self.size + n, self.capacity)


class RewardBinnedReplay:
    """Four reward bins, each a ring of ``capacity_per_bin`` transitions of an N-slot, d_A-action process."""

    def __init__(self, capacity_per_bin: int, n_slots: int, n_actions: int, seed: int = 0) -> None:
        if capacity_per_bin < 1:
            raise TinnError(f"replay capacity_per_bin must be >= 1, got {capacity_per_bin}")
        self.n_slots = n_slots
        self.n_actions = n_actions
        self.bins = [_Ring(capacity_per_bin, n_slots, n_actions) for _ in range(N_BINS)]
        self.rng = np.random.default_rng(seed)
        self.added = 0  # transitions ever added

    def __len__(self) -> int:
        return sum(b.size for b in self.bins)

    def sizes(self) -> list[int]:
        return [b.size for b in self.bins]

    def add(self, chunk: Transitions) -> None:
        """Route every row of ``chunk`` to its reward bin."""
        if chunk.obs.shape[1:] != (self.n_slots, 4) or chunk.next_mask.shape[1:] != (self.n_actions,):
            raise TinnError(
                f"transition chunk shaped obs {chunk.obs.shape[1:]}, mask {chunk.next_mask.shape[1:]}; this "
                f"replay holds ({self.n_slots}, 4) and ({self.n_actions},)"
            )
        if not np.isfinite(chunk.reward).all():
            raise TinnError("transition chunk has a non-finite reward; refusing to store it")
        bins = reward_bin(chunk.reward)
        for k in range(N_BINS):
            idx = np.flatnonzero(bins == k)
            if len(idx):
                self.bins[k].add(chunk.select(idx))
        self.added += len(chunk)

    def sample(self, batch_size: int) -> Transitions:
        """``batch_size`` transitions, even across the non-empty bins (module docstring)."""
        full = [k for k in range(N_BINS) if self.bins[k].size > 0]
        if not full:
            raise TinnError("cannot sample from an empty replay buffer")
        counts = np.full(len(full), batch_size // len(full))
        counts[self.rng.choice(len(full), batch_size % len(full), replace=False)] += 1
        parts = []
        for k, c in zip(full, counts):
            if c:
                ring = self.bins[k]
                parts.append(ring.data.select(self.rng.integers(ring.size, size=c)))
        return Transitions.concat(parts)

    def stats(self) -> dict[str, int]:
        out = {f"bin{k}_size": b.size for k, b in enumerate(self.bins)}
        out["size"] = len(self)
        out["added"] = self.added
        return out

    def get_rng_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_rng_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
