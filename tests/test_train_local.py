"""Training configs, the local trainer (learning, checkpoint/resume, Ctrl-C) and `tinn train --local`."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from rl_support import needs_builtin, tt_events

from tinn_dist.cli import main
from tinn_dist.distributed.config import load_train_config
from tinn_dist.errors import TinnError
from tinn_dist.events.store import write_events
from tinn_dist.rl.actor import EpisodeRunner
from tinn_dist.rl.builder import build_env, build_qnet
from tinn_dist.rl.checkpoint import load_checkpoint
from tinn_dist.rl.config import config_from_dict
from tinn_dist.rl.trainer import LocalTrainer

# Two shared cores: one torch thread avoids oversubscription (2 threads on a busy machine run ~8x slower).
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]

# A small, fast setup (a narrower network than the paper's) for tests on two shared cores.
FAST = {
    "process": "tt",
    "seed": 3,
    "qnet": {"d_model": 32, "n_layers": 2, "n_heads": 4, "ff_dim": 64, "hidden": 64, "dropout": 0.0},
    "dqn": {
        "lr": 1e-3,
        "batch_size": 128,
        "double": True,
        "target_sync_episodes": 128,
        "replay_ratio": 2.0,
        "learning_starts": 256,
        "gamma": 0.1,
    },
    "replay": {"capacity_per_bin": 5000},
    "rollout": {"episodes_per_batch": 64},
    "train": {"checkpoint_every": 128, "log_every": 64, "max_episodes": 256},
}


def test_every_shipped_config_loads() -> None:
    names = sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))
    assert names == ["tt", "tttt", "ttw", "wwuu", "wwuu_LL", "wwuu_LT", "wwuu_TL", "wwuu_TT", "wwuu_polsum"]
    for name in names:
        assert load_train_config(REPO / "configs" / f"{name}.yaml")[0].process == name
    paper = load_train_config(REPO / "configs" / "paper" / "tt.yaml")[0]
    assert (paper.dqn.lr, paper.dqn.batch_size, paper.dqn.double, paper.rollout.episodes_per_batch) == (
        1e-5,
        32,
        False,
        1,
    )


def test_bad_configs_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(TinnError, match=r"unknown key 'dqn.lrr'"):
        config_from_dict({"process": "tt", "dqn": {"lrr": 1e-3}}, "x.yaml")
    with pytest.raises(TinnError, match=r"unknown key 'colour'"):
        config_from_dict({"process": "tt", "colour": 1}, "x.yaml")
    with pytest.raises(TinnError, match=r"key 'dqn.batch_size' must be an integer"):
        config_from_dict({"process": "tt", "dqn": {"batch_size": "big"}}, "x.yaml")
    with pytest.raises(TinnError, match=r"key 'dqn.gamma' must be in \[0, 1\]"):
        config_from_dict({"process": "tt", "dqn": {"gamma": 1.5}}, "x.yaml")
    with pytest.raises(TinnError, match=r"key 'qnet.kind' must be 'transformer' or 'afterstate'"):
        config_from_dict({"process": "tt", "qnet": {"kind": "lstm"}}, "x.yaml")
    with pytest.raises(TinnError, match="unknown process 'qq'"):
        config_from_dict({"process": "qq"}, "x.yaml")
    path = tmp_path / "c.yaml"
    path.write_text("process: tt\ndqn: {double: yes please}\n")
    with pytest.raises(TinnError, match=rf"{path}: key 'dqn.double' must be true or false"):
        load_train_config(path)[0]


def greedy_gain(trainer: LocalTrainer, env, n: int) -> float:
    qnet = build_qnet(trainer.cfg)
    qnet.load_state_dict(trainer.learner.policy.state_dict())
    _, m, m0 = EpisodeRunner(env, qnet).greedy(np.arange(n))
    return float(np.log(m / m0).mean())


@needs_builtin
def test_mean_gain_rises_within_a_few_hundred_episodes(tmp_path: Path) -> None:
    events = tt_events(1500)
    cfg = config_from_dict({**FAST, "train": {**FAST["train"], "max_episodes": 768}})
    trainer = LocalTrainer(cfg, events, tmp_path / "run")
    held_out = build_env(cfg, events.momenta[trainer.holdout_idx])
    before = greedy_gain(trainer, held_out, 300)
    counters = trainer.train(768, progress=False)
    after = greedy_gain(trainer, held_out, 300)
    assert counters.episodes == 768 and counters.updates > 0
    assert after > before + 1.0, (before, after)
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert [int(r["episodes"]) for r in rows] == list(range(64, 769, 64))


@needs_builtin
def test_resume_continues_counters_rng_and_epsilon(tmp_path: Path) -> None:
    events = tt_events(400)
    cfg = config_from_dict(FAST)
    straight = LocalTrainer(cfg, events, tmp_path / "a")
    straight.train(256, progress=False)
    first = LocalTrainer(cfg, events, tmp_path / "b")
    first.train(128, progress=False)
    resumed = LocalTrainer(cfg, events, tmp_path / "b")
    resumed.restore()
    assert resumed.counters.episodes == 128 and resumed.learner.version == first.learner.version
    assert resumed.rng.bit_generator.state == first.rng.bit_generator.state
    resumed.train(256, progress=False)
    a, b = straight.counters, resumed.counters
    assert (a.episodes, a.env_steps, a.me_evals > 0) == (b.episodes, b.env_steps, b.me_evals > 0)
    # the same events are drawn after the resume as in the uninterrupted run
    assert a.target_synced_at == b.target_synced_at
    assert straight.rng.bit_generator.state == resumed.rng.bit_generator.state
    ckpt = load_checkpoint(tmp_path / "b")
    assert ckpt["counters"]["episodes"] == 256 and ckpt["epsilon"] == 0.999**256


@pytest.fixture
def tt_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "tt.parquet"
    write_events(path, tt_events(400))
    return path


@pytest.fixture
def fast_config(tmp_path: Path) -> Path:
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(FAST))
    return path


@needs_builtin
def test_cli_train_local_and_resume(tmp_path: Path, tt_parquet: Path, fast_config: Path, capsys) -> None:
    run = tmp_path / "run"
    args = [
        "train",
        "--config",
        str(fast_config),
        "--local",
        "--events",
        str(tt_parquet),
        "--run-dir",
        str(run),
        "--threads",
        "1",
    ]
    assert main(args + ["--max-episodes", "128"]) == 0
    assert load_checkpoint(run)["counters"]["episodes"] == 128
    assert (run / "config.yaml").is_file() and (run / "metrics.csv").is_file()
    assert main(args + ["--max-episodes", "128"]) == 2  # a finished run is not overwritten
    assert "already holds a checkpoint" in capsys.readouterr().err
    assert main(args + ["--max-episodes", "256", "--resume"]) == 0
    assert load_checkpoint(run)["counters"]["episodes"] == 256
    assert (
        main(["train", "--config", str(fast_config), "--local", "--events", str(tmp_path / "nope.parquet")])
        == 2
    )
    assert "nope.parquet: events file not found" in capsys.readouterr().err


@needs_builtin
def test_ctrl_c_checkpoints_at_a_batch_boundary(tmp_path: Path, tt_parquet: Path, fast_config: Path) -> None:
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "tinn_dist.cli",
        "train",
        "--config",
        str(fast_config),
        "--local",
        "--events",
        str(tt_parquet),
        "--run-dir",
        str(run),
        "--max-episodes",
        "1000000",
        "--threads",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    deadline = time.time() + 120
    while not (run / "metrics.csv").is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    episodes = load_checkpoint(run)["counters"]["episodes"]
    assert episodes > 0 and episodes % 64 == 0
