"""The paper's anomaly-detection baseline (Dillon & Spannowsky, Sec. 6): a dense autoencoder trained on
background only; the anomaly score is the reconstruction error.

Input: the four-momenta of the final-state partons in the stored (energy-ordered) order, in units of 100 GeV —
24 numbers for six partons. Network: input → 64 → 64 → latent 6 → 64 → 64 → input, ReLU between layers,
linear latent and output; MSE loss, Adam.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tinn_dist.errors import TinnError

__all__ = [
    "Autoencoder",
    "AutoencoderConfig",
    "autoencoder_features",
    "plot_training_loss",
    "reconstruction_error",
    "train_autoencoder",
]

MOMENTUM_UNIT_GEV = 100.0


@dataclass(frozen=True, slots=True)
class AutoencoderConfig:
    hidden: int = 64  # width of both hidden layers of encoder and decoder
    latent: int = 6
    epochs: int = 500  # paper: 500 (loss converged by ~200)
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("hidden", "latent", "batch_size"):
            if getattr(self, name) < 1:
                raise TinnError(f"autoencoder {name} must be >= 1, got {getattr(self, name)}")
        if self.epochs < 1:
            raise TinnError(f"autoencoder epochs must be >= 1, got {self.epochs}")
        if not self.lr > 0:
            raise TinnError(f"autoencoder lr must be > 0, got {self.lr}")


def autoencoder_features(momenta: np.ndarray) -> np.ndarray:
    """(E, 4·(N-2)) float32: final-state rows of stored-order momenta (E, N, 4), flattened, in 100 GeV."""
    momenta = np.asarray(momenta, dtype=np.float64)
    if momenta.ndim != 3 or momenta.shape[2] != 4 or momenta.shape[1] < 3:
        raise TinnError(f"autoencoder input must be momenta shaped (E, N, 4), got {momenta.shape}")
    final = momenta[:, 2:, :]
    return (final.reshape(len(final), -1) / MOMENTUM_UNIT_GEV).astype(np.float32)


class Autoencoder(nn.Module):
    def __init__(self, n_inputs: int, hidden: int = 64, latent: int = 6) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(n_inputs, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, latent),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_inputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def train_autoencoder(
    features: np.ndarray, cfg: AutoencoderConfig, progress: bool = False
) -> tuple[Autoencoder, list[float]]:
    """Train on ``features`` (E, D) (background only); returns the model (eval mode) and the mean MSE of
    every epoch. Deterministic for a given ``cfg.seed`` (the global torch RNG is left untouched)."""
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    if x.ndim != 2 or len(x) == 0:
        raise TinnError(f"autoencoder training needs a non-empty (E, D) feature array, got {tuple(x.shape)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = Autoencoder(x.shape[1], cfg.hidden, cfg.latent)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    losses = []
    epochs = range(cfg.epochs)
    if progress:
        from tqdm import tqdm

        epochs = tqdm(epochs, desc="autoencoder", unit="epoch")
    model.train()
    for _ in epochs:
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for start in range(0, len(x), cfg.batch_size):
            batch = x[order[start : start + cfg.batch_size]]
            loss = nn.functional.mse_loss(model(batch), batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
        if progress:
            epochs.set_postfix(loss=f"{losses[-1]:.4g}")
    return model.eval(), losses


@torch.no_grad()
def reconstruction_error(model: Autoencoder, features: np.ndarray) -> np.ndarray:
    """(E,) float64 mean squared reconstruction error per event: the anomaly score."""
    x = torch.as_tensor(np.asarray(features, dtype=np.float32))
    return ((model(x) - x) ** 2).mean(dim=1).double().numpy()


def plot_training_loss(losses: list[float], out: str | Path) -> Path:
    """Training MSE per epoch (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set_xlabel("epoch")
    ax.set_ylabel("autoencoder training MSE (background)")
    ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return Path(out)
