"""PNG figures of a run (the paper's Figs. 3-6): training reward, log(m/m_true) histogram, resonance masses."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from tinn_dist.processes import Process

__all__ = ["plot_log_ratio", "plot_masses", "plot_training_reward"]

_LABELS = {
    "agent": "agent (greedy)",
    "start": "starting order",
    "greedy": "greedy ME hill-climb",
    "exhaustive": "exhaustive argmax",
}


def plot_training_reward(metrics_csv: str | Path, out: str | Path) -> Path | None:
    """Mean episode reward (gain log(m_final/m_start)) per logging interval vs episodes; None without rows."""
    path = Path(metrics_csv)
    if not path.is_file():
        return None
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    ep = np.array([float(r["episodes"]) for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ep, [float(r["mean_gain"]) for r in rows], label="all episodes")
    ax.plot(ep, [float(r["greedy_gain"]) for r in rows], label="greedy episodes")
    ax.set_xlabel("episode")
    ax.set_ylabel(r"reward per episode  $\log(m_T/m_0)$")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return Path(out)


def plot_log_ratio(log_ratios: dict[str, np.ndarray], out: str | Path) -> Path:
    """Histogram of log(m_final/m_true) for the agent, with the starting order (and other baselines) as lines."""
    values = np.concatenate(list(log_ratios.values()))
    lo = max(float(np.quantile(values, 0.01)), -60.0)
    hi = max(float(values.max()), 0.0) + 0.5
    bins = np.linspace(lo, hi, 60)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, v in log_ratios.items():
        kw = (
            {"histtype": "stepfilled", "alpha": 0.5}
            if name == "agent"
            else {"histtype": "step", "linewidth": 1.5}
        )
        ax.hist(np.clip(v, lo, hi), bins=bins, label=f"{_LABELS.get(name, name)} ({len(v)})", **kw)
    ax.axvline(0.0, color="k", linestyle=":", linewidth=1)
    ax.set_xlabel(r"$\log(m_\mathrm{final}/m_\mathrm{true})$")
    ax.set_ylabel("events")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return Path(out)


def plot_masses(
    process: Process, agent: dict[str, np.ndarray], truth: dict[str, np.ndarray], out: str | Path
) -> Path:
    """One panel per resonance: reconstructed mass under the agent's assignment vs the true assignment."""
    names = list(truth)
    cols = min(len(names), 4)
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        centre = float(np.median(truth[name]))
        bins = np.linspace(centre - 40, centre + 40, 81)
        ax.hist(truth[name], bins=bins, histtype="stepfilled", alpha=0.4, label="truth")
        ax.hist(agent[name], bins=bins, histtype="step", linewidth=1.5, label="agent")
        ax.set_title(name)
        ax.set_xlabel("mass [GeV]")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{process.name}: reconstructed resonance masses")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return Path(out)
