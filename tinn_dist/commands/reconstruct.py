"""``tinn reconstruct``: assign every event with a trained agent; write slots and resonance four-momenta."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinn_dist.errors import TinnError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconstruct",
        help="assign events with a trained agent: slots, W/top four-momenta and masses (Parquet)",
        description="Run the trained agent greedily for N-3 steps on every event (or, with --beam, its beam "
        "search); write per event the slot of every particle and the four-momentum and mass of every resonance of "
        "the process.",
    )
    parser.add_argument("events", type=Path, metavar="EVENTS.parquet", help="events (Parquet)")
    parser.add_argument(
        "--checkpoint", required=True, type=Path, metavar="RUN", help="run directory (or .pt)"
    )
    parser.add_argument("-o", "--output", required=True, type=Path, help="output Parquet file")
    parser.add_argument(
        "--beam", type=int, default=0, metavar="K", help="assign with the agent's width-K beam search"
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=1,
        metavar="C",
        help="with --beam: the beam's C best arrangements reranked by |M|^2 (default 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tinn_dist.analysis.reconstruct import reconstruct_table, write_table_atomic
    from tinn_dist.events.store import read_events
    from tinn_dist.processes import load_process
    from tinn_dist.rl.actor import EpisodeRunner
    from tinn_dist.rl.builder import build_env, check_events
    from tinn_dist.rl.checkpoint import load_policy
    from tinn_dist.rl.search import beam_search

    if args.beam < 0 or args.candidates < 1:
        raise TinnError(f"--beam must be >= 0 and --candidates >= 1, got {args.beam} and {args.candidates}")
    cfg, qnet = load_policy(args.checkpoint)
    if not args.events.is_file():
        raise TinnError(f"{args.events}: events file not found")
    events = read_events(args.events)
    check_events(cfg, events, str(args.events))
    env = build_env(cfg, events.momenta)
    idx = np.arange(len(events))
    if args.beam:
        perm, m, _ = beam_search(env, qnet, idx, args.beam, args.candidates)
    else:
        perm, m, _ = EpisodeRunner(env, qnet).greedy(idx)
    table = reconstruct_table(load_process(cfg.process), events.momenta, perm, events.event_index, m)
    write_table_atomic(table, args.output)
    print(f"wrote {len(events)} assigned {cfg.process} events to {args.output}", file=sys.stderr)
    return 0
