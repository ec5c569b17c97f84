"""Anomaly score 1/m_bkg: mass-window selection on hand-made events; the three assignments on real tt
events."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rl_support import needs_builtin, tt_events, tt_matrix_element

from tinn_dist.analysis.anomaly import (
    METHODS,
    anomaly_score,
    assignment_m2,
    final_state_mass,
    in_mass_window,
    select_mass_window,
)
from tinn_dist.errors import TinnError
from tinn_dist.events.store import EventSet
from tinn_dist.rl.builder import build_qnet
from tinn_dist.rl.config import config_from_dict
from tinn_dist.rl.env import AssignmentEnv


def _events_with_masses(masses: list[float]) -> EventSet:
    """Events whose six final-state partons are three back-to-back massless pairs of total mass m each."""
    rows = []
    for m in masses:
        e = m / 6.0  # each parton: energy m/6; pairs back to back along x, y, z
        final = [[e, s * e * (k == 0), s * e * (k == 1), s * e * (k == 2)] for k in range(3) for s in (1, -1)]
        rows.append([[m / 2, 0, 0, m / 2], [m / 2, 0, 0, -m / 2], *final])
    n = len(masses)
    return EventSet(
        process="tt",
        momenta=np.array(rows, dtype=np.float64),
        pdg=np.tile([21, 21, 5, 2, -1, -5, -2, 1], (n, 1)),
        true_perm=np.tile(np.arange(8), (n, 1)),
        weight=np.ones(n),
        source=np.full(n, "hand"),
        event_index=np.arange(n),
    )


def test_final_state_mass_and_window() -> None:
    events = _events_with_masses([300.0, 450.0, 650.0, 800.0, 500.0])
    np.testing.assert_allclose(final_state_mass(events.momenta), [300, 450, 650, 800, 500], rtol=1e-12)
    np.testing.assert_array_equal(in_mass_window(events.momenta, 400, 700), [0, 1, 1, 0, 1])
    chosen, rest = select_mass_window(events, 400, 700, "e.parquet", max_events=2)
    np.testing.assert_array_equal(chosen.event_index, [1, 2])
    np.testing.assert_array_equal(rest.event_index, [4])
    every, none_left = select_mass_window(events, 400, 700, "e.parquet")
    assert len(every) == 3 and len(none_left) == 0
    with pytest.raises(TinnError, match=r"^e.parquet: none of its 5 events .* \[900, 1000\] GeV .*300-800"):
        select_mass_window(events, 900, 1000, "e.parquet")
    with pytest.raises(TinnError, match="low < high"):
        select_mass_window(events, 700, 400, "e.parquet")


def test_score_is_inverse_matrix_element() -> None:
    np.testing.assert_allclose(anomaly_score(np.array([2.0, 1e-20])), [0.5, 1e20])


@needs_builtin
def test_ceiling_bounds_every_assignment() -> None:
    torch.set_num_threads(1)
    events = tt_events(6)
    env = AssignmentEnv(tt_matrix_element(), events.momenta)
    cfg = config_from_dict({"process": "tt", "qnet": {"d_model": 16, "n_layers": 1, "n_heads": 2}})
    m = assignment_m2(env, build_qnet(cfg).eval(), METHODS)
    idx = np.arange(6)
    m_true = env.m2(idx, events.true_perm)
    np.testing.assert_allclose(m["start"], env.m2(idx, np.tile(np.arange(8), (6, 1))), rtol=1e-15)
    assert (m["ceiling"] >= m["learned"] * (1 - 1e-12)).all() and (m["ceiling"] >= m["start"]).all()
    assert (m["ceiling"] >= m_true * (1 - 1e-9)).all()
    with pytest.raises(TinnError, match="needs a trained agent"):
        assignment_m2(env, None, ("learned",))
    with pytest.raises(TinnError, match="unknown assignment method 'best'"):
        assignment_m2(env, None, ("best",))
