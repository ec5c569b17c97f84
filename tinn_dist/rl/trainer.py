"""The local single-process runner: the paper's DQN loop, with B episodes stepped in lockstep.

Each iteration, top to bottom:
  1. pick B training events at random; episode numbers k..k+B-1 give each its ε (schedule.py);
  2. play them to the end (T = N - 3 steps, one batched |M|^2 call per step) with the CPU policy copy;
  3. add the B·T transitions to the reward-binned replay;
  4. once replay holds ``learning_starts`` transitions, do updates until the learner has consumed
     ``replay_ratio`` samples per transition added (decoupled from env steps: ratio, not "one update per step");
  5. copy the policy to the target net every ``target_sync_episodes`` episodes; hand the new weights (with their
     version) to the policy copy.
Every ``log_every`` episodes a row goes to ``RUN/metrics.csv``; every ``checkpoint_every`` episodes, at the end
and on Ctrl-C (at the next batch boundary) ``RUN/checkpoint.pt`` is written. The replay buffer is not
checkpointed: after ``--resume`` it refills (``learning_starts`` again) while every counter, RNG state and ε
continue.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm import tqdm

from tinn_dist.rl.builder import build_env, build_learner, build_replay, build_runner, holdout_split
from tinn_dist.rl.checkpoint import load_resumable_checkpoint, save_checkpoint
from tinn_dist.rl.config import TrainConfig
from tinn_dist.rl.metrics_log import append_metrics_row, truncate_metrics
from tinn_dist.rl.progress import CtrlC, RateMeter
from tinn_dist.rl.schedule import EpsilonSchedule

__all__ = ["Counters", "LocalTrainer"]



@dataclass(slots=True)
class Counters:
    episodes: int = 0
    env_steps: int = 0
    me_evals: int = 0
    updates: int = 0
    samples: int = 0  # transitions consumed by the learner
    wall_s: float = 0.0  # training wall time summed over runs (resume included)
    sample_credit: float = 0.0  # samples owed to the learner by the replay ratio, not yet consumed
    target_synced_at: int = 0  # episode count at the last target sync


class LocalTrainer:
    """Builds all parts from ``cfg`` and trains on the training part of ``events`` in this process."""

    def __init__(self, cfg: TrainConfig, events: Any, run_dir: str | Path, device: str = "cpu") -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.train_idx, self.holdout_idx = holdout_split(len(events), cfg.events.holdout_fraction)
        torch.manual_seed(cfg.seed)
        self.env = build_env(cfg, np.asarray(events.momenta)[self.train_idx])
        self.learner = build_learner(cfg, device)
        self.runner = build_runner(cfg, self.env, seed=cfg.seed + 1)
        self._push_weights()
        self.replay = build_replay(cfg, seed=cfg.seed + 2)
        self.schedule = EpsilonSchedule(cfg.exploration)
        self.rng = np.random.default_rng(cfg.seed)
        self.counters = Counters()
        self._interval: dict[str, list[float]] = {"gain": [], "greedy_gain": [], "loss": [], "q_mean": []}

    def _push_weights(self) -> None:
        version, weights = self.learner.get_weights()
        self.runner.set_weights(weights, version)

    # -- one iteration -------------------------------------------------------------------------------------------
    def iteration(self) -> dict[str, float]:
        """Steps 1-5 of the module docstring for one lockstep batch; returns its statistics."""
        c, cfg = self.counters, self.cfg
        b = cfg.rollout.episodes_per_batch
        episode_ids = c.episodes + np.arange(b)
        epsilon = self.schedule.epsilon(episode_ids)
        events = self.rng.integers(len(self.env), size=b)
        me0, steps0 = self.env.me_evals, self.env.env_steps
        chunk, final = self.runner.run(events, epsilon)
        self.replay.add(chunk)
        c.episodes += b
        c.env_steps += self.env.env_steps - steps0
        c.me_evals += self.env.me_evals - me0
        gains = np.log(final.m / final.m_start)
        self._interval["gain"].extend(gains.tolist())
        self._interval["greedy_gain"].extend(gains[epsilon == 0].tolist())

        if len(self.replay) >= cfg.dqn.learning_starts:
            c.sample_credit += cfg.dqn.replay_ratio * len(chunk)
        while c.sample_credit >= cfg.dqn.batch_size:
            info = self.learner.update(self.replay.sample(cfg.dqn.batch_size))
            c.sample_credit -= cfg.dqn.batch_size
            c.samples += cfg.dqn.batch_size
            c.updates += 1
            self._interval["loss"].append(info["loss"])
            self._interval["q_mean"].append(info["q_mean"])
        if c.episodes - c.target_synced_at >= cfg.dqn.target_sync_episodes:
            self.learner.sync_target()
            c.target_synced_at = c.episodes
        if self.runner.weights_version != self.learner.version:
            self._push_weights()
        return {"mean_gain": float(gains.mean()), "epsilon": float(self.schedule.base_epsilon(c.episodes))}

    # -- the loop ------------------------------------------------------------------------------------------------
    def train(self, max_episodes: int, max_minutes: float | None = None, progress: bool = True) -> Counters:
        """Train until ``max_episodes`` episodes in total (resume included) or ``max_minutes`` of this run."""
        c, cfg = self.counters, self.cfg
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        start = time.perf_counter()
        wall0 = c.wall_s
        last_log = last_ckpt = c.episodes
        meter = RateMeter(c)
        bar = tqdm(
            total=max_episodes, initial=c.episodes, unit="ep", disable=not progress, dynamic_ncols=True
        )
        with CtrlC() as ctrl_c:
            try:
                while c.episodes < max_episodes and not ctrl_c.requested:
                    if max_minutes is not None and time.perf_counter() - start >= 60.0 * max_minutes:
                        break
                    stats = self.iteration()
                    c.wall_s = wall0 + time.perf_counter() - start
                    bar.update(cfg.rollout.episodes_per_batch)
                    rates = meter.rates()
                    bar.set_postfix(
                        ep_s=f"{rates['episodes_per_s']:.0f}",
                        steps_s=f"{rates['env_steps_per_s']:.0f}",
                        me_s=f"{rates['me_evals_per_s']:.0f}",
                        gain=f"{stats['mean_gain']:.2f}",
                        eps=f"{stats['epsilon']:.3f}",
                        refresh=False,
                    )
                    if c.episodes - last_log >= cfg.train.log_every:
                        self._log_row(rates, stats["epsilon"])
                        last_log = c.episodes
                        meter.reset()
                    if c.episodes - last_ckpt >= cfg.train.checkpoint_every:
                        self.save()
                        last_ckpt = c.episodes
            finally:
                bar.close()
                c.wall_s = wall0 + time.perf_counter() - start
                self.save()
        if ctrl_c.requested:
            raise KeyboardInterrupt
        return c

    def _log_row(self, rates: dict[str, float], epsilon: float) -> None:
        c = self.counters
        mean = {k: float(np.mean(v)) if v else float("nan") for k, v in self._interval.items()}
        row = {
            "episodes": c.episodes,
            "env_steps": c.env_steps,
            "me_evals": c.me_evals,
            "updates": c.updates,
            "wall_s": round(c.wall_s, 3),
            **{k: round(v, 3) for k, v in rates.items()},
            "mean_gain": mean["gain"],
            "greedy_gain": mean["greedy_gain"],
            "epsilon": epsilon,
            "loss": mean["loss"],
            "q_mean": mean["q_mean"],
            "replay_size": len(self.replay),
        }
        append_metrics_row(self.run_dir, row)
        for v in self._interval.values():
            v.clear()

    # -- checkpoints -----------------------------------------------------------------------------------------------
    def save(self) -> Path:
        payload = {
            "config": self.cfg.to_dict(),
            "learner": self.learner.state_dict(),
            "counters": dataclasses.asdict(self.counters),
            "epsilon": float(self.schedule.base_epsilon(self.counters.episodes)),
            "rng": {
                "events": self.rng.bit_generator.state,
                "runner": self.runner.rng.bit_generator.state,
                "replay": self.replay.get_rng_state(),
                "torch": torch.get_rng_state(),
            },
        }
        return save_checkpoint(self.run_dir, payload)

    def restore(self) -> None:
        """Continue from ``RUN/checkpoint.pt``: nets, optimizer, counters, RNG states (replay starts empty)."""
        payload = load_resumable_checkpoint(self.run_dir, self.cfg)
        self.learner.load_state_dict(payload["learner"])
        self._push_weights()
        self.counters = Counters(**payload["counters"])
        self.rng.bit_generator.state = payload["rng"]["events"]
        self.runner.rng.bit_generator.state = payload["rng"]["runner"]
        self.replay.set_rng_state(payload["rng"]["replay"])
        torch.set_rng_state(payload["rng"]["torch"])
        truncate_metrics(self.run_dir, self.counters.episodes)

