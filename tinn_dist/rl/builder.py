"""The one builder: every runner (local trainer, Ray actors, evaluation) makes its parts here from a config."""

from __future__ import annotations

import numpy as np
from torch import nn

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import build_matrix_element, default_param_card
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import Process, load_process
from tinn_dist.rl.actor import EpisodeRunner
from tinn_dist.rl.afterstate_qnet import AfterstateQNetwork, ResonanceShape
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


def resonance_shapes(cfg: TrainConfig, process: Process) -> tuple[ResonanceShape, ...]:
    """(slots, mass, width) of every resonance of the process's decay tree, masses and widths from the
    config's param card (the model the matrix element uses)."""
    model = load_sm_model(cfg.matrix_element.param_card or default_param_card(), cfg.matrix_element.alphas)
    shapes = []
    for res in process.resonances:
        particle = model.particles[res.pdg]
        shapes.append((res.slots, model.params[particle.mass], model.params[particle.width]))
    return tuple(shapes)


def build_qnet(cfg: TrainConfig, process: Process | None = None) -> nn.Module:
    """The config's Q-network (``qnet.kind``): (B, N, 4) momenta in slot order -> (B, d_A) Q-values."""
    process = process or load_process(cfg.process)
    if cfg.qnet.kind == "afterstate":
        shapes = resonance_shapes(cfg, process) if cfg.qnet.resonance_features else ()
        return AfterstateQNetwork(cfg.qnet, process.n_external, shapes)
    return QNetwork(cfg.qnet, process.n_external, n_actions(process.n_external))


def build_learner(cfg: TrainConfig, device: str = "cpu") -> DQNLearner:
    return DQNLearner(build_qnet(cfg), cfg.dqn, device=device)


def build_replay(cfg: TrainConfig, seed: int) -> RewardBinnedReplay:
    n = load_process(cfg.process).n_external
    return RewardBinnedReplay(cfg.replay.capacity_per_bin, n, n_actions(n), seed=seed)


def build_runner(cfg: TrainConfig, env: AssignmentEnv, seed: int) -> EpisodeRunner:
    return EpisodeRunner(env, build_qnet(cfg), seed=seed, me_call_per_rollout=cfg.rollout.me_call_per_rollout)
