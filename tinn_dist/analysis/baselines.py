"""Assignments without learning, scored by the same evaluation as the agent.

- ``start``: the stored order (final-state partons by decreasing energy) — the agent's starting state.
- ``greedy``: ME hill-climbing — each step tries every swap of two final-state slots (one batched |M|^2 call
  for all events still climbing) and takes the best if it raises |M|^2; stops at a local maximum.
- ``exhaustive``: |M|^2 of all (N-2)! assignments of the final-state partons, batched; the argmax is the ceiling
  any assignment method can reach (tt: 720 per event, ttw: 40320; tttt's 12! is not affordable).

Each returns ``(perm (E, N), m (E,), me_calls_per_event)``; |M|^2 comes from the environment's ``m2`` (one
zero/NaN policy for everything).
"""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np

from tinn_dist.rl.env import AssignmentEnv

__all__ = ["BASELINES", "exhaustive_affordable", "exhaustive_argmax", "greedy_hill_climb", "starting_order"]

BASELINES = ("start", "greedy", "exhaustive")
EXHAUSTIVE_MAX_ASSIGNMENTS = 40_320  # 8!: ttw is the largest process searched exhaustively


def _identity(env: AssignmentEnv, n_events: int) -> np.ndarray:
    return np.broadcast_to(np.arange(env.n_external), (n_events, env.n_external)).copy()


def starting_order(env: AssignmentEnv, event_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    perm = _identity(env, len(event_idx))
    return perm, env.m2(event_idx, perm), 1.0


def greedy_hill_climb(
    env: AssignmentEnv, event_idx: np.ndarray, max_rows: int = 1 << 18
) -> tuple[np.ndarray, np.ndarray, float]:
    """Steepest-ascent over single swaps until no swap raises |M|^2."""
    perm_all, m_all, calls = [], [], 0
    n_swaps = len(env.pairs)
    chunk = max(1, max_rows // n_swaps)
    for start in range(0, len(event_idx), chunk):
        idx = np.asarray(event_idx[start : start + chunk])
        perm = _identity(env, len(idx))
        m = env.m2(idx, perm)
        calls += len(idx)
        active = np.arange(len(idx))
        while len(active):
            # candidates[a, k] = perm of active event a with swap k applied
            cand = np.repeat(perm[active][:, None, :], n_swaps, axis=1)
            rows = np.arange(n_swaps)
            i, j = env.pairs[:, 0], env.pairs[:, 1]
            cand[:, rows, i], cand[:, rows, j] = cand[:, rows, j], cand[:, rows, i]
            m_cand = env.m2(np.repeat(idx[active], n_swaps), cand.reshape(-1, env.n_external)).reshape(
                -1, n_swaps
            )
            calls += m_cand.size
            best = m_cand.argmax(axis=1)
            better = m_cand[np.arange(len(active)), best] > m[active]
            moved = active[better]
            perm[moved] = cand[better, best[better]]
            m[moved] = m_cand[better, best[better]]
            active = moved
        perm_all.append(perm)
        m_all.append(m)
    return np.concatenate(perm_all), np.concatenate(m_all), calls / max(len(event_idx), 1)


def exhaustive_affordable(n_external: int) -> bool:
    return math.factorial(n_external - 2) <= EXHAUSTIVE_MAX_ASSIGNMENTS


def exhaustive_argmax(
    env: AssignmentEnv, event_idx: np.ndarray, max_rows: int = 1 << 18
) -> tuple[np.ndarray, np.ndarray, float]:
    """The best of all (N-2)! assignments of every event (batched: ``max_rows`` |M|^2 rows per call)."""
    n = env.n_external
    finals = np.array(list(permutations(range(2, n))), dtype=np.int64)
    every = np.concatenate([np.broadcast_to(np.arange(2), (len(finals), 2)), finals], axis=1)  # (P, N)
    n_perm = len(every)
    perm_all, m_all = [], []
    chunk = max(1, max_rows // n_perm)
    for start in range(0, len(event_idx), chunk):
        idx = np.asarray(event_idx[start : start + chunk])
        if n_perm <= max_rows:
            m = env.m2(np.repeat(idx, n_perm), np.tile(every, (len(idx), 1))).reshape(len(idx), n_perm)
        else:  # one event at a time, the assignments in pieces
            m = np.stack(
                [
                    np.concatenate(
                        [
                            env.m2(np.full(len(part), e), part)
                            for part in np.array_split(every, math.ceil(n_perm / max_rows))
                        ]
                    )
                    for e in idx
                ]
            )
        best = m.argmax(axis=1)
        perm_all.append(every[best])
        m_all.append(m[np.arange(len(idx)), best])
    return np.concatenate(perm_all), np.concatenate(m_all), float(n_perm)
