"""Versioned weight broadcast: the learner ``ray.put``s each new policy once; workers pull it by version.

A published version is a :class:`WeightVersion`: its sequence number (``seq``: 0, 1, 2, ... one per publication),
the learner's update count, and the ObjectRef of the weights (numpy arrays, so workers read them zero-copy from
the object store). The driver hands the newest one to every rollout call; a worker's :class:`VariableClient`
loads it when it is already local (``ray.wait(timeout=0)``) and otherwise keeps acting with what it has — unless
it would then be more than ``max_lag`` publications behind, in which case it waits for the fetch. So workers
never stall on a broadcast, and their lag is bounded and reported (``tinn_weight_lag``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import ray
import torch

__all__ = ["VariableClient", "WeightPublisher", "WeightVersion"]


@dataclass(frozen=True, slots=True)
class WeightVersion:
    seq: int  # publication number
    updates: int  # learner updates the weights include
    refs: tuple[ray.ObjectRef, ...]  # one ObjectRef (in a tuple, so Ray passes it through unresolved)

    @property
    def ref(self) -> ray.ObjectRef:
        return self.refs[0]


class WeightPublisher:
    """Learner side: one ``ray.put`` per new version."""

    def __init__(self) -> None:
        self.latest: WeightVersion | None = None

    def publish(self, updates: int, state_dict: dict[str, torch.Tensor]) -> WeightVersion:
        if self.latest is not None and self.latest.updates == updates:
            return self.latest
        arrays = {k: v.detach().cpu().numpy() for k, v in state_dict.items()}
        seq = 0 if self.latest is None else self.latest.seq + 1
        self.latest = WeightVersion(seq, updates, (ray.put(arrays),))
        return self.latest


class VariableClient:
    """Worker side: holds the version its policy uses and loads newer ones without blocking when it can."""

    def __init__(self, load: Callable[[dict[str, torch.Tensor], int], None], max_lag: int) -> None:
        self._load = load  # load(state_dict of tensors, updates)
        self.max_lag = max_lag
        self.seq = -1
        self.updates = -1

    def offer(self, version: WeightVersion | None) -> int:
        """Consider the newest published version; returns the lag (publications behind) after the call."""
        if version is None or version.seq <= self.seq:
            return 0 if version is None else version.seq - self.seq
        ready, _ = ray.wait([version.ref], timeout=0, fetch_local=True)
        if ready or version.seq - self.seq > self.max_lag:
            self.load(version)
        return version.seq - self.seq

    def load(self, version: WeightVersion) -> None:
        """Load ``version`` now (waiting for the fetch if needed)."""
        if version.seq == self.seq:
            return
        arrays = ray.get(version.ref)
        self._load({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}, version.updates)
        self.seq, self.updates = version.seq, version.updates
