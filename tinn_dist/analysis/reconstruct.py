"""The interpretable output of an assignment: every particle's slot and the resonances it implies.

An assignment is a permutation ``perm`` (E, N): slot s (the process's external leg s) holds stored particle
``perm[e, s]``. A resonance's four-momentum is the sum over its slots (``Process.resonances``), its mass the
Minkowski norm sqrt(max(p·p, 0)) (GeV).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tinn_dist.processes import Process

__all__ = [
    "invariant_mass",
    "reconstruct_table",
    "resonance_masses",
    "resonance_momenta",
    "write_table_atomic",
]


def invariant_mass(p: np.ndarray) -> np.ndarray:
    """sqrt(max(E^2 - |p|^2, 0)) of four-vectors (..., 4)."""
    m2 = p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(axis=-1)
    return np.sqrt(np.maximum(m2, 0.0))


def resonance_momenta(process: Process, momenta: np.ndarray, perm: np.ndarray) -> dict[str, np.ndarray]:
    """Four-momentum (E, 4) of every resonance of ``process`` under the assignments ``perm`` (E, N)."""
    in_slots = np.take_along_axis(momenta, perm[..., None], axis=1)
    return {r.name: in_slots[:, list(r.slots)].sum(axis=1) for r in process.resonances}


def resonance_masses(process: Process, momenta: np.ndarray, perm: np.ndarray) -> dict[str, np.ndarray]:
    return {name: invariant_mass(p) for name, p in resonance_momenta(process, momenta, perm).items()}


def reconstruct_table(
    process: Process, momenta: np.ndarray, perm: np.ndarray, event_index: np.ndarray, m2: np.ndarray
) -> pa.Table:
    """Columns: ``event_index``; ``slot`` (N ints: the slot of stored particle r); ``perm`` (N ints: the stored
    particle in slot s); ``m2`` (|M|^2 of the assignment); per resonance ``<name>_E/_px/_py/_pz/_mass``."""
    n = perm.shape[1]
    slot = np.argsort(perm, axis=1)
    columns: dict[str, pa.Array] = {
        "event_index": pa.array(np.asarray(event_index, dtype=np.int64)),
        "slot": pa.FixedSizeListArray.from_arrays(pa.array(slot.reshape(-1).astype(np.int64)), n),
        "perm": pa.FixedSizeListArray.from_arrays(pa.array(perm.reshape(-1).astype(np.int64)), n),
        "m2": pa.array(np.asarray(m2, dtype=np.float64)),
    }
    for name, p in resonance_momenta(process, momenta, perm).items():
        for k, comp in enumerate(("E", "px", "py", "pz")):
            columns[f"{name}_{comp}"] = pa.array(p[:, k])
        columns[f"{name}_mass"] = pa.array(invariant_mass(p))
    table = pa.table(columns)
    return table.replace_schema_metadata({"tinn.process": process.name})


def write_table_atomic(table: pa.Table, path: str | Path) -> None:
    """Write Parquet to a temporary file beside ``path``, then rename (no partial output on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
