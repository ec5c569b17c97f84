"""The Ray runner on a real local Ray instance: short runs with a tiny Q-network and the built-in tt engine.

Covers the replay ratio, weight-version lag, checkpoint + resume with the same counters, and fault injection
(``ray.kill`` of a rollout worker and of a replay shard mid-run: training still reaches its episode budget).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import ray

from tinn_dist.distributed.cluster import plan_resources
from tinn_dist.distributed.config import DistributedConfig, distributed_from_dict, load_train_config
from tinn_dist.distributed.learner import shard_shares
from tinn_dist.distributed.rollout_worker import ShardRouter
from tinn_dist.errors import TinnError
from tinn_dist.events.phase_space import PhaseSpace
from tinn_dist.events.store import EventSet
from tinn_dist.physics.matrix_element import default_param_card
from tinn_dist.processes import load_process
from tinn_dist.rl.checkpoint import load_checkpoint
from tinn_dist.rl.config import config_from_dict
from tinn_dist.rl.replay import reward_bin
from tinn_dist.rl.transitions import Transitions

TINY = {
    "process": "tt",
    "qnet": {"d_model": 16, "n_layers": 1, "n_heads": 2, "ff_dim": 16, "hidden": 16},
    "dqn": {"learning_starts": 64, "batch_size": 16, "target_sync_episodes": 40},
    "rollout": {"episodes_per_batch": 16},
    "replay": {"capacity_per_bin": 4000},
    "train": {"checkpoint_every": 96, "log_every": 48},
}


def tiny_config(**sections):
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY.items()}
    for k, v in sections.items():
        data.setdefault(k, {}).update(v)
    return config_from_dict(data, "test")


def tiny_dist(**kw) -> DistributedConfig:
    base = {"rollout_workers": 2, "replay_shards": 2, "metrics_port": 0, "eval_events": 40}
    return distributed_from_dict({**base, **kw}, "test")


@pytest.fixture(scope="module")
def tt_events() -> EventSet:
    process = load_process("tt")
    ps = PhaseSpace.for_process(process, default_param_card())
    rng = np.random.default_rng(1)
    n = 300
    batch = ps.generate(rng.random((n, ps.dim)), rng.uniform(500.0, 900.0, n))
    return EventSet.from_true_order(process, batch.momenta, np.ones(n), np.array(["generated"] * n), np.arange(n))


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _chunk(rewards: np.ndarray) -> Transitions:
    n = len(rewards)
    return Transitions(np.zeros((n, 8, 4), np.float32), np.zeros(n, np.int64), rewards.astype(np.float32),
                       np.zeros((n, 8, 4), np.float32), np.ones((n, 16), bool), np.zeros(n, bool))


# -- pieces without Ray ------------------------------------------------------------------------------------------
def test_router_gives_every_shard_an_equal_share_of_every_bin():
    router = ShardRouter(3)
    rng = np.random.default_rng(0)
    counts = np.zeros((3, 4), int)
    for _ in range(20):
        rewards = rng.choice([-20.0, -1.0, 1.0, 20.0], size=rng.integers(1, 40), p=[0.2, 0.6, 0.15, 0.05])
        for s, part in enumerate(router.split(_chunk(rewards))):
            counts[s] += np.bincount(reward_bin(part.reward), minlength=4)
    assert (counts.max(axis=0) - counts.min(axis=0) <= 1).all(), counts


def test_shard_shares_split_the_batch_evenly():
    assert shard_shares(32, 3, 0) == [11, 11, 10]
    assert shard_shares(32, 3, 1) == [10, 11, 11]
    assert sum(shard_shares(7, 4, 5)) == 7


def test_distributed_section_is_validated(tmp_path):
    path = tmp_path / "tt.yaml"
    path.write_text("process: tt\ndistributed:\n  rollout_workers: 3\n  replay_shard: 2\n")
    with pytest.raises(TinnError, match=r"unknown key 'distributed.replay_shard'"):
        load_train_config(path)
    path.write_text("process: tt\ndistributed:\n  rollout_workers: two\n")
    with pytest.raises(TinnError, match=r"'distributed.rollout_workers' must be an integer"):
        load_train_config(path)
    path.write_text("process: tt\ndistributed:\n  rollout_workers: 3\n  learner_num_gpus: 0\n")
    cfg, dist = load_train_config(path)
    assert cfg.process == "tt" and dist.rollout_workers == 3 and dist.learner_num_gpus == 0.0


def test_more_workers_than_cpus_is_a_clear_error():
    with pytest.raises(TinnError, match=r"needs 9 CPUs .* has 2"):
        plan_resources(DistributedConfig(rollout_workers=8), {"CPU": 2.0})
    with pytest.raises(TinnError, match="has 0 GPUs"):
        plan_resources(DistributedConfig(rollout_workers=1, learner_num_gpus=1), {"CPU": 4.0})
    assert plan_resources(DistributedConfig(rollout_workers=1), {"CPU": 2.0, "GPU": 1.0}).learner_gpus == 1.0


def test_unreachable_address_fails_fast_without_hanging():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = f"from tinn_dist.distributed.cluster import connect; connect('127.0.0.1:{port}')"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert f"cannot reach a Ray cluster at 127.0.0.1:{port}" in proc.stderr
    assert time.monotonic() - start < 60


# -- real Ray ------------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_train_keeps_the_replay_ratio_and_resumes_with_the_same_counters(ray_local, tt_events, tmp_path):
    from tinn_dist.distributed.driver import DistributedTrainer

    cfg = tiny_config(dqn={"replay_ratio": 0.5})
    first = DistributedTrainer(cfg, tiny_dist(), tt_events, tmp_path)
    try:
        c = first.train(240, progress=False)
        lags = [s.value for m in first.metrics.weight_lag.collect() for s in m.samples]
        sizes = ray.get([s.stats.remote() for s in first.shards])
    finally:
        first.shutdown()
    assert c.episodes >= 240
    assert c.env_steps == 5 * c.episodes  # tt: T = N - 3 = 5 steps per episode
    # every transition earns replay_ratio samples; the owed remainder is less than one batch
    assert c.samples == c.updates * cfg.dqn.batch_size
    assert 0 <= 0.5 * c.env_steps - c.samples < cfg.dqn.batch_size
    assert max(lags) <= tiny_dist().max_weight_lag
    # each worker's router deals every reward bin round-robin over the shards
    assert abs(sizes[0]["size"] - sizes[1]["size"]) <= 2 * 4
    assert first.last_eval is not None and 0.0 <= first.last_eval["me_optimality"] <= 1.0
    saved = load_checkpoint(tmp_path)
    assert saved["counters"]["episodes"] == c.episodes and saved["learner"]["version"] == c.updates
    assert (tmp_path / "metrics.csv").read_text().count("\n") >= 1 + 240 // 48

    # the driver "dies": a new one resumes with the same counters; then Ctrl-C stops it with a checkpoint
    second = DistributedTrainer(cfg, tiny_dist(), tt_events, tmp_path)

    def ctrl_c() -> None:
        while second.counters.episodes < c.episodes + 160:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    try:
        second.resume()
        assert dataclasses.asdict(second.counters) == saved["counters"]
        assert second.version.updates == c.updates
        threading.Thread(target=ctrl_c, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            second.train(100_000, progress=False)
        c2 = second.counters
    finally:
        second.shutdown()
    assert c.episodes + 160 <= c2.episodes < 100_000 and c2.updates > c.updates
    stopped = load_checkpoint(tmp_path)
    assert stopped["counters"] == dataclasses.asdict(c2) and stopped["learner"]["version"] == c2.updates


@pytest.mark.integration
def test_killed_worker_and_shard_are_restarted_and_training_reaches_its_budget(ray_local, tt_events, tmp_path,
                                                                               caplog):
    from tinn_dist.distributed.driver import DistributedTrainer

    budget = 1200
    trainer = DistributedTrainer(tiny_config(), tiny_dist(), tt_events, tmp_path)

    def inject() -> None:
        while trainer.counters.episodes < 100:
            time.sleep(0.05)
        ray.kill(trainer.workers[0], no_restart=False)
        while trainer.counters.episodes < 200:
            time.sleep(0.05)
        ray.kill(trainer.shards[1], no_restart=False)

    killer = threading.Thread(target=inject, daemon=True)
    killer.start()
    try:
        with caplog.at_level(logging.WARNING, logger="tinn.distributed"):
            c = trainer.train(budget, progress=False)
        killer.join(timeout=60)
        restarts = {s.labels["actor"]: s.value for m in trainer.metrics.restarts.collect() for s in m.samples
                    if s.name.endswith("_total")}
        lost = {s.labels["shard"]: s.value for m in trainer.metrics.transitions_lost.collect() for s in m.samples
                if s.name.endswith("_total")}
        while True:  # Ray brings the killed worker back
            try:
                assert ray.get(trainer.workers[0].ready.remote()) is None
                break
            except ray.exceptions.RayActorError:
                time.sleep(0.1)
    finally:
        trainer.shutdown()
    assert c.episodes >= budget
    assert restarts.get("worker-0", 0) >= 1
    assert restarts.get("shard-1", 0) >= 1 and lost.get("1", 0) > 0
    assert "replay shard 1 restarted" in caplog.text
    assert "rollout worker 0 failed" in caplog.text


@pytest.mark.integration
def test_missing_madgraph_directory_is_reported_by_the_worker(ray_local, tt_events, tmp_path):
    from tinn_dist.distributed.driver import DistributedTrainer

    cfg = tiny_config(matrix_element={"backend": "madgraph", "madgraph_dir": str(tmp_path / "P1_gg_ttx")})
    with pytest.raises(TinnError, match=r"rollout worker 0 on node .*P1_gg_ttx: MadGraph P1 directory not found"):
        DistributedTrainer(cfg, tiny_dist(rollout_workers=1, replay_shards=1), tt_events, tmp_path)
