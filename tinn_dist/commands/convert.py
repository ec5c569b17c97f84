"""``tinn convert``: an LHE file of a catalogue process → a Parquet events file with the true assignment."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tinn_dist.errors import TinnError
from tinn_dist.processes import load_process


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="LHE events -> Parquet (c.m. frame, true slots, energy-ordered start)",
        description="Read a MadGraph LHE file (plain or .gz), find each parton's true slot from the mother "
        "chain, boost to the partonic centre-of-mass frame and write a Parquet events file.",
    )
    parser.add_argument("lhe", type=Path, metavar="EVENTS.lhe[.gz]", help="MadGraph LHE file")
    parser.add_argument("--process", required=True, help="catalogue process name (tt, ttw, tttt, wwuu, ...)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output Parquet file")
    parser.add_argument(
        "--max-events", type=int, default=None, metavar="K", help="convert only the first K events"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinn_dist.events.lhe import events_from_lhe  # pylhe is slow to import; only `convert` needs it
    from tinn_dist.events.store import write_events

    process = load_process(args.process)
    if not args.output.parent.is_dir():  # fail before a long conversion, not after it
        raise TinnError(f"{args.output}: output folder {args.output.parent} does not exist")
    start = time.perf_counter()
    events = events_from_lhe(args.lhe, process, max_events=args.max_events, progress=sys.stderr.isatty())
    write_events(args.output, events)
    print(
        f"wrote {len(events)} {process.name} events to {args.output} in {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
    )
    return 0
