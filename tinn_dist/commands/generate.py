"""``tinn generate``: unweighted pp -> process events with the built-in generator -> Parquet (and LHE)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tinn_dist.errors import TinnError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate parton-level events with the built-in matrix element (no MadGraph needed)",
        description="Generate unweighted pp -> PROCESS events at parton level (VEGAS-adapted phase space with "
        "Breit-Wigner mappings, LO PDFs, MadGraph's default dynamic scale) and write them in the Parquet "
        "layout of `tinn convert`, with the true assignment known by construction.",
    )
    parser.add_argument("--process", required=True, help="catalogue process name (tt, ttw, tttt, wwuu, ...)")
    parser.add_argument("--events", required=True, type=int, metavar="N", help="number of unweighted events")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output Parquet file")
    parser.add_argument("--lhe", type=Path, default=None, help="also write an LHE file (.lhe or .lhe.gz)")
    parser.add_argument("--sqrt-s", type=float, default=13000.0, help="pp collision energy in GeV (default 13000)")
    parser.add_argument(
        "--pdf", default=None, metavar="NAME|PATH",
        help="PDF: cteq5l (built-in default), an LHAPDF6 set name on LHAPDF_DATA_PATH or directory, or an "
        "LHAPDF5 .LHgrid file",
    )
    parser.add_argument("--param-card", type=Path, default=None, help="param card (default: the project's card)")
    parser.add_argument("--device", default="cpu", help="torch device of the matrix element (default cpu)")
    parser.set_defaults(func=run)


def _check_writable(path: Path, what: str) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise TinnError(f"{path}: {what} is a directory; expected a file name")
    if not folder.is_dir():
        raise TinnError(f"{path}: {what} folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise TinnError(f"{path}: {what} folder {folder} is not writable")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tinn_dist.events.generator import EventGenerator, GeneratorConfig
    from tinn_dist.events.lhe_writer import write_lhe
    from tinn_dist.events.store import EventSet, write_events
    from tinn_dist.processes import load_process

    process = load_process(args.process)
    if args.events < 1:
        raise TinnError(f"--events must be >= 1, got {args.events}")
    if args.seed < 0:
        raise TinnError(f"--seed must be >= 0, got {args.seed}")
    _check_writable(args.output, "output")
    if args.lhe is not None:
        _check_writable(args.lhe, "--lhe output")
    config = GeneratorConfig(
        process=process.name, sqrt_s=args.sqrt_s, pdf=args.pdf,
        param_card=str(args.param_card) if args.param_card else None, device=args.device,
    )
    generator = EventGenerator(config, seed=args.seed)
    events = generator.generate(args.events, progress=sys.stderr.isatty())
    stats = events.stats
    card_text = generator.card.read_text()
    event_set = EventSet.from_true_order(
        process,
        events.momenta,
        weight=np.full(len(events), float(stats["cross_section_pb"])),
        source=np.full(len(events), args.output.name),
        event_index=np.arange(len(events)),
        param_card=card_text,
        metadata={
            "generator": "tinn-dist builtin",
            "madgraph_process": [process.madgraph],
            "seed": args.seed,
            **{k: v for k, v in stats.items()},
        },
    )
    written: list[Path] = []
    try:
        write_events(args.output, event_set)
        written.append(args.output)
        if args.lhe is not None:
            write_lhe(args.lhe, events, args.sqrt_s, card_text, seed=args.seed)
    except BaseException:
        for path in written:  # no partial output: both files or neither
            path.unlink(missing_ok=True)
        raise
    print(
        f"wrote {len(events)} {process.name} events to {args.output}"
        + (f" and {args.lhe}" if args.lhe else "")
        + f": sigma = {stats['cross_section_pb']:.5g} +- {stats['cross_section_error_pb']:.2g} pb "
        f"(PDF {stats['pdf']}), unweighting efficiency {stats['unweighting_efficiency']:.3f}, "
        f"over-weight fraction {stats['overweight_fraction']:.2e}, {stats['seconds_total']:.1f} s",
        file=sys.stderr,
    )
    return 0
