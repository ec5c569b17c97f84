"""The afterstate Q-network: Q(s, a) = g(s ∘ a) - g(s) with Lorentz-invariant inputs."""

from __future__ import annotations

import math

import pytest
import torch

from tinn_dist.distributed.config import load_train_config
from tinn_dist.processes import config_dir, load_process
from tinn_dist.rl.afterstate_qnet import AfterstateQNetwork
from tinn_dist.rl.builder import build_qnet, resonance_shapes
from tinn_dist.rl.config import QNetConfig
from tinn_dist.rl.env import swap_pairs

torch.set_num_threads(1)


def tt_net(parity_odd: bool = False) -> AfterstateQNetwork:
    cfg = load_train_config(config_dir() / "tt.yaml")[0].replace(
        qnet={"kind": "afterstate", "hidden": 32, "parity_odd_features": parity_odd}
    )
    torch.manual_seed(0)
    net = build_qnet(cfg).eval()
    assert isinstance(net, AfterstateQNetwork)
    return net


def momenta(seed: int = 0, n: int = 3) -> torch.Tensor:
    """Massless final-state momenta with two beam partons, in GeV (energy-momentum need not balance)."""
    g = torch.Generator().manual_seed(seed)
    p3 = torch.randn(n, 8, 3, generator=g, dtype=torch.float64) * 80
    p3[:, 0] = torch.tensor([0.0, 0.0, 400.0])
    p3[:, 1] = torch.tensor([0.0, 0.0, -300.0])
    return torch.cat([p3.norm(dim=2, keepdim=True), p3], dim=2)


def test_do_nothing_is_zero_and_one_action_matches_all() -> None:
    net = tt_net()
    x = momenta().float()
    with torch.no_grad():
        q = net(x)
        actions = torch.tensor([0, 5, 15])
        assert q.shape == (3, 16) and torch.all(q[:, 0] == 0)
        assert torch.allclose(net.q_taken(x, actions), q.gather(1, actions[:, None]).squeeze(1), atol=1e-6)


def test_q_is_the_score_of_the_swapped_arrangement() -> None:
    """Q(s, a) + g(s) = g(s'): the afterstate of swap a is the state with those slots exchanged."""
    net = tt_net()
    x = momenta().float()
    a = 7
    i, j = swap_pairs(8)[a - 1]
    swapped = x.clone()
    swapped[:, [i, j]] = x[:, [j, i]]
    with torch.no_grad():
        g_after = net.scores(x, torch.full((3, 1), a))
        g_swapped = net.scores(swapped, torch.zeros(3, 1, dtype=torch.int64))
    assert torch.allclose(g_after, g_swapped, atol=1e-5)


@pytest.mark.parametrize("parity_odd", [False, True])
def test_lorentz_invariant(parity_odd: bool) -> None:
    """Every input is an invariant, so a boost along z and a rotation leave Q unchanged."""
    net = tt_net(parity_odd)
    x = momenta()
    eta = 0.7
    boosted = x.clone()
    boosted[..., 0] = math.cosh(eta) * x[..., 0] + math.sinh(eta) * x[..., 3]
    boosted[..., 3] = math.sinh(eta) * x[..., 0] + math.cosh(eta) * x[..., 3]
    c, s = math.cos(1.1), math.sin(1.1)
    rotated = boosted.clone()
    rotated[..., 1], rotated[..., 2] = c * boosted[..., 1] - s * boosted[..., 2], s * boosted[..., 1] + c * boosted[..., 2]
    net = net.double()
    with torch.no_grad():
        assert torch.allclose(net(x), net(rotated), atol=1e-8)


def test_breit_wigner_feature_at_the_pole() -> None:
    """A W+ candidate at exactly the W mass gives log(Γ²/M²) for its Breit-Wigner feature."""
    cfg = load_train_config(config_dir() / "tt.yaml")[0]
    shapes = resonance_shapes(cfg, load_process("tt"))
    w_slots, mw, ww = shapes[1]
    assert w_slots == (3, 4) and 79 < mw < 81 and 1.5 < ww < 2.5
    net = AfterstateQNetwork(QNetConfig(kind="afterstate", hidden=16), 8, shapes).double()
    x = momenta(n=1)
    # two back-to-back massless momenta of energy M/2 each: invariant mass M
    x[0, 3] = torch.tensor([mw / 2, 0.0, 0.0, mw / 2], dtype=torch.float64)
    x[0, 4] = torch.tensor([mw / 2, 0.0, 0.0, -mw / 2], dtype=torch.float64)
    f = net.features(x, torch.zeros(1, 1, dtype=torch.int64))
    n_pairs, n_final = 28, 6
    assert math.isclose(float(f[0, 0, n_pairs + n_final + 1]), 2 * math.log(ww / mw), rel_tol=1e-6)


def test_parity_odd_features_are_the_epsilon_tensor_and_flip_under_parity() -> None:
    """ε(p_1, p_2, p_i, p_j) = det of the four momenta (rows), and a parity flip changes its sign only."""
    net = tt_net(parity_odd=True).double()
    x = momenta()
    f = net.features(x, torch.zeros(3, 1, dtype=torch.int64))[:, 0]
    odd = f[:, -15:]  # final slot pairs (2, 3), (2, 4), ... (6, 7)
    expected = torch.asinh(torch.linalg.det(x[:, [0, 1, 2, 3]]) / 100.0**4)
    assert torch.allclose(odd[:, 0], expected, rtol=1e-10)
    flipped = x.clone()
    flipped[..., 1:] *= -1
    g = net.features(flipped, torch.zeros(3, 1, dtype=torch.int64))[:, 0]
    assert torch.allclose(g[:, -15:], -odd, rtol=1e-10) and torch.allclose(g[:, :-15], f[:, :-15], rtol=1e-10)
