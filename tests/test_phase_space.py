"""Phase space: volumes against analytic results, momentum conservation, on-shell legs, resonance windows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinn_dist.events.phase_space import BW_CUTOFF, Node, PhaseSpace
from tinn_dist.physics.matrix_element import default_param_card
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import load_process


def massless_volume(n: int, s: float) -> float:
    """Phi_n for n massless particles: (2pi)^(4-3n) (pi/2)^(n-1) s^(n-2) / (Gamma(n) Gamma(n-1))."""
    return (2 * math.pi) ** (4 - 3 * n) * (math.pi / 2) ** (n - 1) * s ** (n - 2) / (math.gamma(n) * math.gamma(n - 1))


def _mean_and_error(w: np.ndarray) -> tuple[float, float]:
    return float(w.mean()), float(w.std() / math.sqrt(len(w)))


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_massless_volume(n):
    root = Node("cm", 0, children=tuple(Node(f"slot{i}", 21, slot=i) for i in range(2, 2 + n)))
    ps = PhaseSpace(root, n + 2)
    assert ps.dim == 3 * n - 4
    rng = np.random.default_rng(n)
    batch = ps.generate(rng.random((100_000, ps.dim)), np.full(100_000, 250.0))
    mean, err = _mean_and_error(batch.weight)
    exact = massless_volume(n, 250.0**2)
    assert abs(mean - exact) < 4 * err + 1e-12 * exact


def test_massive_two_body_weight_is_exact():
    root = Node("cm", 0, children=(Node("slot2", 6, 173.0, slot=2), Node("slot3", 24, 80.4, slot=3)))
    ps = PhaseSpace(root, 4)
    roots = np.array([260.0, 400.0, 2000.0])
    w = ps.generate(np.random.default_rng(0).random((3, ps.dim)), roots).weight
    p = np.sqrt((roots**2 - (173.0 + 80.4) ** 2) * (roots**2 - (173.0 - 80.4) ** 2)) / (2 * roots)
    np.testing.assert_allclose(w, p / (4 * math.pi * roots), rtol=1e-12)


def test_breit_wigner_mapping_keeps_the_volume():
    # A wide "resonance" over the whole kinematic range only reshapes the sampling: Phi_3 is unchanged.
    resonance = Node("R", 23, 150.0, 60.0, children=(Node("slot2", 1, slot=2), Node("slot3", 1, slot=3)))
    root = Node("cm", 0, children=(resonance, Node("slot4", 1, slot=4)))
    ps = PhaseSpace(root, 5, bw_cutoff=1e6)
    batch = ps.generate(np.random.default_rng(1).random((200_000, ps.dim)), np.full(200_000, 500.0))
    mean, err = _mean_and_error(batch.weight)
    exact = massless_volume(3, 500.0**2)
    assert err < 0.02 * exact
    assert abs(mean - exact) < 4 * err


@pytest.mark.parametrize("name", ["tt", "ttw", "tttt", "wwuu"])
def test_process_kinematics(name):
    process = load_process(name)
    card = default_param_card()
    model = load_sm_model(card, 0.13)
    ps = PhaseSpace.for_process(process, card)
    rng = np.random.default_rng(5)
    n = 2000
    roots = ps.min_mass + rng.uniform(0.0, 3000.0, n)
    batch = ps.generate(rng.random((n, ps.dim)), roots)
    p = batch.momenta
    assert p.shape == (n, process.n_external, 4)
    assert (batch.weight >= 0).all() and (batch.weight > 0).mean() > 0.95
    live = batch.weight > 0
    # Incoming partons along +z and -z with sqrt(s_hat) in total; momentum conserved.
    np.testing.assert_allclose(p[:, 0], np.stack([roots / 2, 0 * roots, 0 * roots, roots / 2], 1), atol=1e-12)
    np.testing.assert_allclose(p[:, 1], np.stack([roots / 2, 0 * roots, 0 * roots, -roots / 2], 1), atol=1e-12)
    balance = p[:, :2].sum(axis=1) - p[:, 2:].sum(axis=1)
    assert np.abs(balance[live]).max() < 1e-9 * roots.max()
    # External legs on their mass shells.
    m2 = p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)
    for slot, pdg in enumerate(process.external):
        want = model.mass(pdg) ** 2
        assert np.abs(m2[live, slot] - want).max() < 1e-7 * (roots.max() ** 2)
    # Every resonance: the sum of its slots, with a mass inside MadGraph's window M +- 15 Gamma.
    for r in process.resonances:
        q = batch.resonances[r.name]
        np.testing.assert_allclose(q[live], p[live][:, list(r.slots)].sum(axis=1), atol=1e-9 * roots.max())
        mass = np.sqrt(q[live, 0] ** 2 - (q[live, 1:] ** 2).sum(-1))
        m0, w0 = model.mass(r.pdg), model.width(r.pdg)
        assert (np.abs(mass - m0) <= BW_CUTOFF * w0 * (1 + 1e-9)).all()


def test_resonance_masses_follow_breit_wigner():
    # With a flat integrand the top mass is distributed as its Breit-Wigner (in Q^2) inside the window.
    process = load_process("tt")
    ps = PhaseSpace.for_process(process, default_param_card())
    rng = np.random.default_rng(2)
    n = 50_000
    batch = ps.generate(rng.random((n, ps.dim)), np.full(n, 1000.0))
    q = batch.resonances["t"]
    s = q[:, 0] ** 2 - (q[:, 1:] ** 2).sum(-1)
    mt, wt = 173.0, 1.4915
    # Fraction within one width of the pole: ratio of arctan ranges of the mapping.
    inside = np.abs(np.sqrt(s) - mt) < wt
    lo, hi = (mt - wt) ** 2, (mt + wt) ** 2
    lo_w, hi_w = (mt - 15 * wt) ** 2, (mt + 15 * wt) ** 2

    def a(x):
        return math.atan((x - mt**2) / (mt * wt))

    expected = (a(hi) - a(lo)) / (a(hi_w) - a(lo_w))
    assert inside.mean() == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / n))
