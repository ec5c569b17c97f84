"""Physical properties of the built-in engine that hold whatever MadGraph says: Lorentz and gauge invariance,
identical-particle symmetry, batch independence, and clear errors on bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tinn_dist.errors import TinnError
from tinn_dist.physics.builtin import BuiltinMatrixElement
from tinn_dist.physics.diagram_generation import compile_string
from tinn_dist.physics.matrix_element import default_param_card
from tinn_dist.physics.runtime import ProcessRuntime
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import load_process

MT, MW, MB = 173.0, 80.419002445756, 4.7


def _boost(p: np.ndarray, beta: np.ndarray) -> np.ndarray:
    b2 = beta @ beta
    g = 1.0 / math.sqrt(1.0 - b2)
    bp = p[..., 1:] @ beta
    e = g * (p[..., 0] + bp)
    vec = p[..., 1:] + ((g - 1.0) * bp / b2 + g * p[..., 0])[..., None] * beta
    return np.concatenate([e[..., None], vec], axis=-1)


def _two_body(parent: np.ndarray, m1: float, m2: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    m = math.sqrt(parent[0] ** 2 - parent[1:] @ parent[1:])
    q = math.sqrt((m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2)) / (2 * m)
    n = rng.normal(size=3)
    n /= np.linalg.norm(n)
    d1, d2 = np.r_[math.hypot(m1, q), q * n], np.r_[math.hypot(m2, q), -q * n]
    beta = parent[1:] / parent[0]
    return _boost(d1, beta), _boost(d2, beta)


def tt_events(n: int, seed: int = 1) -> np.ndarray:
    """gg > t t~ > (b u d~)(b~ u~ d) events in the partonic c.m. frame, balanced, with t and W slightly off
    their mass shells (so a zero-width propagator stays finite)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        rs = rng.uniform(400.0, 900.0)
        e = rs / 2
        mt = MT + rng.uniform(-4.0, 4.0)
        pt = math.sqrt(e * e - mt * mt)
        n3 = rng.normal(size=3)
        n3 /= np.linalg.norm(n3)
        t, tb = np.r_[e, pt * n3], np.r_[e, -pt * n3]
        b, w = _two_body(t, MB, MW + rng.uniform(-2.0, 2.0), rng)
        u, db = _two_body(w, 0.0, 0.0, rng)
        bb, wm = _two_body(tb, MB, MW + rng.uniform(-2.0, 2.0), rng)
        ub, d = _two_body(wm, 0.0, 0.0, rng)
        out.append([np.r_[e, 0, 0, e], np.r_[e, 0, 0, -e], b, u, db, bb, ub, d])
    return np.array(out)


@pytest.fixture(scope="module")
def tt_me() -> BuiltinMatrixElement:
    return BuiltinMatrixElement(load_process("tt"), default_param_card())


@pytest.fixture(scope="module")
def zero_top_width_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default card with a zero top width (a fixed width in a t-channel top propagator breaks the gluon
    Ward identity at O(width/mass))."""
    card = tmp_path_factory.mktemp("card") / "param_card.dat"
    lines = [
        "DECAY 6 0.000000e+00" if ln.split()[:2] == ["DECAY", "6"] else ln
        for ln in default_param_card().read_text().splitlines()
    ]
    card.write_text("\n".join(lines) + "\n")
    return card


def test_lorentz_invariance() -> None:
    """Boosts and rotations leave |M|^2 unchanged. (With external gluons a resonance-restricted decay chain is
    gauge invariant only on the pole, and boosts shift gluon polarisations by multiples of their momenta, so the
    exact check uses quark-initiated top pairs: every fermion, W and top kernel of tt, with widths.)"""
    model = load_sm_model(default_param_card(), 0.13)
    text = "u u~ > t t~, (t > b w+, w+ > u d~), (t~ > b~ w-, w- > u~ d)"
    runtime = ProcessRuntime(compile_string(text, model, "uutt"), model, torch.device("cpu"))
    p = tt_events(6)
    rot = np.linalg.qr(np.random.default_rng(4).normal(size=(3, 3)))[0]
    rotated = p.copy()
    rotated[..., 1:] = p[..., 1:] @ rot.T
    boosted = _boost(p, np.array([0.2, -0.3, 0.5]))
    ref = runtime.m2(torch.from_numpy(p))
    for other in (rotated, boosted):
        assert torch.allclose(runtime.m2(torch.from_numpy(other)), ref, rtol=1e-9, atol=0.0)


def test_rotation_invariance_with_widths(tt_me: BuiltinMatrixElement) -> None:
    p = tt_events(6, seed=5)
    rot = np.linalg.qr(np.random.default_rng(5).normal(size=(3, 3)))[0]
    rotated = p.copy()
    rotated[..., 1:] = p[..., 1:] @ rot.T
    assert torch.allclose(tt_me.m2(torch.from_numpy(rotated)), tt_me.m2(torch.from_numpy(p)), rtol=1e-12, atol=0.0)


def test_batch_size_and_chunking_do_not_change_values(tt_me: BuiltinMatrixElement) -> None:
    p = torch.from_numpy(tt_events(9, seed=2))
    whole = tt_me.m2(p)
    one_by_one = torch.cat([tt_me.m2(p[i:i + 1]) for i in range(p.shape[0])])
    chunk = tt_me.runtime.chunk
    try:
        tt_me.runtime.chunk = 2
        chunked = tt_me.m2(p)
    finally:
        tt_me.runtime.chunk = chunk
    assert whole.dtype == torch.float64 and whole.device.type == "cpu" and whole.shape == (9,)
    assert torch.equal(whole, chunked) or torch.allclose(whole, chunked, rtol=1e-14, atol=0.0)
    assert torch.allclose(whole, one_by_one, rtol=1e-14, atol=0.0)
    assert (whole > 0).all()


def test_gauge_invariance_gluon_polarisation_replaced_by_momentum(zero_top_width_card: Path) -> None:
    """g g > t t~ (on-shell tops, zero top width): J_k vanishes when a gluon's polarisation becomes its momentum."""
    model = load_sm_model(zero_top_width_card, 0.13)
    assert model.width(6) == 0.0
    runtime = ProcessRuntime(compile_string("g g > t t~", model, "ggtt"), model, torch.device("cpu"))
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(4):
        e = rng.uniform(200.0, 600.0)
        n = rng.normal(size=3)
        n *= math.sqrt(e * e - MT * MT) / np.linalg.norm(n)
        rows.append([np.r_[e, 0, 0, e], np.r_[e, 0, 0, -e], np.r_[e, n], np.r_[e, -n]])
    p = torch.tensor(np.array(rows))
    physical = runtime.colour_amplitudes(p).abs().max()
    for leg in (0, 1):
        gauge = runtime.colour_amplitudes(p, replace={leg: p[:, leg, :].to(torch.complex128)})
        assert gauge.abs().max() < 1e-12 * physical * p[:, 0, 0].max()
    assert physical > 0


def test_identical_quarks_exchange_symmetry() -> None:
    model = load_sm_model(default_param_card(), 0.13)
    runtime = ProcessRuntime(compile_string("u u > u u QED=0", model, "uuuu"), model, torch.device("cpu"))
    rng = np.random.default_rng(6)
    rows = []
    for _ in range(5):
        e = rng.uniform(50, 500)
        n = rng.normal(size=3)
        n *= e / np.linalg.norm(n)
        rows.append([np.r_[e, 0, 0, e], np.r_[e, 0, 0, -e], np.r_[e, n], np.r_[e, -n]])
    p = torch.tensor(np.array(rows))
    swapped = p[:, [0, 1, 3, 2]]
    assert torch.allclose(runtime.m2(p), runtime.m2(swapped), rtol=1e-12, atol=0.0)
    initial_swapped = p[:, [1, 0, 2, 3]]
    assert torch.allclose(runtime.m2(p), runtime.m2(initial_swapped), rtol=1e-12, atol=0.0)


def test_bad_input_raises_tinn_error(tt_me: BuiltinMatrixElement) -> None:
    with pytest.raises(TinnError, match=r"shaped \(B, 8, 4\)"):
        tt_me.m2(torch.zeros((2, 7, 4), dtype=torch.float64))
    p = torch.from_numpy(tt_events(3, seed=7))
    p[1, 4, 2] = float("nan")
    with pytest.raises(TinnError, match="event 1"):
        tt_me.m2(p)


def test_unknown_particle_in_process_string_raises() -> None:
    model = load_sm_model(default_param_card(), 0.13)
    with pytest.raises(TinnError):
        compile_string("g g > t t~ zz", model)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(tt_me: BuiltinMatrixElement) -> None:
    gpu = BuiltinMatrixElement(load_process("tt"), default_param_card(), device="cuda")
    p = torch.from_numpy(tt_events(64, seed=8))
    assert torch.allclose(gpu.m2(p).cpu(), tt_me.m2(p), rtol=1e-12, atol=0.0)


def test_tinn_me_writes_points_with_me2(tmp_path: Path, tt_me: BuiltinMatrixElement) -> None:
    from tinn_dist.cli import main

    p = tt_events(3, seed=9)
    points = [{"pdg": list(load_process("tt").external), "momenta": q.tolist(), "tag": i} for i, q in enumerate(p)]
    src = tmp_path / "points.json"
    src.write_text(json.dumps(points))
    out = tmp_path / "out.json"
    assert main(["me", "--process", "tt", str(src), "-o", str(out)]) == 0
    written = json.loads(out.read_text())
    assert [w["tag"] for w in written] == [0, 1, 2]
    expected = tt_me.m2(torch.from_numpy(p)).numpy()
    assert np.allclose([w["me2_builtin"] for w in written], expected, rtol=1e-14, atol=0.0)
    assert main(["me", "--process", "ttw", str(src), "-o", str(tmp_path / "bad.json")]) == 2
    assert not (tmp_path / "bad.json").exists()
