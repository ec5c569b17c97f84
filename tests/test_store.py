"""EventSet in memory and its Parquet file: exact round trip, atomic writes, validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from tinn_dist.errors import TinnError
from tinn_dist.events.store import EventSet, read_events, write_events
from tinn_dist.processes import load_process


def random_events(n_events: int = 50, seed: int = 3) -> EventSet:
    rng = np.random.default_rng(seed)
    proc = load_process("tt")
    momenta = rng.normal(scale=100.0, size=(n_events, proc.n_external, 4))
    momenta[..., 0] = np.abs(momenta[..., 0]) + 1.0
    momenta[0, 2, 1] = 5e-324  # subnormal
    momenta[1, 3, 2] = -0.0
    momenta[2, 4, 3] = 1.2345678901234567e300
    return EventSet.from_true_order(
        proc,
        momenta,
        weight=rng.uniform(size=n_events),
        source=np.array(["a.lhe.gz", "b.lhe"] * (n_events // 2)),
        event_index=np.arange(n_events) * 3,
        param_card="BLOCK MASS\n 6 1.73e+02 # mt\n",
        metadata={"lhe_file": "a.lhe.gz", "madgraph_process": ["generate g g > t t~"]},
    )


def test_from_true_order_builds_the_energy_ordered_start() -> None:
    events = random_events()
    proc = load_process("tt")
    true = events.true_order_momenta()
    np.testing.assert_array_equal(
        np.take_along_axis(events.pdg, events.true_perm, axis=1),
        np.broadcast_to(proc.external, events.pdg.shape),
    )
    assert (np.diff(events.momenta[:, 2:, 0], axis=1) <= 0).all()
    np.testing.assert_array_equal(events.momenta[:, :2], true[:, :2])
    assert sorted(map(tuple, true[5])) == sorted(map(tuple, events.momenta[5]))


def test_parquet_round_trip_is_exact(tmp_path: Path) -> None:
    events = random_events()
    path = tmp_path / "events.parquet"
    write_events(path, events)
    back = read_events(path)
    assert back.process == "tt" and back.param_card == events.param_card and back.metadata == events.metadata
    for name in ("momenta", "pdg", "true_perm", "weight", "source", "event_index"):
        a, b = getattr(events, name), getattr(back, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert back.momenta.tobytes() == events.momenta.tobytes()  # bit for bit, signs of zeros included
    schema = pq.read_schema(path)
    assert schema.metadata[b"tinn.process"] == b"tt" and b"tinn.schema_version" in schema.metadata


def test_subset_slicing_len_and_torch() -> None:
    events = random_events()
    assert len(events) == 50 and events.n_external == 8
    part = events[10:20]
    assert len(part) == 10 and part.event_index[0] == 30
    picked = events.subset(np.array([3, 1]))
    np.testing.assert_array_equal(picked.momenta, events.momenta[[3, 1]])
    assert len(events[events.weight > 0.5]) == int((events.weight > 0.5).sum())
    assert len(events[7]) == 1
    t = events.to_torch("cpu")
    assert t.momenta.dtype == torch.float64 and t.momenta.shape == (50, 8, 4)
    assert t.pdg.dtype == torch.int64 and t.true_perm.dtype == torch.int64
    np.testing.assert_array_equal(
        t.momenta[torch.arange(50)[:, None], t.true_perm].numpy(), events.true_order_momenta()
    )


def test_empty_event_set_round_trips(tmp_path: Path) -> None:
    empty = random_events()[0:0]
    write_events(tmp_path / "e.parquet", empty)
    back = read_events(tmp_path / "e.parquet")
    assert len(back) == 0 and back.momenta.shape == (0, 8, 4)


def test_write_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # the final rename onto a folder fails after the temporary file is written
    with pytest.raises(OSError):
        write_events(target, random_events())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    with pytest.raises(TinnError, match="output folder .* does not exist"):
        write_events(tmp_path / "missing" / "e.parquet", random_events())


def test_invalid_event_sets_are_rejected() -> None:
    good = random_events(4)
    with pytest.raises(TinnError, match=r"momenta must be shaped \(E, N, 4\)"):
        EventSet(
            "tt", good.momenta[..., :3], good.pdg, good.true_perm, good.weight, good.source, good.event_index
        )
    with pytest.raises(TinnError, match=r"weight must be shaped \(4,\)"):
        EventSet("tt", good.momenta, good.pdg, good.true_perm, good.weight[:3], good.source, good.event_index)
    perm = good.true_perm.copy()
    perm[2, 0] = perm[2, 1]
    with pytest.raises(TinnError, match="true_perm of event 2 is not a permutation"):
        EventSet("tt", good.momenta, good.pdg, perm, good.weight, good.source, good.event_index)


def test_foreign_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(TinnError, match="no such events file"):
        read_events(tmp_path / "absent.parquet")
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(TinnError, match="not a readable Parquet file"):
        read_events(junk)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), other)
    with pytest.raises(TinnError, match="events schema version None, expected '1'"):
        read_events(other)
