"""Events with their true assignment, in memory (:class:`EventSet`) and on disk (Parquet via pyarrow).

Row order ("stored order") is the agent's starting state: the two incoming partons first, in the process's
initial order, then the outgoing partons by decreasing energy in the partonic centre-of-mass frame.
``true_perm[e, slot]`` is the stored row of the parton that truly fills MadGraph slot ``slot``, so
``momenta[e][true_perm[e]]`` is event ``e`` in the matrix element's external order.

Parquet layout: columns ``momenta`` (fixed-size list N × fixed-size list 4 of float64), ``pdg`` (N × int32),
``true_perm`` (N × int64), ``weight`` (float64), ``source`` (string), ``event_index`` (int64); the file's
schema metadata holds ``tinn.schema_version``, ``tinn.process``, ``tinn.param_card`` and ``tinn.metadata``
(JSON).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tinn_dist.errors import TinnError
from tinn_dist.processes import Process

if TYPE_CHECKING:
    import torch

__all__ = ["SCHEMA_VERSION", "EventSet", "TorchEvents", "read_events", "write_events"]

SCHEMA_VERSION = 1
_COLUMNS = ("momenta", "pdg", "true_perm", "weight", "source", "event_index")


@dataclass(frozen=True, slots=True)
class TorchEvents:
    """Tensor view of an :class:`EventSet` on one device (stored order; see :class:`EventSet`)."""

    momenta: torch.Tensor  # (E, N, 4) float64
    pdg: torch.Tensor  # (E, N) int64
    true_perm: torch.Tensor  # (E, N) int64
    weight: torch.Tensor  # (E,) float64


@dataclass(slots=True)
class EventSet:
    """Events of one process in stored order, with the permutation back to MadGraph order.

    process: catalogue name. momenta: (E, N, 4) float64, (E, px, py, pz) in the partonic c.m. frame.
    pdg: (E, N) int32 per stored row. true_perm: (E, N) int64, stored row of each MadGraph slot.
    weight: (E,) float64. source: (E,) str, file each event came from. event_index: (E,) int64, its index
    there (0-based). param_card: text of the param card the events were generated with. metadata: free
    JSON-able facts (e.g. ``madgraph_process``).
    """

    process: str
    momenta: np.ndarray
    pdg: np.ndarray
    true_perm: np.ndarray
    weight: np.ndarray
    source: np.ndarray
    event_index: np.ndarray
    param_card: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.momenta = np.ascontiguousarray(self.momenta, dtype=np.float64)
        self.pdg = np.ascontiguousarray(self.pdg, dtype=np.int32)
        self.true_perm = np.ascontiguousarray(self.true_perm, dtype=np.int64)
        self.weight = np.ascontiguousarray(self.weight, dtype=np.float64)
        self.source = np.asarray(self.source, dtype=np.str_)
        self.event_index = np.ascontiguousarray(self.event_index, dtype=np.int64)
        if self.momenta.ndim != 3 or self.momenta.shape[2] != 4:
            raise TinnError(
                f"events of {self.process}: momenta must be shaped (E, N, 4), got {self.momenta.shape}"
            )
        e, n, _ = self.momenta.shape
        for name, shape in (
            ("pdg", (e, n)),
            ("true_perm", (e, n)),
            ("weight", (e,)),
            ("source", (e,)),
            ("event_index", (e,)),
        ):
            got = getattr(self, name).shape
            if got != shape:
                raise TinnError(f"events of {self.process}: {name} must be shaped {shape}, got {got}")
        not_perm = (np.sort(self.true_perm, axis=1) != np.arange(n)).any(axis=1)
        if not_perm.any():
            bad = int(np.nonzero(not_perm)[0][0])
            raise TinnError(
                f"events of {self.process}: true_perm of event {bad} is not a permutation of 0..{n - 1}"
            )

    @classmethod
    def from_true_order(
        cls,
        process: Process,
        momenta: np.ndarray,
        weight: np.ndarray,
        source: np.ndarray,
        event_index: np.ndarray,
        param_card: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> EventSet:
        """Build the stored (energy-ordered) form from momenta (E, N, 4) in MadGraph order."""
        momenta = np.asarray(momenta, dtype=np.float64)
        if momenta.ndim != 3 or momenta.shape[1:] != (process.n_external, 4):
            raise TinnError(
                f"events of {process.name}: momenta must be shaped (E, {process.n_external}, 4), "
                f"got {momenta.shape}"
            )
        e = momenta.shape[0]
        final_order = 2 + np.argsort(-momenta[:, 2:, 0], axis=1, kind="stable")
        slot_of_row = np.concatenate([np.broadcast_to(np.arange(2), (e, 2)), final_order], axis=1)
        return cls(
            process=process.name,
            momenta=np.take_along_axis(momenta, slot_of_row[..., None], axis=1),
            pdg=np.asarray(process.external, dtype=np.int32)[slot_of_row],
            true_perm=np.argsort(slot_of_row, axis=1),
            weight=weight,
            source=source,
            event_index=event_index,
            param_card=param_card,
            metadata=dict(metadata or {}),
        )

    def __len__(self) -> int:
        return int(self.momenta.shape[0])

    @property
    def n_external(self) -> int:
        return int(self.momenta.shape[1])

    def true_order_momenta(self) -> np.ndarray:
        """Momenta (E, N, 4) in the process's external (MadGraph) order."""
        return np.take_along_axis(self.momenta, self.true_perm[..., None], axis=1)

    def subset(self, idx: slice | np.ndarray | list[int]) -> EventSet:
        """The events selected by a slice, an index array or a boolean mask (always an EventSet)."""
        if isinstance(idx, (int, np.integer)):
            idx = [int(idx)]
        return EventSet(
            process=self.process,
            momenta=self.momenta[idx],
            pdg=self.pdg[idx],
            true_perm=self.true_perm[idx],
            weight=self.weight[idx],
            source=self.source[idx],
            event_index=self.event_index[idx],
            param_card=self.param_card,
            metadata=dict(self.metadata),
        )

    __getitem__ = subset

    def to_torch(self, device: str | torch.device = "cpu") -> TorchEvents:
        """The arrays as tensors on ``device`` (momenta/weight float64, pdg/true_perm int64)."""
        import torch  # here, so that reading and writing events does not pay for importing torch

        return TorchEvents(
            momenta=torch.as_tensor(self.momenta, device=device),
            pdg=torch.as_tensor(self.pdg.astype(np.int64), device=device),
            true_perm=torch.as_tensor(self.true_perm, device=device),
            weight=torch.as_tensor(self.weight, device=device),
        )


def _nested(values: np.ndarray) -> pa.Array:
    """(E, d1, d2, ...) numpy → fixed-size-list column with exact values."""
    arr: pa.Array = pa.array(values.reshape(-1))
    for size in reversed(values.shape[1:]):
        arr = pa.FixedSizeListArray.from_arrays(arr, size)
    return arr


def _unnest(column: pa.ChunkedArray, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    for _ in shape[1:]:
        arr = arr.flatten()
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype).reshape(shape)


def write_events(path: str | os.PathLike[str], events: EventSet) -> None:
    """Write ``events`` to a Parquet file, atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    table = pa.table(
        {
            "momenta": _nested(events.momenta),
            "pdg": _nested(events.pdg),
            "true_perm": _nested(events.true_perm),
            "weight": pa.array(events.weight),
            "source": pa.array(events.source.tolist(), type=pa.string()).dictionary_encode(),
            "event_index": pa.array(events.event_index),
        }
    )
    table = table.replace_schema_metadata(
        {
            "tinn.schema_version": str(SCHEMA_VERSION),
            "tinn.process": events.process,
            "tinn.param_card": events.param_card,
            "tinn.metadata": json.dumps(events.metadata, sort_keys=True),
        }
    )
    if not path.parent.is_dir():
        raise TinnError(f"{path}: output folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_events(path: str | os.PathLike[str]) -> EventSet:
    """Read a Parquet file written by :func:`write_events`."""
    path = Path(path)
    if not path.is_file():
        raise TinnError(f"{path}: no such events file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise TinnError(f"{path}: not a readable Parquet file ({exc})") from None
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    version = meta.get("tinn.schema_version")
    if version != str(SCHEMA_VERSION):
        raise TinnError(
            f"{path}: events schema version {version!r}, expected '{SCHEMA_VERSION}' "
            "(a file written by tinn convert)"
        )
    missing = [c for c in _COLUMNS if c not in table.column_names]
    if missing:
        raise TinnError(f"{path}: missing column(s) {missing}")
    e = table.num_rows
    mom_type = table.schema.field("momenta").type
    if not (
        pa.types.is_fixed_size_list(mom_type)
        and pa.types.is_fixed_size_list(mom_type.value_type)
        and mom_type.value_type.list_size == 4
    ):
        raise TinnError(
            f"{path}: column 'momenta' must be a fixed-size list of N fixed-size lists of 4 float64"
        )
    n = mom_type.list_size
    try:
        metadata = json.loads(meta.get("tinn.metadata", "{}"))
    except json.JSONDecodeError as exc:
        raise TinnError(f"{path}: file metadata 'tinn.metadata' is not JSON ({exc})") from None
    arrays = {}
    for name, shape, dtype in (
        ("momenta", (e, n, 4), np.float64),
        ("pdg", (e, n), np.int32),
        ("true_perm", (e, n), np.int64),
    ):
        try:
            arrays[name] = _unnest(table[name], shape, dtype)
        except (ValueError, TypeError, pa.ArrowException) as exc:
            raise TinnError(
                f"{path}: column {name!r} does not hold {shape[1:]} values per event ({exc})"
            ) from None
    return EventSet(
        process=meta.get("tinn.process", ""),
        weight=table["weight"].to_numpy(),
        source=np.asarray(table["source"].to_pylist(), dtype=np.str_),
        event_index=table["event_index"].to_numpy(),
        param_card=meta.get("tinn.param_card", ""),
        metadata=metadata,
        **arrays,
    )
