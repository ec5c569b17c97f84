"""``tinn train``: train the assignment agent — one argument parser, two runners. ``--local`` runs the
single-process trainer (:func:`run_local`, :mod:`tinn_dist.rl.trainer`); otherwise the Ray actor-learner system
(:func:`tinn_dist.distributed.driver.run_distributed`) trains with the same learning code. The config file may
carry a ``distributed:`` section; the local runner ignores it."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tinn_dist.errors import TinnError

if TYPE_CHECKING:
    from tinn_dist.rl.config import TrainConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the DQN assignment agent (Ray actors, or --local in this process)",
        description="Train the transformer DQN agent that assigns final-state partons to the process's slots, "
        "rewarded by the exact matrix element. Writes RUN/checkpoint.pt, RUN/metrics.csv, RUN/config.yaml.",
    )
    parser.add_argument("--config", required=True, type=Path, help="training config, e.g. configs/tt.yaml")
    parser.add_argument("--local", action="store_true", help="train in this process (no Ray)")
    parser.add_argument(
        "--events", type=Path, help="training events (Parquet); default: the config's events.path"
    )
    parser.add_argument(
        "--run-dir", type=Path, help="run directory (default: runs/<process>__<seed>__<time>)"
    )
    parser.add_argument("--max-episodes", type=int, metavar="K", help="stop after K episodes in total")
    parser.add_argument(
        "--max-minutes", type=float, metavar="M", help="stop after M minutes of this invocation"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its checkpoint"
    )
    parser.add_argument(
        "--threads", type=int, metavar="T", help="torch CPU threads (default: torch's choice)"
    )
    ray_opts = parser.add_argument_group("distributed (Ray) runner, the default without --local")
    ray_opts.add_argument(
        "--address",
        help="Ray cluster to join: 'auto' or host:port (default: $RAY_ADDRESS, else a local Ray instance)",
    )
    ray_opts.add_argument(
        "--rollout-workers",
        type=int,
        metavar="N",
        help="rollout worker actors (default: distributed.rollout_workers)",
    )
    ray_opts.add_argument(
        "--replay-shards",
        type=int,
        metavar="M",
        help="replay shard actors (default: distributed.replay_shards)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinn_dist.distributed.config import load_train_config  # the learning-core config + `distributed:`

    cfg, dist = load_train_config(args.config)
    if args.max_episodes is not None and args.max_episodes < 1:
        raise TinnError(f"--max-episodes must be >= 1, got {args.max_episodes}")
    if args.max_minutes is not None and args.max_minutes <= 0:
        raise TinnError(f"--max-minutes must be > 0, got {args.max_minutes}")
    if args.threads is not None:
        if args.threads < 1:
            raise TinnError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    if args.resume and args.run_dir is None:
        raise TinnError("--resume needs --run-dir (the run to continue)")
    run_dir = args.run_dir or Path("runs") / f"{cfg.process}__{cfg.seed}__{time.strftime('%Y%m%d-%H%M%S')}"
    events = events_path(cfg, args.events)
    if args.local and (args.address or args.rollout_workers is not None or args.replay_shards is not None):
        raise TinnError("--address, --rollout-workers and --replay-shards are for Ray training; drop --local")
    if not args.local:
        from tinn_dist.distributed.driver import run_distributed

        run_distributed(
            cfg,
            dist,
            events,
            run_dir,
            args.max_episodes,
            args.max_minutes,
            args.resume,
            progress=sys.stderr.isatty(),
            address=args.address,
            rollout_workers=args.rollout_workers,
            replay_shards=args.replay_shards,
        )
        return 0
    run_local(
        cfg, events, run_dir, args.max_episodes, args.max_minutes, args.resume, progress=sys.stderr.isatty()
    )
    return 0


def events_path(cfg: TrainConfig, given: Path | None) -> Path:
    path = given or (Path(cfg.events.path) if cfg.events.path else None)
    if path is None:
        raise TinnError("no training events: pass --events E.parquet or set events.path in the config")
    if not path.is_file():
        raise TinnError(f"{path}: events file not found")
    return path


def run_local(
    cfg: TrainConfig,
    events: Path,
    run_dir: Path,
    max_episodes: int | None = None,
    max_minutes: float | None = None,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Train in this process; returns the run directory (holding checkpoint.pt and metrics.csv)."""
    from tinn_dist.events.store import read_events
    from tinn_dist.rl.builder import check_events
    from tinn_dist.rl.checkpoint import checkpoint_path
    from tinn_dist.rl.trainer import LocalTrainer

    if not resume and checkpoint_path(run_dir).is_file() and run_dir.is_dir():
        raise TinnError(f"{run_dir}: already holds a checkpoint; pass --resume or choose another --run-dir")
    event_set = read_events(events)
    check_events(cfg, event_set, str(events))
    trainer = LocalTrainer(cfg, event_set, run_dir)
    if resume:
        trainer.restore()
    budget = max_episodes if max_episodes is not None else cfg.train.max_episodes
    counters = trainer.train(budget, max_minutes=max_minutes, progress=progress)
    print(
        f"trained {cfg.process}: {counters.episodes} episodes, {counters.env_steps} env steps, "
        f"{counters.updates} updates in {counters.wall_s / 60:.1f} min; checkpoint {checkpoint_path(run_dir)}",
        file=sys.stderr,
    )
    return run_dir
