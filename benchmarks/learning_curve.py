"""Learning curve: train a process locally for a wall-clock budget and score held-out events at intervals.

    python benchmarks/learning_curve.py --config configs/tt.yaml --events data/tt.parquet --minutes 30

Prints one line per evaluation: training minutes (evaluation time excluded), episodes, updates, and on the
config's held-out events (never trained on) the ME-optimality, truth match and mean log(m/m_true) of the greedy
policy — next to the starting order and greedy ME hill-climbing on the same events; with ``--beam K
--candidates C`` also the agent's beam search (tinn_dist/rl/search.py) whose C best arrangements are reranked
by |M|^2 (C + 1 matrix-element calls per event). With ``--paper-seconds S``
the paper's setup (configs/paper/<process>.yaml: one episode at a time, one update of 32 per env step) first
runs for S seconds in the same invocation, and its episodes/s is printed with the ratio to ours.
Issue-4 target for tt: ME-optimality >= 0.95 within 30 minutes on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tinn_dist.analysis.baselines import greedy_hill_climb, starting_order
from tinn_dist.analysis.evaluate import evaluate_assignments
from tinn_dist.distributed.config import load_train_config
from tinn_dist.events.store import read_events
from tinn_dist.processes import load_process
from tinn_dist.rl.actor import EpisodeRunner
from tinn_dist.rl.builder import build_env, build_qnet, check_events
from tinn_dist.rl.search import beam_search
from tinn_dist.rl.trainer import LocalTrainer

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "tt.yaml")
    ap.add_argument("--events", type=Path, help="events Parquet (default: the config's events.path)")
    ap.add_argument("--minutes", type=float, default=30.0, help="training wall-clock budget")
    ap.add_argument("--eval-every", type=float, default=3.0, help="minutes of training between evaluations")
    ap.add_argument("--eval-events", type=int, default=1000, help="held-out events per evaluation")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--paper-seconds", type=float, default=0.0, help="also time the paper's setup this long")
    ap.add_argument("--run-dir", type=Path, help="keep the run here (default: a temporary directory)")
    ap.add_argument("--beam", type=int, default=0, help="also score the agent's beam search of this width")
    ap.add_argument("--candidates", type=int, default=1, help="beam arrangements reranked by |M|^2")
    ap.add_argument("--json", action="store_true", help="last line: the curve as one JSON object")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    cfg = load_train_config(args.config)[0]
    events_file = args.events or Path(cfg.events.path)
    events = read_events(events_file)
    check_events(cfg, events, str(events_file))
    process = load_process(cfg.process)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix=f"learning_curve_{cfg.process}_"))

    trainer = LocalTrainer(cfg, events, run_dir)
    test = events.subset(trainer.holdout_idx[: args.eval_events])
    env = build_env(cfg, test.momenta)
    idx = np.arange(len(test))
    m_true = env.m2(idx, test.true_perm)

    def score(perm: np.ndarray, m: np.ndarray, calls: float) -> dict:
        return evaluate_assignments(process, test.momenta, test.true_perm, perm, m, m_true, calls)

    out: dict = {"process": cfg.process, "config": str(args.config), "eval_events": len(test), "curve": []}
    for name, method in (("start", starting_order), ("greedy", greedy_hill_climb)):
        r = score(*method(env, idx))
        out[name] = {
            k: r[k]
            for k in ("me_optimality", "me_optimality_1pct", "truth_match", "mean_log_ratio", "me_calls_per_event")
        }
        print(
            f"{name:>8}: ME-opt {r['me_optimality']:.3f} (1 %: {r['me_optimality_1pct']:.3f})  truth {r['truth_match']:.3f}  "
            f"mean log(m/m_true) {r['mean_log_ratio']:8.3f}  ME calls/event {r['me_calls_per_event']:.1f}"
        )

    if args.paper_seconds > 0:
        # learning from the first batch on, so the timing includes the paper's one update of 32 per env step
        paper_cfg = load_train_config(REPO / "configs" / "paper" / f"{cfg.process}.yaml")[0]
        paper_cfg = paper_cfg.replace(dqn={"learning_starts": paper_cfg.dqn.batch_size})
        paper = LocalTrainer(paper_cfg, events, Path(tempfile.mkdtemp(prefix="paper_")))
        c = paper.train(10**9, max_minutes=args.paper_seconds / 60, progress=False)
        out["paper_episodes_per_s"] = c.episodes / c.wall_s
        print(
            f"paper setup: {c.episodes} episodes in {c.wall_s:.0f} s = {out['paper_episodes_per_s']:.2f} ep/s"
        )

    print(
        f"{'minutes':>8} {'episodes':>9} {'updates':>8} {'ep/s':>7} {'ME-opt':>7} {'1%':>6} {'truth':>6} "
        f"{'mean log':>9}" + (f" {'beam':>6} {'1%':>6}" if args.beam else "")
    )
    trained_s = 0.0
    while True:
        qnet = build_qnet(cfg)
        qnet.load_state_dict(trainer.learner.policy.state_dict())
        perm, m, _ = EpisodeRunner(env, qnet).greedy(idx)
        r = score(perm, m, 0.0)
        c = trainer.counters
        rate = c.episodes / trained_s if trained_s else 0.0
        point = {
            "minutes": trained_s / 60,
            "episodes": c.episodes,
            "updates": c.updates,
            "me_optimality": r["me_optimality"],
            "me_optimality_1pct": r["me_optimality_1pct"],
            "truth_match": r["truth_match"],
            "mean_log_ratio": r["mean_log_ratio"],
        }
        line = (
            f"{point['minutes']:8.1f} {c.episodes:9d} {c.updates:8d} {rate:7.1f} {r['me_optimality']:7.3f} "
            f"{r['me_optimality_1pct']:6.3f} {r['truth_match']:6.3f} {r['mean_log_ratio']:9.3f}"
        )
        if args.beam:
            b = score(*beam_search(env, qnet, idx, args.beam, args.candidates)[:2], 0.0)
            point["beam"] = {k: b[k] for k in ("me_optimality", "me_optimality_1pct", "truth_match")}
            line += f" {b['me_optimality']:6.3f} {b['me_optimality_1pct']:6.3f}"
        out["curve"].append(point)
        print(line, flush=True)
        if trained_s >= 60 * args.minutes - 1:
            break
        step = min(args.eval_every, args.minutes - trained_s / 60)
        t0 = time.perf_counter()
        trainer.train(10**12, max_minutes=step, progress=False)
        trained_s += time.perf_counter() - t0
    if "paper_episodes_per_s" in out:
        ours = trainer.counters.episodes / trained_s
        out["episodes_per_s"] = ours
        print(
            f"episodes/s: ours {ours:.1f}, paper setup {out['paper_episodes_per_s']:.2f}, "
            f"ratio {ours / out['paper_episodes_per_s']:.1f}x"
        )
    print(f"run directory: {run_dir}", file=sys.stderr)
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
