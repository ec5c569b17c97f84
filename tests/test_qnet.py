"""The transformer Q-network: the paper's shape, slot identity, scaling and dropout behaviour."""

from __future__ import annotations

import torch

from tinn_dist.rl.config import QNetConfig
from tinn_dist.rl.qnet import QNetwork

# Two shared cores: one torch thread avoids oversubscription (2 threads on a busy machine run ~8x slower).
torch.set_num_threads(1)


def test_paper_architecture_shapes() -> None:
    torch.manual_seed(0)
    net = QNetwork(QNetConfig(), n_slots=14, n_actions=67)
    assert net.momentum_embed.in_features == 4 and net.momentum_embed.out_features == 128
    assert net.slot_embed.num_embeddings == 14
    assert len(net.encoder.layers) == 4 and net.encoder.layers[0].self_attn.num_heads == 4
    assert [m.out_features for m in net.head if isinstance(m, torch.nn.Linear)] == [128, 128, 67]
    assert net.eval()(torch.randn(5, 14, 4) * 100).shape == (5, 67)


def test_slot_identity_matters_and_output_is_deterministic_in_eval() -> None:
    torch.manual_seed(0)
    net = QNetwork(QNetConfig(d_model=32, n_layers=2, n_heads=4), n_slots=8, n_actions=16).eval()
    x = torch.randn(3, 8, 4) * 100
    swapped = x[:, [0, 1, 3, 2, 4, 5, 6, 7]]
    with torch.no_grad():
        assert torch.equal(net(x), net(x))
        # the same momenta in different slots is a different state (slot-ID embedding)
        assert not torch.allclose(net(x), net(swapped))


def test_momentum_scale_is_applied() -> None:
    torch.manual_seed(0)
    a = QNetwork(QNetConfig(d_model=16, n_layers=1, n_heads=2, momentum_scale=100.0), 8, 16).eval()
    b = QNetwork(QNetConfig(d_model=16, n_layers=1, n_heads=2, momentum_scale=1000.0), 8, 16).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 8, 4) * 100
    with torch.no_grad():
        assert torch.allclose(a(x), b(10 * x), atol=1e-5)


def test_dropout_active_only_in_training() -> None:
    torch.manual_seed(0)
    net = QNetwork(QNetConfig(d_model=32, n_layers=2, n_heads=4, dropout=0.5), 8, 16)
    x = torch.randn(4, 8, 4) * 100
    net.train()
    assert not torch.equal(net(x), net(x))
