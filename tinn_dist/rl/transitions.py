"""Columnar transition chunks: what rollouts produce, replay stores and the learner consumes.

Plain numpy columns so a chunk pickles cheaply (Ray object store, checkpoints) and a replay ring buffer can copy
whole columns at once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

__all__ = ["Transitions"]


@dataclass(slots=True)
class Transitions:
    """n transitions (s, a, r, s', done) of the assignment MDP.

    obs, next_obs: (n, N, 4) float32 four-momenta (E, px, py, pz) in GeV, in slot order (slot s holds the
    particle the state assigns to the process's external leg s). action: (n,) int64 (0 = do nothing).
    reward: (n,) float32 log(m'/m). next_mask: (n, d_A) bool, actions legal in s'. done: (n,) bool.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    next_mask: np.ndarray
    done: np.ndarray

    def __len__(self) -> int:
        return int(self.action.shape[0])

    def select(self, idx: np.ndarray) -> Transitions:
        return Transitions(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(chunks: list[Transitions]) -> Transitions:
        return Transitions(
            **{f.name: np.concatenate([getattr(c, f.name) for c in chunks]) for f in fields(Transitions)}
        )

    def to_torch(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        return {
            # Arrays fetched from Ray's object store are read-only; np.require copies only those.
            f.name: torch.from_numpy(np.require(getattr(self, f.name), requirements=["C", "W"])).to(device)
            for f in fields(self)
        }
