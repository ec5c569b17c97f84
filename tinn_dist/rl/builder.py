"""The one builder: every runner (local trainer, Ray actors, evaluation) makes its parts here from a config."""

from __future__ import annotations

import numpy as np

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import build_matrix_element
from tinn_dist.processes import Process, load_process
from tinn_dist.rl.actor import EpisodeRunner
from tinn_dist.rl.config import TrainConfig
from tinn_dist.rl.dqn import DQNLearner
from tinn_dist.rl.env import AssignmentEnv, n_actions
from tinn_dist.rl.qnet import QNetwork
from tinn_dist.rl.replay import RewardBinnedReplay

__all__ = [
    "build_env",
    "build_learner",
    "build_qnet",
    "build_replay",
    "build_runner",
    "check_events",
    "holdout_split",
]


def holdout_split(n_events: int, holdout_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) event indices: the last ``holdout_fraction`` of the file is never trained on."""
    n_test = round(n_events * holdout_fraction)
    if n_events - n_test < 1 or n_test < 1:
        raise TinnError(f"{n_events} events cannot be split with holdout_fraction {holdout_fraction}")
    return np.arange(n_events - n_test), np.arange(n_events - n_test, n_events)


def check_events(cfg: TrainConfig, events: object, source: str) -> None:
    """The event set must belong to the config's process."""
    name = getattr(events, "process", None)
    if name != cfg.process:
        raise TinnError(f"{source}: events are of process {name!r}, the config trains {cfg.process!r}")


def build_env(cfg: TrainConfig, momenta: np.ndarray) -> AssignmentEnv:
    """The batched environment over ``momenta`` (E, N, 4), with the config's matrix element built here."""
    return AssignmentEnv(build_matrix_element(cfg.backend_spec()), momenta)


def build_qnet(cfg: TrainConfig, process: Process | None = None) -> QNetwork:
    process = process or load_process(cfg.process)
    return QNetwork(cfg.qnet, process.n_external, n_actions(process.n_external))


def build_learner(cfg: TrainConfig, device: str = "cpu") -> DQNLearner:
    n = load_process(cfg.process).n_external
    return DQNLearner(cfg.qnet, cfg.dqn, n, n_actions(n), device=device)


def build_replay(cfg: TrainConfig, seed: int) -> RewardBinnedReplay:
    n = load_process(cfg.process).n_external
    return RewardBinnedReplay(cfg.replay.capacity_per_bin, n, n_actions(n), seed=seed)


def build_runner(cfg: TrainConfig, env: AssignmentEnv, seed: int) -> EpisodeRunner:
    return EpisodeRunner(env, build_qnet(cfg), seed=seed)
