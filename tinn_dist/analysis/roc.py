"""Receiver operating characteristic of a one-dimensional score (numpy only).

Convention: a larger score means "more signal-like". ε_s (signal efficiency, true-positive rate) and ε_b
(background efficiency, false-positive rate) are the fractions of signal and background events with
score >= threshold. Events with equal scores cross a threshold together, so the curve has one point per
distinct score and the area under it (trapezoids) counts a signal–background tie as one half — the
Mann–Whitney U statistic divided by n_s·n_b.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinn_dist.errors import TinnError

__all__ = ["RocCurve", "auc", "inverse_background_efficiency", "plot_roc", "roc_curve", "roc_summary"]


@dataclass(frozen=True, slots=True)
class RocCurve:
    """Points (ε_b, ε_s) from (0, 0) to (1, 1), both non-decreasing."""

    eps_b: np.ndarray
    eps_s: np.ndarray


def _check(scores: np.ndarray, what: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) == 0:
        raise TinnError(f"ROC: no {what} events")
    if not np.isfinite(scores).all():
        bad = int(np.flatnonzero(~np.isfinite(scores))[0])
        raise TinnError(f"ROC: {what} score of event {bad} is {scores[bad]}; expected a finite number")
    return scores


def roc_curve(signal: np.ndarray, background: np.ndarray) -> RocCurve:
    """The ROC curve of ``signal`` vs ``background`` scores (1-d arrays, larger = more signal-like)."""
    signal = _check(signal, "signal")
    background = _check(background, "background")
    scores = np.concatenate([signal, background])
    is_signal = np.concatenate([np.ones(len(signal)), np.zeros(len(background))])
    order = np.argsort(-scores, kind="stable")
    scores, is_signal = scores[order], is_signal[order]
    # last index of every run of equal scores: the thresholds
    ends = np.r_[np.flatnonzero(np.diff(scores) != 0), len(scores) - 1]
    tp = np.cumsum(is_signal)[ends]
    fp = (ends + 1) - tp
    eps_s = np.r_[0.0, tp / len(signal)]
    eps_b = np.r_[0.0, fp / len(background)]
    return RocCurve(eps_b=eps_b, eps_s=eps_s)


def auc(curve: RocCurve) -> float:
    """Area under ε_s(ε_b): the probability that a random signal event outscores a random background one."""
    return float(np.trapezoid(curve.eps_s, curve.eps_b))


def inverse_background_efficiency(curve: RocCurve, eps_s: float = 0.3) -> float:
    """1/ε_b at signal efficiency ``eps_s`` (ε_b interpolated linearly along the curve); inf if ε_b = 0."""
    if not 0.0 < eps_s <= 1.0:
        raise TinnError(f"signal efficiency must be in (0, 1], got {eps_s}")
    # the first point reaching eps_s and the one before it bracket it (curve starts at ε_s = 0 < eps_s)
    k = int(np.searchsorted(curve.eps_s, eps_s, side="left"))
    s0, s1 = curve.eps_s[k - 1], curve.eps_s[k]
    b0, b1 = curve.eps_b[k - 1], curve.eps_b[k]
    eps_b = b0 + (b1 - b0) * (eps_s - s0) / (s1 - s0)
    return math.inf if eps_b == 0.0 else float(1.0 / eps_b)


def roc_summary(signal: np.ndarray, background: np.ndarray, eps_s: float = 0.3) -> dict[str, float | None]:
    """JSON-able ``{"auc", "inv_eps_b", "eps_s", "n_signal", "n_background"}``; inv_eps_b None if infinite."""
    curve = roc_curve(signal, background)
    inv = inverse_background_efficiency(curve, eps_s)
    return {
        "auc": auc(curve),
        "inv_eps_b": None if math.isinf(inv) else inv,
        "eps_s": eps_s,
        "n_signal": int(np.size(signal)),
        "n_background": int(np.size(background)),
    }


def plot_roc(curves: dict[str, RocCurve], out: str | Path, title: str, inverse: bool = False) -> Path:
    """One line per labelled curve, the AUC in the legend. ``inverse``: 1/ε_b (log) against ε_s as in the
    paper's Fig. 9, else ε_s against ε_b with the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for label, curve in curves.items():
        name = f"{label} (AUC {auc(curve):.3f})"
        if inverse:
            keep = curve.eps_b > 0
            ax.plot(curve.eps_s[keep], 1.0 / curve.eps_b[keep], label=name)
        else:
            ax.plot(curve.eps_b, curve.eps_s, label=name)
    if inverse:
        ax.set_yscale("log")
        ax.set_xlabel(r"signal efficiency $\epsilon_s$")
        ax.set_ylabel(r"background rejection $1/\epsilon_b$")
        ax.set_xlim(0, 1)
    else:
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel(r"background efficiency $\epsilon_b$")
        ax.set_ylabel(r"signal efficiency $\epsilon_s$")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return Path(out)
