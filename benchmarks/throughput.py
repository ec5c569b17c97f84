"""Env-step and learner-sample throughput of the Ray runner against two baselines, same machine, one invocation.

  paper   the paper's loop: one episode at a time, one single-event |M|^2 call per step, one network forward
          per step, one update (batch 32) per step — the local trainer with episodes_per_batch 1 and
          replay_ratio 32 (one update of 32 per transition), the paper's transformer and optimiser settings;
  ours    the Ray runner (tinn_dist.distributed) with the process's config (configs/<process>.yaml), with 1 and
          2 rollout workers, 2 replay shards and a CPU learner;
  rllib   stock RLlib DQN (new API stack, one process: num_env_runners 0) on our gymnasium view of the same
          environment (FlattenObservation; RLlib's default MLP 128-128, since its DQN module takes no custom
          transformer or action mask without writing an RLModule — illegal swaps act as do-nothing in the env).

Each runs for --seconds of wall time (after its processes start). Events: --events phase-space points of the
process (flat in the unit hypercube at sqrt(s_hat) = 2.5 x the threshold), so no data file is needed; the
built-in matrix-element engine everywhere. Printed: rates, ratio of ours per core to the paper loop (ours uses
workers + 1 learner cores, capped at the machine's), parallel efficiency rate(2) / (2 rate(1)).
With --json the last line is a JSON list with one object per process.

    python benchmarks/throughput.py --processes tt tttt --seconds 30 --json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tinn_dist.distributed.config import distributed_from_dict, load_train_config
from tinn_dist.events.phase_space import PhaseSpace
from tinn_dist.events.store import EventSet
from tinn_dist.physics.matrix_element import default_param_card
from tinn_dist.processes import config_dir, load_process
from tinn_dist.rl.config import QNetConfig, TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def make_events(process_name: str, n: int, seed: int = 0) -> EventSet:
    process = load_process(process_name)
    ps = PhaseSpace.for_process(process, default_param_card())
    rng = np.random.default_rng(seed)
    batch = ps.generate(rng.random((n, ps.dim)), np.full(n, 2.5 * ps.min_mass))
    return EventSet.from_true_order(process, batch.momenta, np.ones(n), np.array(["phase space"] * n), np.arange(n))


def paper_config(cfg: TrainConfig) -> TrainConfig:
    return cfg.replace(
        qnet=dataclasses.asdict(QNetConfig()),  # the paper's transformer
        rollout={"episodes_per_batch": 1, "me_call_per_rollout": False},  # one |M|^2 call per step
        dqn={"batch_size": 32, "replay_ratio": 32.0, "learning_starts": 32, "lr": 1e-5, "double": False,
             "grad_clip_norm": None},
    )


def paper_loop(cfg: TrainConfig, events: EventSet, seconds: float) -> dict[str, float]:
    from tinn_dist.rl.trainer import LocalTrainer

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as run:
        trainer = LocalTrainer(paper_config(cfg), events, run)
        c = trainer.train(10**9, max_minutes=seconds / 60, progress=False)
    return {"steps_per_s": c.env_steps / c.wall_s, "samples_per_s": c.samples / c.wall_s}


def ours(cfg: TrainConfig, events: EventSet, workers: int, seconds: float) -> dict[str, float]:
    import ray

    from tinn_dist.distributed.driver import DistributedTrainer

    dist = distributed_from_dict({"rollout_workers": workers, "replay_shards": 2, "metrics_port": 0,
                                  "learner_num_gpus": 0, "eval_events": 64}, "benchmark")
    ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as run:
            trainer = DistributedTrainer(cfg, dist, events, run)
            try:
                c = trainer.train(10**9, max_minutes=seconds / 60, progress=False)
            finally:
                trainer.shutdown()
    finally:
        ray.shutdown()
    return {"steps_per_s": c.env_steps / c.wall_s, "samples_per_s": c.samples / c.wall_s}


def rllib(cfg: TrainConfig, events: EventSet, seconds: float) -> dict[str, float]:
    import gymnasium as gym
    import ray
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.tune.registry import register_env

    from tinn_dist.physics.matrix_element import build_matrix_element
    from tinn_dist.rl.env import AssignmentEnv, AssignmentGymEnv

    spec, momenta = cfg.backend_spec(), np.asarray(events.momenta)

    def make(_ctx: object) -> gym.Env:
        return gym.wrappers.FlattenObservation(AssignmentGymEnv(AssignmentEnv(build_matrix_element(spec), momenta)))

    torch.set_num_threads(1)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        register_env("tinn_assignment", make)
        algo = (
            DQNConfig()
            .environment("tinn_assignment")
            .env_runners(num_env_runners=0)
            .training(train_batch_size=32, lr=1e-5, gamma=cfg.dqn.gamma, num_steps_sampled_before_learning_starts=32,
                      replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer", "capacity": 100_000})
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[128, 128]))
            .reporting(min_sample_timesteps_per_iteration=50, min_time_s_per_iteration=1)
            .build_algo()
        )
        algo.train()  # first iteration: builds and warms up
        steps0, t0 = _rllib_steps(algo), time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            algo.train()
        dt = time.perf_counter() - t0
        steps = _rllib_steps(algo) - steps0
        algo.stop()
    finally:
        ray.shutdown()
    return {"steps_per_s": steps / dt}


def _rllib_steps(algo: object) -> int:
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME

    return int(algo.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", nargs="+", default=["tt", "tttt"])
    parser.add_argument("--seconds", type=float, default=30.0, help="wall time of each measurement")
    parser.add_argument("--events", type=int, default=4000, help="phase-space events per process")
    parser.add_argument("--replay-ratio", type=float, help="override dqn.replay_ratio of ours (default: the "
                        "config's); a small value measures the rollout side alone")
    parser.add_argument("--skip-rllib", action="store_true")
    parser.add_argument("--json", action="store_true", help="last line: JSON list, one object per process")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    results = []
    for name in args.processes:
        cfg, _ = load_train_config(config_dir() / f"{name}.yaml")
        events = make_events(name, args.events)
        paper = paper_loop(cfg, events, args.seconds)
        ours_cfg = cfg if args.replay_ratio is None else cfg.replace(dqn={"replay_ratio": args.replay_ratio})
        print(f"{name}: paper loop {paper['steps_per_s']:.1f} env steps/s", flush=True)
        rates = {}
        for workers in (1, 2):
            rates[workers] = ours(ours_cfg, events, workers, args.seconds)
            print(f"{name}: ours, {workers} rollout worker(s): {rates[workers]['steps_per_s']:.0f} env steps/s, "
                  f"{rates[workers]['samples_per_s']:.0f} learner samples/s", flush=True)
        rl = None if args.skip_rllib else rllib(cfg, events, args.seconds)["steps_per_s"]
        if rl is not None:
            print(f"{name}: RLlib DQN {rl:.1f} env steps/s", flush=True)
        best = max(rates, key=lambda w: rates[w]["steps_per_s"])
        per_core = rates[best]["steps_per_s"] / min(best + 1, cores)
        row = {
            "process": name,
            "paper_loop_steps_per_s": round(paper["steps_per_s"], 2),
            "rllib_steps_per_s": None if rl is None else round(rl, 2),
            "ours_steps_per_s": {str(w): round(r["steps_per_s"], 1) for w, r in rates.items()},
            "ours_learner_samples_per_s": {str(w): round(r["samples_per_s"], 1) for w, r in rates.items()},
            "ratio_vs_paper_per_core": round(per_core / paper["steps_per_s"], 1),
            "parallel_efficiency": round(rates[2]["steps_per_s"] / (2 * rates[1]["steps_per_s"]), 3),
            "ours_replay_ratio": ours_cfg.dqn.replay_ratio,
            "cores": cores,
        }
        print(f"{name}: ours per core / paper loop = {row['ratio_vs_paper_per_core']}x; parallel efficiency "
              f"1->2 workers = {row['parallel_efficiency']}", flush=True)
        results.append(row)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
