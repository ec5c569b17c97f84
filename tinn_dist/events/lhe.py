"""Read MadGraph LHE files with pylhe and turn them into an :class:`~tinn_dist.events.store.EventSet`.

Reading keeps Python work per event to a minimum: events are grouped by record structure (PDG ids, statuses,
mothers), the truth is matched once per structure (:mod:`tinn_dist.events.truth`), and the checks, the boost
to the partonic centre-of-mass frame and the energy ordering run on whole numpy blocks.
Event numbers in messages count from 0, like the ``event_index`` column.
"""

from __future__ import annotations

import re
import warnings
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pylhe
from tqdm import tqdm

from tinn_dist import __version__
from tinn_dist.errors import TinnError
from tinn_dist.events.kinematics import boost_to_rest_frame
from tinn_dist.events.store import EventSet
from tinn_dist.events.truth import RecordMismatch, true_rows
from tinn_dist.processes import Process

__all__ = ["LHEBlock", "LHEContents", "events_from_lhe", "read_lhe"]

# LHE prints ~11 significant digits; four-momentum balance holds to ~1e-9 of the partonic energy.
_BALANCE_TOLERANCE = 1e-6
_BEAM_AXIS_TOLERANCE = 1e-9


@dataclass(slots=True)
class LHEBlock:
    """Events of one file sharing a record structure. Lines are in file order; momenta are (E, px, py, pz)."""

    pdg: np.ndarray  # (L,) int64
    status: np.ndarray  # (L,) int64
    mother1: np.ndarray  # (L,) int64, 1-based as in LHE (0 = none)
    event_index: np.ndarray  # (G,) int64
    weight: np.ndarray  # (G,) float64
    momenta: np.ndarray  # (G, L, 4) float64


@dataclass(slots=True)
class LHEContents:
    path: Path
    param_card: str  # text of the header's <slha> block ("" if absent)
    madgraph_process: list[str]  # `generate` / `add process` lines of the header's MG5ProcCard
    blocks: list[LHEBlock]  # in order of each structure's first event
    n_events: int


def _header_text(lhef: pylhe.LHEFile, tag: str) -> str:
    if lhef.header is None:
        return ""
    for element in lhef.header.extra_elements:
        if element.tag == tag:
            return (element.text or "").strip("\n")
    return ""


def _expected_events(lhef: pylhe.LHEFile) -> int | None:
    match = re.search(r"Number of Events\s*:\s*(\d+)", _header_text(lhef, "MGGenerationInfo"))
    return int(match.group(1)) if match else None


def read_lhe(path: str | Path, max_events: int | None = None, progress: bool = False) -> LHEContents:
    """Parse an LHE file (plain or gzip) into blocks; :class:`TinnError` on malformed or truncated input."""
    path = Path(path)
    if not path.is_file():
        raise TinnError(f"{path}: no such LHE file")
    if max_events is not None and max_events < 1:
        raise TinnError(f"--max-events must be >= 1, got {max_events}")
    # record structure (id, status, mother1 per line) -> event numbers, weights, flat (E, px, py, pz) values
    structures: dict[tuple[tuple[int, int, int], ...], tuple[list[int], list[float], array]] = {}
    n = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            lhef = pylhe.LHEFile.fromfile(path, with_attributes=False)
        except (ValueError, OSError, EOFError, zlib.error) as exc:
            raise TinnError(
                f"{path}: not a readable LHE file; expected <LesHouchesEvents> with <init> ({exc})"
            ) from None
        total = _expected_events(lhef)
        if max_events is not None:
            total = min(total, max_events) if total else max_events
        events = iter(lhef.events)
        try:
            with tqdm(total=total, unit="event", desc=path.name, disable=not progress, leave=False) as bar:
                while max_events is None or n < max_events:
                    try:
                        event = next(events)
                    except StopIteration:
                        break
                    except (ValueError, IndexError) as exc:
                        raise TinnError(
                            f"{path}: event {n}: malformed event; expected an info line and 13 numbers per "
                            f"particle ({exc})"
                        ) from None
                    except (EOFError, OSError, zlib.error) as exc:
                        raise TinnError(f"{path}: event {n}: file is truncated or corrupt ({exc})") from None
                    particles = event.particles
                    if len(particles) != event.eventinfo.nparticles:
                        raise TinnError(
                            f"{path}: event {n}: {len(particles)} particle lines, expected "
                            f"{event.eventinfo.nparticles} as stated in its info line"
                        )
                    key = tuple((p.id, p.status, p.mother1) for p in particles)
                    entry = structures.get(key)
                    if entry is None:
                        entry = structures[key] = ([], [], array("d"))
                    entry[0].append(n)
                    entry[1].append(event.eventinfo.weight)
                    for p in particles:
                        entry[2].extend((p.e, p.px, p.py, p.pz))
                    n += 1
                    bar.update()
        finally:
            events.close()  # closes the (gzip) file even when we stop early
    for warning in caught:
        if issubclass(warning.category, RuntimeWarning) and str(warning.message).startswith("Parse Error"):
            raise TinnError(
                f"{path}: event {n}: {warning.message}; the file is truncated or not valid LHE XML "
                "(expected <event> blocks closed by </LesHouchesEvents>)"
            )
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    blocks = [
        LHEBlock(
            pdg=np.array([k[0] for k in key], dtype=np.int64),
            status=np.array([k[1] for k in key], dtype=np.int64),
            mother1=np.array([k[2] for k in key], dtype=np.int64),
            event_index=np.array(idx, dtype=np.int64),
            weight=np.array(weights, dtype=np.float64),
            momenta=np.frombuffer(moms, dtype=np.float64).reshape(len(idx), len(key), 4),
        )
        for key, (idx, weights, moms) in structures.items()
    ]
    generate = [
        line.strip()
        for line in _header_text(lhef, "MG5ProcCard").splitlines()
        if line.strip().startswith(("generate ", "add process "))
    ]
    return LHEContents(path, _header_text(lhef, "slha"), generate, blocks, n)


def _first_bad(masks: list[tuple[np.ndarray, np.ndarray]]) -> int | None:
    """Smallest event index flagged by any (mask, event_index) pair, or None."""
    bad = [int(idx[mask].min()) for mask, idx in masks if mask.any()]
    return min(bad) if bad else None


def events_from_lhe(
    path: str | Path, process: Process, max_events: int | None = None, progress: bool = False
) -> EventSet:
    """Convert an LHE file of ``process``: truth from the mother chain, c.m. boost, energy-ordered start."""
    contents = read_lhe(path, max_events=max_events, progress=progress)
    path = contents.path
    if contents.n_events == 0:
        raise TinnError(f"{path}: no <event> blocks; expected at least one event")
    if not contents.param_card:
        raise TinnError(f"{path}: no <slha> param card in the header; expected a MadGraph LHE file")

    true_momenta = []
    for block in contents.blocks:
        try:
            rows = true_rows(process, block.pdg, block.status, block.mother1)
        except RecordMismatch as exc:
            raise TinnError(f"{path}: event {int(block.event_index[0])}: {exc}") from None
        true_momenta.append(block.momenta[:, rows])

    def check(what: str, flag) -> None:
        first = _first_bad(
            [(flag(b, t), b.event_index) for b, t in zip(contents.blocks, true_momenta, strict=True)]
        )
        if first is not None:
            raise TinnError(f"{path}: event {first}: {what}")

    check(
        "momenta are not finite; expected finite numbers",
        lambda b, t: ~np.isfinite(b.momenta).all(axis=(1, 2)),
    )
    check("a particle has negative energy; expected E >= 0", lambda b, t: (b.momenta[..., 0] < 0).any(axis=1))
    check(
        "incoming partons have no centre-of-mass energy; expected two partons with E > 0",
        lambda b, t: ~(t[:, 0, 0] * t[:, 1, 0] - np.sum(t[:, 0, 1:] * t[:, 1, 1:], axis=-1) > 0),
    )
    check(
        "incoming partons do not move along the beam axis; expected px = py = 0",
        lambda b, t: (np.abs(t[:, :2, 1:3]) > _BEAM_AXIS_TOLERANCE * t[:, :2, 0:1]).any(axis=(1, 2)),
    )
    check(
        "four-momentum is not conserved between incoming and outgoing partons",
        lambda b, t: (
            np.abs(t[:, :2].sum(axis=1) - t[:, 2:].sum(axis=1)).max(axis=1)
            > _BALANCE_TOLERANCE * t[:, :2, 0].sum(axis=1)
        ),
    )

    event_index = np.concatenate([b.event_index for b in contents.blocks])
    order = np.argsort(event_index, kind="stable")
    momenta = np.concatenate(true_momenta)[order]
    momenta = boost_to_rest_frame(momenta, momenta[:, 0] + momenta[:, 1])
    return EventSet.from_true_order(
        process,
        momenta,
        weight=np.concatenate([b.weight for b in contents.blocks])[order],
        source=np.full(len(order), path.name),
        event_index=event_index[order],
        param_card=contents.param_card,
        metadata={
            "lhe_file": path.name,
            "madgraph_process": contents.madgraph_process,
            "converted_by": f"tinn-dist {__version__}",
        },
    )
