"""Theory-informed anomaly detection (Dillon & Spannowsky, Sec. 6): events are assigned to the slots of the
BACKGROUND process (here gg -> tt) and scored with 1/m_bkg, m_bkg = |M|^2 of the background process at that
assignment. Background events fit the background theory (large m, low score); anything else does not.

The assignment comes from a trained background agent (``learned``), from the exhaustive |M|^2 argmax over all
(N-2)! assignments (``ceiling``: the best any assignment method can do) or is the stored energy order
(``start``: no assignment at all). Both samples are compared inside a window of the final-state invariant mass
sqrt(ŝ) = |Σ p_final|, so the score cannot simply learn the mass spectrum.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from tinn_dist.analysis.baselines import exhaustive_argmax, starting_order
from tinn_dist.analysis.reconstruct import invariant_mass
from tinn_dist.errors import TinnError
from tinn_dist.events.store import EventSet
from tinn_dist.rl.actor import EpisodeRunner
from tinn_dist.rl.env import AssignmentEnv

__all__ = [
    "METHODS",
    "anomaly_score",
    "assignment_m2",
    "final_state_mass",
    "in_mass_window",
    "select_mass_window",
]

METHODS = ("learned", "ceiling", "start")
_EXHAUSTIVE_CHUNK = 128  # events per exhaustive call (x 720 assignments for tt): the progress-bar granularity


def final_state_mass(momenta: np.ndarray) -> np.ndarray:
    """(E,) invariant mass (GeV) of all final-state partons (rows 2.., stored order)."""
    return invariant_mass(np.asarray(momenta, dtype=np.float64)[:, 2:, :].sum(axis=1))


def in_mass_window(momenta: np.ndarray, low: float, high: float) -> np.ndarray:
    """(E,) bool: low <= final-state invariant mass <= high."""
    m = final_state_mass(momenta)
    return (m >= low) & (m <= high)


def select_mass_window(
    events: EventSet, low: float, high: float, source: str, max_events: int | None = None
) -> tuple[EventSet, EventSet]:
    """(first ``max_events`` events in the window, the rest of the window) of ``events``; TinnError when the
    window is empty or not a range."""
    if not (np.isfinite(low) and np.isfinite(high) and 0.0 <= low < high):
        raise TinnError(f"mass window [{low:g}, {high:g}] GeV must satisfy 0 <= low < high")
    idx = np.flatnonzero(in_mass_window(events.momenta, low, high))
    if len(idx) == 0:
        m = final_state_mass(events.momenta)
        raise TinnError(
            f"{source}: none of its {len(events)} events has a final-state mass in [{low:g}, {high:g}] GeV "
            f"(its range is {m.min():.0f}-{m.max():.0f} GeV)"
        )
    cut = len(idx) if max_events is None else max_events
    return events.subset(idx[:cut]), events.subset(idx[cut:])


def assignment_m2(
    env: AssignmentEnv,
    qnet: nn.Module | None,
    methods: tuple[str, ...] = METHODS,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """{method: |M|^2 (E,) of the env's matrix element at that method's assignment} for every event of env.
    ``learned`` needs ``qnet`` (the background agent, greedy for N-3 steps)."""
    idx = np.arange(len(env))
    out = {}
    for method in methods:
        if method == "start":
            out[method] = starting_order(env, idx)[1]
        elif method == "learned":
            if qnet is None:
                raise TinnError("the learned assignment needs a trained agent (--checkpoint)")
            out[method] = EpisodeRunner(env, qnet).greedy(idx)[1]
        elif method == "ceiling":
            chunks = np.array_split(idx, max(1, -(-len(idx) // _EXHAUSTIVE_CHUNK)))
            if progress:
                from tqdm import tqdm

                chunks = tqdm(chunks, desc="exhaustive argmax", unit="chunk")
            out[method] = np.concatenate([exhaustive_argmax(env, c)[1] for c in chunks])
        else:
            raise TinnError(f"unknown assignment method {method!r}; expected some of {METHODS}")
    return out


def anomaly_score(m: np.ndarray) -> np.ndarray:
    """1 / |M|^2 of the background process: large for events the background theory explains badly."""
    return 1.0 / np.asarray(m, dtype=np.float64)
