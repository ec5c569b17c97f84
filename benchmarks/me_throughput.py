"""Throughput of the built-in matrix-element engine (events/s per batch size) and, when a MadGraph ``matrix2py``
is given, MadGraph's per-event rate on the same momenta and the ratio.

    python benchmarks/me_throughput.py --process tt [--threads 1] [--batch-sizes 1,16,256,4096,65536]
        [--device cpu|cuda|auto] [--madgraph P1_DIR --param-card CARD] [--json]

Momenta: the MadGraph reference points of the process (``../shared/reference/me/<process>.json``: real events and
permutations, as the agent evaluates them), or the events of ``--events FILE.parquet`` (from ``tinn convert``, in
MadGraph order), repeated to each batch size. ``--json`` prints one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"
sys.path.insert(0, str(REPO))

from tinn_dist.physics.matrix_element import BackendSpec, build_matrix_element


def _momenta(process: str, events: Path | None, notes: list[str]) -> np.ndarray:
    if events is not None:
        from tinn_dist.events.store import read_events

        ev = read_events(events)
        notes.append(f"momenta: {events}")
        return ev.momenta[np.arange(len(ev.momenta))[:, None], ev.true_perm]
    ref = REFERENCE / "me" / f"{process}.json"
    if not ref.is_file():
        raise SystemExit(f"no momenta: {ref} is absent; give --events FILE.parquet")
    notes.append(f"momenta: {ref}")
    return np.array([pt["momenta"] for pt in json.loads(ref.read_text())], dtype=np.float64)


def _time(fn, min_seconds: float, sync) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) per call: repeat until ``min_seconds`` of wall time have passed (at
    least twice), after one warm-up call. CPU time is the per-core cost when other jobs share the machine."""
    fn()
    sync()
    calls, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        sync()
        calls += 1
        elapsed = time.perf_counter() - start
        if calls >= 2 and elapsed >= min_seconds:
            return elapsed / calls, (time.process_time() - cpu) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--process", required=True)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: per-core figures)")
    parser.add_argument("--batch-sizes", default="1,16,256,4096,65536")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--madgraph", type=Path, default=None, metavar="P1_DIR")
    parser.add_argument("--param-card", type=Path, default=None, metavar="CARD")
    parser.add_argument("--events", type=Path, default=None, metavar="FILE.parquet", help="momenta to use")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="time each measurement at least this long")
    parser.add_argument("--madgraph-events", type=int, default=2000, help="events timed for MadGraph")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    notes: list[str] = []
    base = _momenta(args.process, args.events, notes)
    card = str(args.param_card) if args.param_card else (
        str(REFERENCE / "param_card.dat") if (REFERENCE / "param_card.dat").is_file() else None)
    start = time.perf_counter()
    me = build_matrix_element(BackendSpec(process=args.process, param_card=card, device=args.device))
    build_s = time.perf_counter() - start
    dev = me.device
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)

    rates, cpu_rates = [], []
    for b in batch_sizes:
        p = torch.from_numpy(base[np.arange(b) % len(base)]).to(dev)
        seconds, cpu_seconds = _time(lambda p=p: me.m2(p), args.min_seconds, sync)
        rates.append(b / seconds)
        cpu_rates.append(b / cpu_seconds)
        print(f"{args.process} builtin batch {b:>6}: {b / seconds:12.0f} events/s "
              f"({b / cpu_seconds:.0f} per CPU-second)", file=sys.stderr)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    peak_cuda_mib = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None

    mg_rate = None
    if args.madgraph is not None:
        mg = build_matrix_element(BackendSpec(process=args.process, backend="madgraph", param_card=card,
                                              madgraph_dir=str(args.madgraph)))
        n = min(args.madgraph_events, len(base) * 10)
        p = torch.from_numpy(base[np.arange(n) % len(base)])
        seconds, _ = _time(lambda: mg.m2(p), args.min_seconds, lambda: None)
        mg_rate = n / seconds
        print(f"{args.process} madgraph per event: {mg_rate:12.0f} events/s", file=sys.stderr)
    ratio = max(rates) / mg_rate if mg_rate else None
    result = {
        "process": args.process,
        "threads": args.threads,
        "device": str(dev),
        "cpu_count": os.cpu_count(),
        "batch_sizes": batch_sizes,
        "builtin_events_per_s": rates,
        "builtin_events_per_cpu_s": cpu_rates,
        "load_average": os.getloadavg()[0],
        "madgraph_events_per_s": mg_rate,
        "ratio": ratio,
        "peak_rss_mib": peak_rss_mib,
        "peak_cuda_mib": peak_cuda_mib,
        "build_seconds": build_s,
        "helicity_configurations": me.runtime.n_helicity,
        "notes": notes,
    }
    if ratio is not None:
        print(f"ratio best built-in / MadGraph: {ratio:.2f}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
