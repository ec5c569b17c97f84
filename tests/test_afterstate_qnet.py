"""The afterstate Q-network: Q(s, a) = g(s ∘ a) - g(s) with Lorentz-invariant inputs."""

from __future__ import annotations

import math

import torch

from tinn_dist.distributed.config import load_train_config
from tinn_dist.processes import config_dir, load_process
from tinn_dist.rl.afterstate_qnet import AfterstateQNetwork
from tinn_dist.rl.builder import build_qnet, resonance_shapes
from tinn_dist.rl.config import QNetConfig
from tinn_dist.rl.env import swap_pairs

torch.set_num_threads(1)


def tt_net() -> AfterstateQNetwork:
    cfg = load_train_config(config_dir() / "tt.yaml")[0].replace(qnet={"kind": "afterstate", "hidden": 32})
    torch.manual_seed(0)
    net = build_qnet(cfg).eval()
    assert isinstance(net, AfterstateQNetwork)
    return net


def momenta(seed: int = 0, n: int = 3, n_slots: int = 8) -> torch.Tensor:
    """Massless final-state momenta with two beam partons, in GeV (energy-momentum need not balance)."""
    g = torch.Generator().manual_seed(seed)
    p3 = torch.randn(n, n_slots, 3, generator=g, dtype=torch.float64) * 80
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


def test_lorentz_invariant() -> None:
    """Every input is an invariant, so a boost along z and a rotation leave Q unchanged."""
    net = tt_net()
    x = momenta()
    eta = 0.7
    boosted = x.clone()
    boosted[..., 0] = math.cosh(eta) * x[..., 0] + math.sinh(eta) * x[..., 3]
    boosted[..., 3] = math.sinh(eta) * x[..., 0] + math.cosh(eta) * x[..., 3]
    c, s = math.cos(1.1), math.sin(1.1)
    rotated = boosted.clone()
    rotated[..., 1], rotated[..., 2] = (
        c * boosted[..., 1] - s * boosted[..., 2],
        s * boosted[..., 1] + c * boosted[..., 2],
    )
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


def reference_inputs(x: torch.Tensor, shapes: tuple, scale: float = 100.0) -> torch.Tensor:
    """The network's inputs of one arrangement (N, 4), written out one by one from the module docstring."""

    def dot(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(a[0] * b[0] - a[1:] @ b[1:])

    n = len(x)
    f = [math.log(max(2 * dot(x[i], x[j]) / scale**2, 1e-8)) for i in range(n) for j in range(i + 1, n)]
    f += [math.log1p(abs(dot(x[s], x[s]))) for s in range(2, n)]
    sums = [x[list(slots)].sum(0) for slots, _, _ in shapes]
    f += [math.log(((dot(p, p) - m**2) ** 2 + m**2 * w**2) / m**4) for p, (_, m, w) in zip(sums, shapes)]
    f += [
        math.log(max(2 * dot(p, x[k]) / scale**2, 1e-8))
        for p, (slots, _, _) in zip(sums, shapes)
        for k in (0, 1, *slots)
    ]
    return torch.tensor(f, dtype=torch.float64)


def test_every_afterstate_input_matches_its_definition_tttt() -> None:
    """All 67 afterstates of tttt (8 resonances): the inputs read from the per-state table
    (forward) and from the rearranged momenta (features) are the invariants of the swapped momenta."""
    cfg = load_train_config(config_dir() / "tttt.yaml")[0].replace(qnet={"kind": "afterstate", "hidden": 16})
    torch.manual_seed(0)
    net = build_qnet(cfg).double().eval()
    shapes = resonance_shapes(cfg, load_process("tttt"))
    x = momenta(seed=3, n=2, n_slots=14)
    x[1, 5] = x[1, 2]  # a collinear pair: log(2 p·p) is clamped
    every = torch.arange(67).expand(2, -1)
    swapped = x[:, None].repeat(1, 67, 1, 1)
    for a, (i, j) in enumerate(swap_pairs(14), start=1):
        swapped[:, a, [i, j]] = x[:, [j, i]]
    expected = torch.stack([torch.stack([reference_inputs(s, shapes) for s in row]) for row in swapped])
    with torch.no_grad():
        assert torch.allclose(net.features(x, every), expected, rtol=1e-9, atol=1e-9)
        g = net.g(expected)
        assert torch.allclose(net(x), g - g[:, :1], rtol=1e-9, atol=1e-9)
        assert net(x[:0]).shape == (0, 67)
