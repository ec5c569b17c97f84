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
        description="Run the trained agent greedily for N-3 steps on every event; write per event the slot of "
        "every particle and the four-momentum and mass of every resonance of the process.",
    )
    parser.add_argument("events", type=Path, metavar="EVENTS.parquet", help="events (Parquet)")
    parser.add_argument(
        "--checkpoint", required=True, type=Path, metavar="RUN", help="run directory (or .pt)"
    )
    parser.add_argument("-o", "--output", required=True, type=Path, help="output Parquet file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tinn_dist.analysis.reconstruct import reconstruct_table, write_table_atomic
    from tinn_dist.events.store import read_events
    from tinn_dist.processes import load_process
    from tinn_dist.rl.actor import EpisodeRunner
    from tinn_dist.rl.builder import build_env, check_events
    from tinn_dist.rl.checkpoint import load_policy

    cfg, qnet = load_policy(args.checkpoint)
    if not args.events.is_file():
        raise TinnError(f"{args.events}: events file not found")
    events = read_events(args.events)
    check_events(cfg, events, str(args.events))
    env = build_env(cfg, events.momenta)
    perm, m, _ = EpisodeRunner(env, qnet).greedy(np.arange(len(events)))
    table = reconstruct_table(load_process(cfg.process), events.momenta, perm, events.event_index, m)
    write_table_atomic(table, args.output)
    print(f"wrote {len(events)} assigned {cfg.process} events to {args.output}", file=sys.stderr)
    return 0
