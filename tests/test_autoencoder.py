"""The paper's autoencoder baseline: inputs, architecture, training lowers the loss, score separates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinn_dist.analysis.autoencoder import (
    Autoencoder,
    AutoencoderConfig,
    autoencoder_features,
    plot_training_loss,
    reconstruction_error,
    train_autoencoder,
)
from tinn_dist.errors import TinnError


def _background(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 8, 4) momenta whose 24 final-state numbers lie on a 3-dimensional manifold (easy to encode)."""
    latent = rng.normal(size=(n, 3))
    mix = np.random.default_rng(0).normal(size=(3, 24))
    final = (100.0 * np.tanh(latent @ mix)).reshape(n, 6, 4)
    return np.concatenate([np.zeros((n, 2, 4)), final], axis=1)


def test_features_are_the_final_state_in_100_gev() -> None:
    momenta = np.arange(3 * 8 * 4, dtype=np.float64).reshape(3, 8, 4)
    x = autoencoder_features(momenta)
    assert x.shape == (3, 24) and x.dtype == np.float32
    np.testing.assert_allclose(x[1, :4], momenta[1, 2] / 100.0)  # first final-state (highest-energy) parton
    np.testing.assert_allclose(x[2, -4:], momenta[2, 7] / 100.0)
    with pytest.raises(TinnError, match=r"shaped \(E, N, 4\)"):
        autoencoder_features(np.zeros((3, 8)))


def test_architecture() -> None:
    model = Autoencoder(24)
    shapes = [tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")]
    assert shapes == [(64, 24), (64, 64), (6, 64), (64, 6), (64, 64), (24, 64)]
    with pytest.raises(TinnError, match="epochs must be >= 1"):
        AutoencoderConfig(epochs=0)


def test_training_lowers_the_loss_and_scores_outliers_higher(tmp_path) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(5)
    train = autoencoder_features(_background(256, rng))
    cfg = AutoencoderConfig(epochs=40, batch_size=64, lr=3e-3, seed=1)
    model, losses = train_autoencoder(train, cfg)
    assert len(losses) == 40 and losses[-1] < 0.3 * losses[0]
    held_out = autoencoder_features(_background(200, rng))
    outliers = autoencoder_features(
        np.concatenate([np.zeros((200, 2, 4)), rng.normal(0, 100, (200, 6, 4))], 1)
    )
    assert np.median(reconstruction_error(model, outliers)) > 3 * np.median(
        reconstruction_error(model, held_out)
    )
    short = AutoencoderConfig(epochs=2, batch_size=64, seed=1)
    assert train_autoencoder(train, short)[1] == train_autoencoder(train, short)[1]  # deterministic per seed
    assert plot_training_loss(losses, tmp_path / "loss.png").stat().st_size > 1000
    with pytest.raises(TinnError, match="non-empty"):
        train_autoencoder(np.zeros((0, 24)), cfg)
