"""The run directory's metrics log (``RUN/metrics.csv``), shared by the local and the Ray runner."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

__all__ = ["METRICS_FIELDS", "METRICS_NAME", "append_metrics_row", "truncate_metrics"]

METRICS_NAME = "metrics.csv"
METRICS_FIELDS = (
    "episodes",
    "env_steps",
    "me_evals",
    "updates",
    "wall_s",
    "episodes_per_s",
    "env_steps_per_s",
    "me_evals_per_s",
    "updates_per_s",
    "mean_gain",
    "greedy_gain",
    "epsilon",
    "loss",
    "q_mean",
    "replay_size",
)


def append_metrics_row(run_dir: Path, row: dict[str, Any]) -> None:
    """Append one interval's row, writing the header when the file is new."""
    path = run_dir / METRICS_NAME
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRICS_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def truncate_metrics(run_dir: Path, episodes: int) -> None:
    """Drop rows written after the checkpoint being resumed (a crash between checkpoint and log)."""
    path = run_dir / METRICS_NAME
    if not path.exists():
        return
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["episodes"]) <= episodes]
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRICS_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
