"""The assignment MDP (Dillon & Spannowsky): a batch of episodes advanced in lockstep, and a gymnasium view.

State: a permutation ``perm`` (B, N) — slot s (the process's external leg s, MadGraph order) holds stored
particle ``perm[s]`` of the event; the two initial slots never move. Start: the stored order (identity).
Actions: 0 = do nothing; a >= 1 swaps the final-state slots ``swap_pairs(N)[a - 1]``. An episode has
T = N - 3 steps (enough transpositions to reach any permutation of the N - 2 final-state slots), and a swap once
used is illegal for the rest of its episode. Reward: r_t = log(m_{t+1} / m_t) with m = |M|^2 of the momenta in
slot order; the current m is cached, and each step makes ONE batched matrix-element call for the rows that
swapped (a do-nothing row keeps m and gets r = 0). The policy never sees m, so a runner may instead move a batch
through all its steps and evaluate every arrangement it visited in one call at the end (``AssignmentEnv.settle``).

An |M|^2 that is not positive and finite (zero, negative, NaN) cannot give a reward: ``MatrixElement.m2`` raises
:class:`TinnError` and the environment adds which event and slot order it was — never a NaN in replay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import MatrixElement

__all__ = ["AssignmentEnv", "AssignmentGymEnv", "EpisodeBatch", "n_actions", "swap_pairs"]

MAX_GEV = 13_000.0  # bound of the gymnasium observation box: no momentum component exceeds the LHC's sqrt(s)


def swap_pairs(n_external: int) -> np.ndarray:
    """(d_A - 1, 2) slot pairs (i < j, final-state slots 2..N-1, lexicographic); action a swaps row a - 1."""
    return np.array(list(combinations(range(2, n_external), 2)), dtype=np.int64)


def n_actions(n_external: int) -> int:
    """d_A = 1 + (N - 2)(N - 3) / 2: every swap of two final-state slots plus do-nothing."""
    return 1 + (n_external - 2) * (n_external - 3) // 2


@dataclass(slots=True)
class EpisodeBatch:
    """B episodes in lockstep. ``m`` is |M|^2 of the current state (cached); ``t`` the steps taken so far."""

    event_idx: np.ndarray  # (B,) int64 rows of the env's event momenta
    perm: np.ndarray  # (B, N) int64
    used: np.ndarray  # (B, d_A) bool, swaps already taken (column 0, do-nothing, is never set)
    m: np.ndarray  # (B,) float64
    m_start: np.ndarray  # (B,) float64, |M|^2 of the starting order
    t: int = 0

    def __len__(self) -> int:
        return int(self.event_idx.shape[0])


class AssignmentEnv:
    """Batched lockstep assignment environment over a fixed set of events.

    momenta: (E, N, 4) float64 in stored order (two initial partons first, then final-state partons).
    """

    def __init__(self, me: MatrixElement, momenta: np.ndarray) -> None:
        momenta = np.ascontiguousarray(momenta, dtype=np.float64)
        n = me.n_external
        if momenta.ndim != 3 or momenta.shape[1:] != (n, 4):
            raise TinnError(
                f"{me.process.name}: event momenta must be shaped (E, {n}, 4), got {momenta.shape}"
            )
        self.me = me
        self.momenta = momenta
        self.n_external = n
        self.n_steps = n - 3
        self.n_actions = n_actions(n)
        self.pairs = swap_pairs(n)
        self.me_evals = 0  # matrix-element evaluations (rows), for throughput metrics
        self.env_steps = 0  # episode-steps taken (rows)

    def __len__(self) -> int:
        return int(self.momenta.shape[0])

    def gather(self, event_idx: np.ndarray, perm: np.ndarray) -> np.ndarray:
        """(B, N, 4) float64 momenta in slot order: row b, slot s = momenta[event_idx[b], perm[b, s]]."""
        return self.momenta[event_idx[:, None], perm]

    def m2(self, event_idx: np.ndarray, perm: np.ndarray) -> np.ndarray:
        """|M|^2 (B,) float64 of the given assignments in one batched call."""
        if len(event_idx) == 0:
            return np.zeros(0)
        try:
            m = self.me.m2(self.gather(event_idx, perm))
        except TinnError as exc:
            row = re.search(r"event (\d+)", str(exc))
            if row is None:
                raise
            b = int(row.group(1))
            raise TinnError(
                f"{exc} [environment: event {int(event_idx[b])}, slot order {perm[b].tolist()}]"
            ) from None
        self.me_evals += len(event_idx)
        return m.detach().cpu().numpy().astype(np.float64, copy=False)

    def reset(self, event_idx: np.ndarray, evaluate: bool = True) -> EpisodeBatch:
        """Episodes starting from the stored order. ``evaluate=False`` leaves ``m`` and ``m_start`` NaN: the
        episodes are then advanced with :meth:`move` and their |M|^2 evaluated at the end by :meth:`settle`."""
        event_idx = np.asarray(event_idx, dtype=np.int64)
        if event_idx.ndim != 1 or (
            len(event_idx) and not (0 <= event_idx.min() and event_idx.max() < len(self))
        ):
            raise TinnError(f"event indices must be a 1-d array in [0, {len(self)})")
        b = len(event_idx)
        perm = np.broadcast_to(np.arange(self.n_external), (b, self.n_external)).copy()
        m = self.m2(event_idx, perm) if evaluate else np.full(b, np.nan)
        return EpisodeBatch(event_idx, perm, np.zeros((b, self.n_actions), dtype=bool), m, m.copy(), 0)

    def obs(self, batch: EpisodeBatch) -> np.ndarray:
        """(B, N, 4) float32 momenta (GeV) in slot order: the agent's observation."""
        return self.gather(batch.event_idx, batch.perm).astype(np.float32)

    @staticmethod
    def legal_mask(batch: EpisodeBatch) -> np.ndarray:
        """(B, d_A) bool: unused swaps and do-nothing."""
        return ~batch.used

    def step(self, batch: EpisodeBatch, actions: np.ndarray) -> tuple[np.ndarray, bool]:
        """Apply one action per episode (in place); returns rewards (B,) float64 and whether the episodes ended."""
        if np.isnan(batch.m).any():
            raise TinnError("this batch was reset with evaluate=False: advance it with move() and settle()")
        swap = self.move(batch, actions)
        rewards = np.zeros(len(batch))
        m_new = self.m2(batch.event_idx[swap], batch.perm[swap])
        rewards[swap] = np.log(m_new / batch.m[swap])
        batch.m[swap] = m_new
        return rewards, batch.t == self.n_steps

    def move(self, batch: EpisodeBatch, actions: np.ndarray) -> np.ndarray:
        """Apply one action per episode (in place) without evaluating |M|^2; returns the rows that swapped."""
        actions = np.asarray(actions, dtype=np.int64)
        if batch.t >= self.n_steps:
            raise TinnError(f"episodes already ended after {self.n_steps} steps; call reset()")
        if (
            actions.shape != (len(batch),)
            or actions.min(initial=0) < 0
            or actions.max(initial=0) >= self.n_actions
        ):
            raise TinnError(f"actions must be {len(batch)} integers in [0, {self.n_actions})")
        rows = np.arange(len(batch))
        if batch.used[rows, actions].any():
            b = int(np.flatnonzero(batch.used[rows, actions])[0])
            raise TinnError(f"action {int(actions[b])} of episode {b} is a swap already used in this episode")
        swap = np.flatnonzero(actions != 0)
        i, j = self.pairs[actions[swap] - 1].T
        pi, pj = batch.perm[swap, i].copy(), batch.perm[swap, j].copy()
        batch.perm[swap, i], batch.perm[swap, j] = pj, pi
        batch.used[swap, actions[swap]] = True
        batch.t += 1
        self.env_steps += len(batch)
        return swap

    def settle(self, batch: EpisodeBatch, moves: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """|M|^2 of a batch reset with ``evaluate=False`` and of every step's new arrangements in ONE call.

        ``moves[t]`` = (rows that swapped at step t, their ``perm`` after it). Sets ``m_start`` and ``m``; returns
        the rewards (T, B), the values :meth:`step` would have returned. One call instead of T + 1: at a few
        hundred rows the engine's cost per call, not per event, dominates.
        """
        start = np.broadcast_to(np.arange(self.n_external), batch.perm.shape)
        m_all = self.m2(
            np.concatenate([batch.event_idx] + [batch.event_idx[rows] for rows, _ in moves]),
            np.concatenate([start] + [perm for _, perm in moves]),
        )
        m = m_all[: len(batch)].copy()
        batch.m_start = m.copy()
        rewards = np.zeros((len(moves), len(batch)))
        first = len(batch)
        for t, (rows, _) in enumerate(moves):
            m_new = m_all[first : first + len(rows)]
            rewards[t, rows] = np.log(m_new / m[rows])
            m[rows] = m_new
            first += len(rows)
        batch.m = m
        return rewards


class AssignmentGymEnv(gym.Env):
    """One episode at a time over :class:`AssignmentEnv` — for RLlib and other gymnasium users.

    Observation: ``{"momenta": (N, 4) float32 GeV in slot order, "action_mask": (d_A,) int8}``. An illegal action
    (a swap already used) is applied as do-nothing with reward 0 and ``info["illegal_action"] = True``, so a
    learner whose masking leaks cannot crash the episode. ``reset(options={"event": k})`` picks event k,
    otherwise a uniformly random one.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, env: AssignmentEnv) -> None:
        self.env = env
        n, d = env.n_external, env.n_actions
        self.observation_space = gym.spaces.Dict(
            {
                "momenta": gym.spaces.Box(-MAX_GEV, MAX_GEV, shape=(n, 4), dtype=np.float32),
                "action_mask": gym.spaces.Box(0, 1, shape=(d,), dtype=np.int8),
            }
        )
        self.action_space = gym.spaces.Discrete(d)
        self._batch: EpisodeBatch | None = None

    def _observation(self) -> dict[str, np.ndarray]:
        assert self._batch is not None
        return {
            "momenta": self.env.obs(self._batch)[0],
            "action_mask": self.env.legal_mask(self._batch)[0].astype(np.int8),
        }

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if options and "event" in options:
            event = int(options["event"])
        else:
            event = int(self.np_random.integers(len(self.env)))
        self._batch = self.env.reset(np.array([event]))
        return self._observation(), {"event": event, "m": float(self._batch.m[0])}

    def step(self, action: int):
        if self._batch is None:
            raise TinnError("call reset() before step()")
        action = int(action)
        illegal = bool(self._batch.used[0, action])
        rewards, done = self.env.step(self._batch, np.array([0 if illegal else action]))
        info = {"m": float(self._batch.m[0]), "illegal_action": illegal}
        return self._observation(), float(rewards[0]), bool(done), False, info
