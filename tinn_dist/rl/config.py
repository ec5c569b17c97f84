"""Training configuration: one YAML file per process (``configs/<process>.yaml``) loaded into frozen dataclasses.

Every field has a one-line doc and a default equal to the paper's setup (Dillon & Spannowsky) where the paper
gives one; the engineering and algorithmic improvements are switches (``rollout.episodes_per_batch``,
``dqn.replay_ratio``, ``dqn.double``, ``dqn.batch_size``, ``dqn.lr``, ``dqn.grad_clip_norm``). Unknown keys and
wrong types raise :class:`TinnError` naming the file and the dotted key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import BackendSpec

__all__ = [
    "DQNConfig",
    "EventsConfig",
    "ExplorationConfig",
    "MatrixElementConfig",
    "QNetConfig",
    "ReplayConfig",
    "RolloutConfig",
    "TrainConfig",
    "TrainLoopConfig",
    "config_from_dict",
]


@dataclass(frozen=True, slots=True)
class MatrixElementConfig:
    backend: str = "builtin"  # builtin (our torch engine) or madgraph (compiled standalone matrix2py)
    alphas: float = 0.13  # fixed strong coupling (paper: 0.13)
    param_card: str | None = None  # None: the project's configs/param_card.dat
    madgraph_dir: str | None = None  # SubProcesses/P1_* directory (madgraph backend only)
    device: str = "cpu"  # torch device of the built-in engine


@dataclass(frozen=True, slots=True)
class EventsConfig:
    path: str | None = None  # training events (Parquet from `tinn convert` / `tinn generate`); --events wins
    holdout_fraction: float = 0.2  # last fraction of the file never trained on (the held-out test set)


@dataclass(frozen=True, slots=True)
class QNetConfig:
    kind: str = "transformer"  # transformer (the paper's) or afterstate (tinn_dist/rl/afterstate_qnet.py)
    d_model: int = 128  # transformer width (paper: 128)
    n_layers: int = 4  # encoder layers (paper: 4)
    n_heads: int = 4  # attention heads (paper: 4)
    dropout: float = 0.1  # dropout in the encoder (paper: 0.1)
    ff_dim: int = 128  # feed-forward width inside each encoder layer (not stated in the paper)
    hidden: int = 128  # width of the dense layers before the outputs (paper: 128-128-d_A)
    mlp_layers: int = 2  # number of those dense layers (paper: 2)
    resonance_features: bool = True  # afterstate only: Breit-Wigner and decay-angle invariants of the decay tree
    momentum_scale: float = 100.0  # GeV; four-momenta are divided by this before the embedding
    norm_first: bool = (
        False  # pre-LayerNorm encoder layers (stabler at larger learning rates; paper: post-LN)
    )


@dataclass(frozen=True, slots=True)
class DQNConfig:
    gamma: float = 0.1  # discount (paper: 0.01-0.5 depending on the process)
    lr: float = 1e-5  # Adam learning rate (paper: 1e-5)
    batch_size: int = 32  # transitions per update (paper: 32)
    reward_scale: float = 1.0  # rewards times this in the Bellman target (Q learns scale x return; paper: 1)
    loss: str = "mse"  # mse (paper) or huber (smooth L1, delta 1: bounded gradients for |TD error| > 1)
    double: bool = False  # double DQN: policy net picks the next action, target net values it (paper: off)
    target_sync_episodes: int = 100  # copy policy -> target every this many episodes
    replay_ratio: float = 1.0  # learner samples consumed per transition added to replay
    learning_starts: int = 1000  # transitions in replay before the first update
    grad_clip_norm: float | None = None  # clip the gradient's global norm (None: no clipping, as the paper)


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    capacity_per_bin: int = 100_000  # ring-buffer size of each of the four reward bins


@dataclass(frozen=True, slots=True)
class ExplorationConfig:
    epsilon_start: float = 1.0  # ε of the first episode (paper: 1.0)
    epsilon_decay: float = 0.999  # ε multiplied by this per episode (paper: 0.999)
    epsilon_min: float = 0.5  # ε floor (paper: 0.5)
    explore_every: int = 2  # random actions only in every this-many-th episode (paper: 2); others greedy


@dataclass(frozen=True, slots=True)
class RolloutConfig:
    episodes_per_batch: int = 1  # episodes stepped in lockstep per env step (paper: 1)
    me_call_per_rollout: bool = False  # one batched |M|^2 call per rollout, not per step (paper: per step)


@dataclass(frozen=True, slots=True)
class TrainLoopConfig:
    checkpoint_every: int = 10_000  # episodes between checkpoints (also on Ctrl-C and at the end)
    log_every: int = 2_000  # episodes between rows of metrics.csv
    max_episodes: int = 300_000  # stop after this many episodes (paper: ~3e5); --max-episodes wins


@dataclass(frozen=True, slots=True)
class TrainConfig:
    process: str  # catalogue name (tt, ttw, tttt, wwuu, wwuu_LL, ...)
    seed: int = 0  # seeds numpy and torch
    matrix_element: MatrixElementConfig = field(default_factory=MatrixElementConfig)
    events: EventsConfig = field(default_factory=EventsConfig)
    qnet: QNetConfig = field(default_factory=QNetConfig)
    dqn: DQNConfig = field(default_factory=DQNConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    exploration: ExplorationConfig = field(default_factory=ExplorationConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    train: TrainLoopConfig = field(default_factory=TrainLoopConfig)

    def backend_spec(self) -> BackendSpec:
        """The picklable recipe to build this config's matrix element in any process."""
        me = self.matrix_element
        return BackendSpec(
            process=self.process,
            backend=me.backend,
            alphas=me.alphas,
            param_card=me.param_card,
            madgraph_dir=me.madgraph_dir,
            device=me.device,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **sections: Any) -> TrainConfig:
        """A copy with some fields replaced; nested sections given as dicts update only the keys named."""
        data = self.to_dict()
        for key, value in sections.items():
            if isinstance(value, dict):
                data[key].update(value)
            else:
                data[key] = value
        return config_from_dict(data, "overrides")


def _convert(value: Any, tp: Any, key: str, source: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key, source)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(value, inner, key, source)
    if tp is bool:
        if not isinstance(value, bool):
            raise TinnError(f"{source}: key {key!r} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TinnError(f"{source}: key {key!r} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TinnError(f"{source}: key {key!r} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise TinnError(f"{source}: key {key!r} must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp!r}")  # pragma: no cover - a programming error


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    if not isinstance(data, dict):
        raise TinnError(f"{source}: {prefix or 'the file'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise TinnError(f"{source}: unknown key {where!r}; expected one of {sorted(names)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(
                data[f.name], hints[f.name], f"{prefix}.{f.name}" if prefix else f.name, source
            )
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise TinnError(f"{source}: missing key {(prefix + '.' if prefix else '') + f.name!r}")
    return cls(**kwargs)


def _validate(cfg: TrainConfig, source: str) -> None:
    from tinn_dist.processes import load_process

    load_process(cfg.process)
    cfg.backend_spec()  # validates backend / alphas / madgraph_dir
    checks = [
        (0.0 <= cfg.dqn.gamma <= 1.0, "dqn.gamma", "in [0, 1] (episodes end after N - 3 steps)"),
        (cfg.dqn.lr > 0, "dqn.lr", "> 0"),
        (cfg.dqn.loss in ("mse", "huber"), "dqn.loss", "'mse' or 'huber'"),
        (cfg.dqn.reward_scale > 0, "dqn.reward_scale", "> 0"),
        (cfg.dqn.batch_size >= 1, "dqn.batch_size", ">= 1"),
        (cfg.dqn.target_sync_episodes >= 1, "dqn.target_sync_episodes", ">= 1"),
        (cfg.dqn.replay_ratio > 0, "dqn.replay_ratio", "> 0"),
        (cfg.dqn.learning_starts >= 1, "dqn.learning_starts", ">= 1"),
        (cfg.dqn.grad_clip_norm is None or cfg.dqn.grad_clip_norm > 0, "dqn.grad_clip_norm", "> 0 or null"),
        (cfg.replay.capacity_per_bin >= 1, "replay.capacity_per_bin", ">= 1"),
        (
            0.0 <= cfg.exploration.epsilon_min <= cfg.exploration.epsilon_start <= 1.0,
            "exploration.epsilon_start/epsilon_min",
            "0 <= epsilon_min <= epsilon_start <= 1",
        ),
        (0.0 < cfg.exploration.epsilon_decay <= 1.0, "exploration.epsilon_decay", "in (0, 1]"),
        (cfg.exploration.explore_every >= 1, "exploration.explore_every", ">= 1"),
        (cfg.rollout.episodes_per_batch >= 1, "rollout.episodes_per_batch", ">= 1"),
        (cfg.qnet.kind in ("transformer", "afterstate"), "qnet.kind", "'transformer' or 'afterstate'"),
        (cfg.qnet.mlp_layers >= 1, "qnet.mlp_layers", ">= 1"),
        (cfg.qnet.d_model % cfg.qnet.n_heads == 0, "qnet.d_model", "divisible by qnet.n_heads"),
        (0.0 <= cfg.qnet.dropout < 1.0, "qnet.dropout", "in [0, 1)"),
        (cfg.qnet.momentum_scale > 0, "qnet.momentum_scale", "> 0"),
        (0.0 < cfg.events.holdout_fraction < 1.0, "events.holdout_fraction", "in (0, 1)"),
        (cfg.train.checkpoint_every >= 1, "train.checkpoint_every", ">= 1"),
        (cfg.train.log_every >= 1, "train.log_every", ">= 1"),
        (cfg.train.max_episodes >= 1, "train.max_episodes", ">= 1"),
    ]
    for ok, key, expected in checks:
        if not ok:
            raise TinnError(f"{source}: key {key!r} must be {expected}")


def config_from_dict(data: Any, source: str = "config") -> TrainConfig:
    """Build and validate a :class:`TrainConfig` from plain data (a parsed YAML file or a checkpoint)."""
    cfg = _build(TrainConfig, data, "", source)
    _validate(cfg, source)
    return cfg

