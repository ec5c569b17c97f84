"""``tinn evaluate``: score a trained agent and the baselines on events with known truth; metrics.json + PNGs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinn_dist.errors import TinnError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="ME-optimality, truth match and mass resolution of a trained agent vs baselines",
        description="Run the trained agent greedily for N-3 steps on every event and compare with the starting "
        "order, greedy ME hill-climbing and the exhaustive argmax. Writes OUT/metrics.json and PNG plots.",
    )
    parser.add_argument(
        "--checkpoint", required=True, type=Path, metavar="RUN", help="run directory (or .pt)"
    )
    parser.add_argument("--events", required=True, type=Path, help="events with truth (Parquet)")
    parser.add_argument("--out", type=Path, help="output directory (default: RUN/eval)")
    parser.add_argument(
        "--holdout",
        action="store_true",
        help="use only the config's held-out tail of the events file (the part never trained on)",
    )
    parser.add_argument("--max-events", type=int, metavar="K", help="evaluate only the first K events")
    parser.add_argument(
        "--baselines",
        default="start,greedy,exhaustive",
        help="comma-separated subset of start,greedy,exhaustive ('' for none)",
    )
    parser.add_argument(
        "--baseline-events",
        type=int,
        metavar="K",
        help="run the greedy and exhaustive baselines on the first K events only (default: all)",
    )
    parser.add_argument(
        "--beam",
        type=int,
        default=0,
        metavar="K",
        help="also score the agent's width-K beam search over its own Q-values",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=1,
        metavar="C",
        help="with --beam: rerank the beam's C best arrangements by |M|^2 (C + 1 calls per event; default 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tinn_dist.analysis.evaluate import evaluate_policy, write_json_atomic
    from tinn_dist.analysis.plots import plot_log_ratio, plot_masses, plot_training_reward
    from tinn_dist.analysis.reconstruct import resonance_masses
    from tinn_dist.events.store import read_events
    from tinn_dist.processes import load_process
    from tinn_dist.rl.builder import build_env, check_events, holdout_split
    from tinn_dist.rl.checkpoint import checkpoint_path, load_policy

    baselines = tuple(b for b in args.baselines.split(",") if b)
    cfg, qnet = load_policy(args.checkpoint)
    if not args.events.is_file():
        raise TinnError(f"{args.events}: events file not found")
    events = read_events(args.events)
    check_events(cfg, events, str(args.events))
    if args.holdout:
        events = events.subset(holdout_split(len(events), cfg.events.holdout_fraction)[1])
    if args.max_events is not None:
        if args.max_events < 1:
            raise TinnError(f"--max-events must be >= 1, got {args.max_events}")
        events = events.subset(np.arange(min(args.max_events, len(events))))
    run_dir = checkpoint_path(args.checkpoint).parent
    out = args.out or run_dir / "eval"
    out.mkdir(parents=True, exist_ok=True)
    process = load_process(cfg.process)
    env = build_env(cfg, events.momenta)
    if args.baseline_events is not None and args.baseline_events < 1:
        raise TinnError(f"--baseline-events must be >= 1, got {args.baseline_events}")
    if args.beam < 0 or args.candidates < 1:
        raise TinnError(f"--beam must be >= 0 and --candidates >= 1, got {args.beam} and {args.candidates}")
    metrics, arrays = evaluate_policy(
        env, qnet, events.true_perm, baselines, args.baseline_events, args.beam, args.candidates
    )
    metrics = {
        "process": cfg.process,
        "checkpoint": str(checkpoint_path(args.checkpoint)),
        "events": str(args.events),
        **metrics,
    }
    write_json_atomic(metrics, out / "metrics.json")
    ratios = {"agent": arrays["log_ratio_agent"]}
    if "log_ratio_beam" in arrays:
        ratios[f"agent beam {args.beam}x{args.candidates}"] = arrays["log_ratio_beam"]
    ratios.update({b: arrays[f"log_ratio_{b}"] for b in baselines if f"log_ratio_{b}" in arrays})
    plot_log_ratio(ratios, out / "log_ratio.png")
    plot_masses(
        process,
        resonance_masses(process, events.momenta, arrays["perm_agent"]),
        resonance_masses(process, events.momenta, events.true_perm),
        out / "masses.png",
    )
    plot_training_reward(run_dir / "metrics.csv", out / "training_reward.png")
    lines = [
        f"{'method':<12} {'ME-opt':>7} {'ME-opt 1%':>9} {'truth':>7} {'mean log(m/m_true)':>19} {'ME calls/ev':>12}"
    ]
    beam = [(f"beam {args.beam}x{args.candidates}", metrics["beam"])] if "beam" in metrics else []
    for name, m in [("agent", metrics), *beam, *metrics["baselines"].items()]:
        if "me_optimality" in m:
            lines.append(
                f"{name:<12} {m['me_optimality']:>7.3f} {m['me_optimality_1pct']:>9.3f} {m['truth_match']:>7.3f} "
                f"{m['mean_log_ratio']:>19.3f} {m['me_calls_per_event']:>12.1f}"
            )
    print("\n".join(lines))
    print(f"wrote {out / 'metrics.json'} and plots", file=sys.stderr)
    return 0
