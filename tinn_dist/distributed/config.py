"""The ``distributed:`` section of a training config: how many Ray actors, their resources, and the knobs of the
actor-learner loop. Plain dataclass (no Ray import), validated at load like every other section.

A training YAML may carry this section next to the learning-core sections; :func:`load_train_config` splits it
off and hands the rest to :func:`tinn_dist.rl.config.config_from_dict`, so the local trainer and the Ray runner
read the same file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tinn_dist.errors import TinnError
from tinn_dist.rl.config import TrainConfig, config_from_dict

__all__ = ["DistributedConfig", "distributed_from_dict", "load_train_config"]

SECTION = "distributed"


@dataclass(frozen=True, slots=True)
class DistributedConfig:
    rollout_workers: int = 2  # RolloutWorker actors (each holds a matrix element and a CPU policy copy)
    replay_shards: int = 2  # ReplayShard actors (four reward bins each); the learner samples all evenly
    worker_num_cpus: float = 1.0  # CPUs Ray reserves per rollout worker
    shard_num_cpus: float = 0.0  # CPUs Ray reserves per replay shard (they mostly copy arrays)
    learner_num_cpus: float = 1.0  # CPUs Ray reserves for the learner
    learner_num_gpus: float | None = None  # GPUs for the learner; null: 1 when the cluster has one, else 0
    batches_per_call: int = 1  # lockstep batches (rollout.episodes_per_batch episodes each) per worker call
    max_weight_lag: int = 2  # a worker never acts with weights more than this many published versions old
    prefetch_batches: int = 4  # learner batch requests in flight to the shards (bounded with ray.wait)
    max_updates_per_call: int = 64  # learner updates per call; new weights are published after each call
    max_owed_updates: int = 256  # rollouts pause while the learner owes more updates than this (replay ratio)
    max_restarts: int = 20  # Ray restarts of a killed rollout worker / replay shard before the run fails
    metrics_port: int = 9470  # Prometheus endpoint of the driver (0: none); tinn_* metrics are served here
    eval_every: int = 0  # episodes between greedy evaluations on held-out events (0: only at the end)
    eval_events: int = 256  # held-out events per evaluation (ME-optimality metric)


def distributed_from_dict(data: Any, source: str) -> DistributedConfig:
    """Build and validate the section; unknown keys and wrong types name the dotted key and the file."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TinnError(f"{source}: {SECTION!r} must be a mapping, got {type(data).__name__}")
    names = {f.name: f for f in dataclasses.fields(DistributedConfig)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise TinnError(f"{source}: unknown key '{SECTION}.{key}'; expected one of {sorted(names)}")
        want = names[key].type
        if value is None and "None" in str(want):
            kwargs[key] = None
        elif "int" in str(want) and "float" not in str(want):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TinnError(f"{source}: key '{SECTION}.{key}' must be an integer, got {value!r}")
            kwargs[key] = value
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TinnError(f"{source}: key '{SECTION}.{key}' must be a number, got {value!r}")
            kwargs[key] = float(value)
    cfg = DistributedConfig(**kwargs)
    checks = [
        (cfg.rollout_workers >= 1, "rollout_workers", ">= 1"),
        (cfg.replay_shards >= 1, "replay_shards", ">= 1"),
        (cfg.worker_num_cpus > 0, "worker_num_cpus", "> 0"),
        (cfg.shard_num_cpus >= 0, "shard_num_cpus", ">= 0"),
        (cfg.learner_num_cpus >= 0, "learner_num_cpus", ">= 0"),
        (cfg.learner_num_gpus is None or cfg.learner_num_gpus >= 0, "learner_num_gpus", ">= 0 or null"),
        (cfg.batches_per_call >= 1, "batches_per_call", ">= 1"),
        (cfg.max_weight_lag >= 0, "max_weight_lag", ">= 0"),
        (cfg.prefetch_batches >= 1, "prefetch_batches", ">= 1"),
        (cfg.max_updates_per_call >= 1, "max_updates_per_call", ">= 1"),
        (cfg.max_owed_updates >= cfg.max_updates_per_call, "max_owed_updates", ">= max_updates_per_call"),
        (cfg.max_restarts >= 0, "max_restarts", ">= 0"),
        (0 <= cfg.metrics_port < 65536, "metrics_port", "a TCP port (0: off)"),
        (cfg.eval_every >= 0, "eval_every", ">= 0"),
        (cfg.eval_events >= 1, "eval_events", ">= 1"),
    ]
    for ok, key, expected in checks:
        if not ok:
            raise TinnError(f"{source}: key '{SECTION}.{key}' must be {expected}")
    return cfg


def load_train_config(path: str | Path) -> tuple[TrainConfig, DistributedConfig]:
    """The learning-core config and the ``distributed:`` section of one YAML file."""
    path = Path(path)
    if not path.is_file():
        raise TinnError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise TinnError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise TinnError(f"{path}: expected a mapping of config sections")
    dist = distributed_from_dict(data.pop(SECTION, None), str(path))
    return config_from_dict(data, str(path)), dist
