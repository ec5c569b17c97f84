"""``ReplayShard``: one Ray actor holding the learning core's :class:`RewardBinnedReplay` (four preallocated
reward-bin rings) unchanged. Rollout workers add transition chunks; the learner samples ``batch_size / M`` rows
from each of the M shards, so a batch is even across bins (inside each shard) and across shards.

A shard keeps no state on disk: a killed shard is restarted by Ray empty, with a new ``incarnation``; the driver
sees the change in :meth:`stats`, logs and counts the transitions lost, and the workers refill it.
"""

from __future__ import annotations

import uuid

from tinn_dist.rl.builder import build_replay
from tinn_dist.rl.config import TrainConfig
from tinn_dist.rl.transitions import Transitions

__all__ = ["ReplayShard"]


class ReplayShard:
    def __init__(self, cfg: TrainConfig, index: int) -> None:
        self.index = index
        self.replay = build_replay(cfg, seed=cfg.seed + 1000 + index)
        self.incarnation = uuid.uuid4().hex

    def add(self, chunk: Transitions) -> int:
        self.replay.add(chunk)
        return len(chunk)

    def sample(self, batch_size: int) -> Transitions | None:
        """``batch_size`` rows even across the non-empty bins, or None while the shard is empty."""
        if len(self.replay) == 0:
            return None
        return self.replay.sample(batch_size)

    def stats(self) -> dict:
        return {"index": self.index, "incarnation": self.incarnation, "sizes": self.replay.sizes(),
                "size": len(self.replay), "added": self.replay.added}
