"""``tinn me``: |M|^2 of a catalogue process for the points of a reference-format JSON or an events Parquet."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tinn_dist.errors import TinnError
from tinn_dist.processes import Process, load_process


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "me",
        help="evaluate |M|^2 (built-in engine or MadGraph) for points of a JSON or Parquet file",
        description="Evaluate the matrix element of a catalogue process for every point of INPUT: a JSON list of "
        "points in the reference format ({'pdg': [...], 'momenta': [[E, px, py, pz], ...], ...}, legs in the "
        "process's external order) or an events Parquet from `tinn convert` (events taken in their true "
        "MadGraph order). Writes the points with their own fields plus me2_<backend> to a JSON file.",
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="points (.json) or events (.parquet)")
    parser.add_argument("--process", required=True, help="catalogue process name (tt, ttw, tttt, wwuu, ...)")
    parser.add_argument("--backend", choices=("builtin", "madgraph"), default="builtin", help="matrix element")
    parser.add_argument("--madgraph", type=Path, default=None, metavar="P1_DIR",
                        help="MadGraph SubProcesses/P1_* directory with matrix2py (madgraph backend)")
    parser.add_argument("--param-card", type=Path, default=None, metavar="CARD",
                        help="param card (default: the project's MadGraph sm default card)")
    parser.add_argument("--alphas", type=float, default=0.13, help="strong coupling (default 0.13)")
    parser.add_argument("--device", default="cpu", help="torch device of the built-in engine (cpu, cuda, auto)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output JSON file")
    parser.set_defaults(func=run)


def _points_from_json(path: Path, process: Process, alphas: float) -> tuple[list[dict], np.ndarray]:
    try:
        points = json.loads(path.read_text())
    except OSError as exc:
        raise TinnError(f"{path}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise TinnError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(points, list) or not points:
        raise TinnError(f"{path}: expected a non-empty JSON list of points")
    n = process.n_external
    momenta = np.empty((len(points), n, 4))
    for i, pt in enumerate(points):
        if not isinstance(pt, dict) or "momenta" not in pt:
            raise TinnError(f"{path}: point {i} must be an object with a 'momenta' field")
        if "alphas" in pt and float(pt["alphas"]) != alphas:
            raise TinnError(f"{path}: point {i} has alphas {pt['alphas']}, but the evaluation uses {alphas} "
                            "(give --alphas)")
        if "pdg" in pt and [int(x) for x in pt["pdg"]] != list(process.external):
            raise TinnError(f"{path}: point {i} field 'pdg' is {pt['pdg']}, expected {list(process.external)} "
                            f"(process {process.name})")
        try:
            mom = np.asarray(pt["momenta"], dtype=np.float64)
        except (TypeError, ValueError):
            raise TinnError(f"{path}: point {i} field 'momenta' is not a list of numbers") from None
        if mom.shape != (n, 4):
            raise TinnError(f"{path}: point {i} field 'momenta' has shape {mom.shape}, expected ({n}, 4)")
        momenta[i] = mom
    return points, momenta


def _points_from_parquet(path: Path, process: Process) -> tuple[list[dict], np.ndarray]:
    from tinn_dist.events.store import read_events

    events = read_events(path)
    if events.process != process.name:
        raise TinnError(f"{path}: events are of process {events.process!r}, not {process.name!r}")
    rows = np.arange(len(events.momenta))[:, None]
    momenta = events.momenta[rows, events.true_perm]
    pdg = events.pdg[rows, events.true_perm]
    bad = np.nonzero((pdg != np.asarray(process.external)).any(axis=1))[0]
    if bad.size:
        raise TinnError(f"{path}: event {int(bad[0])} has PDG codes {pdg[bad[0]].tolist()} in MadGraph order, "
                        f"expected {list(process.external)}")
    points = [
        {"source": str(events.source[i]), "event_index": int(events.event_index[i]),
         "pdg": list(process.external), "momenta": momenta[i].tolist()}
        for i in range(len(momenta))
    ]
    return points, momenta


def _write_json(path: Path, data: list[dict]) -> None:
    """Write atomically: a temporary file in the same folder, renamed over the target."""
    if not path.parent.is_dir():
        raise TinnError(f"{path}: output folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    from tinn_dist.physics.matrix_element import BackendSpec, build_matrix_element

    process = load_process(args.process)
    if args.input.suffix.lower() == ".parquet":
        points, momenta = _points_from_parquet(args.input, process)
    else:
        points, momenta = _points_from_json(args.input, process, args.alphas)
    spec = BackendSpec(
        process=process.name,
        backend=args.backend,
        alphas=args.alphas,
        param_card=str(args.param_card) if args.param_card else None,
        madgraph_dir=str(args.madgraph) if args.madgraph else None,
        device=args.device,
    )
    start = time.perf_counter()
    me = build_matrix_element(spec)
    values = me.m2(momenta).cpu().numpy()
    key = f"me2_{args.backend}"
    out = []
    for pt, value in zip(points, values):
        if not math.isfinite(value):
            raise TinnError(f"{args.input}: |M|^2 of point {len(out)} is not finite")
        out.append({**pt, key: float(value)})
    _write_json(args.output, out)
    print(f"wrote {len(out)} points with {key} to {args.output} in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    return 0
