"""Unweighted-event rate of the built-in generator (``tinn generate``), end to end (VEGAS training,
calibration, unweighting), against two baselines measured in the same invocation: the issue's target of
10 000 tt events per minute and the bare matrix-element rate (|M|^2 on phase-space points, no PDFs, no VEGAS).

    python benchmarks/generate_rate.py                       # tt, 20 000 events, 1 torch thread
    python benchmarks/generate_rate.py --process tttt --events 300
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from tinn_dist.events.generator import EventGenerator, GeneratorConfig

TARGET_PER_MINUTE = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--process", default="tt")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the dev machine is shared)")
    parser.add_argument("--pdf", default=None, help="PDF (default: built-in CTEQ5L)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    generator = EventGenerator(GeneratorConfig(args.process, pdf=args.pdf), seed=args.seed)
    setup = time.perf_counter() - start
    events = generator.generate(args.events, progress=False)
    total = time.perf_counter() - start
    stats = events.stats
    per_minute = args.events / total * 60.0
    steady = args.events / (total - setup - float(stats["seconds_adapt"])) * 60.0

    # Baseline: |M|^2 alone on phase-space points, batch as in the generator.
    ps = generator.phase_space
    rng = np.random.default_rng(0)
    batch = ps.generate(rng.random((generator.config.batch, ps.dim)), np.full(generator.config.batch, 2.0 * ps.min_mass))
    momenta = batch.momenta[batch.weight > 0]
    t0 = time.perf_counter()
    generator.me.m2(momenta)
    me_per_minute = len(momenta) / (time.perf_counter() - t0) * 60.0

    print(f"process {args.process}, {args.events} unweighted events, {args.threads} torch thread(s), PDF {stats['pdf']}")
    print(f"  sigma = {stats['cross_section_pb']:.6g} +- {stats['cross_section_error_pb']:.2g} pb "
          f"(VEGAS training: {stats['vegas_cross_section_pb']:.6g} +- {stats['vegas_cross_section_error_pb']:.2g})")
    print(f"  unweighting efficiency {stats['unweighting_efficiency']:.4f}, over-weight fraction "
          f"{stats['overweight_fraction']:.2e}, weighted points {stats['weighted_points']}")
    print(f"  time: setup {setup:.1f} s, VEGAS training {stats['seconds_adapt']:.1f} s, total {total:.1f} s")
    print(f"  rate: {per_minute:,.0f} unweighted events/min end to end ({steady:,.0f}/min after training)")
    print(f"  ratio to the {TARGET_PER_MINUTE:,} events/min target: {per_minute / TARGET_PER_MINUTE:.2f}")
    print(f"  bare |M|^2 baseline: {me_per_minute:,.0f} evaluations/min; weighted points per unweighted event "
          f"{stats['weighted_points'] / args.events:.1f}; generation rate / ME rate = {per_minute / me_per_minute:.3f}")


if __name__ == "__main__":
    main()
