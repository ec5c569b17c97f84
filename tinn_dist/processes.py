"""The process catalogue (``configs/processes/*.yaml``), loaded into validated dataclasses.

The catalogue is data written once: the MadGraph process string, the external leg order of its matrix element,
the decay tree and the groups of identical decay branches. Everything else (truth labels, the engine, the agent's
action space, the evaluation's symmetries) reads it from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from tinn_dist.errors import TinnError

__all__ = ["Process", "Resonance", "config_dir", "load_process", "process_names"]


def config_dir() -> Path:
    """The ``configs/`` folder: ``$TINN_CONFIG_DIR`` if set, else the one beside the package (repo layout)."""
    env = os.environ.get("TINN_CONFIG_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "configs"


@dataclass(frozen=True, slots=True)
class Resonance:
    """An s-channel resonance of the decay tree and the final-state slots it decays into."""

    name: str
    pdg: int
    slots: tuple[int, ...]
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class Process:
    name: str
    description: str
    madgraph: str
    external: tuple[int, ...]
    resonances: tuple[Resonance, ...]
    identical_branches: tuple[tuple[tuple[int, ...], ...], ...]
    sum_of: tuple[str, ...] = ()  # a matrix element that is the sum of these catalogue processes' (same legs)

    @property
    def n_external(self) -> int:
        return len(self.external)

    @property
    def n_final(self) -> int:
        return len(self.external) - 2

    @property
    def final_slots(self) -> tuple[int, ...]:
        return tuple(range(2, len(self.external)))


_KEYS = {"name", "description", "madgraph", "external", "resonances", "identical_branches"}
_OPTIONAL_KEYS = {"sum_of"}


def _parse(data: object, source: Path) -> Process:
    if not isinstance(data, dict):
        raise TinnError(f"{source}: expected a mapping of process fields")
    unknown = set(data) - _KEYS - _OPTIONAL_KEYS
    missing = _KEYS - set(data)
    if unknown:
        raise TinnError(
            f"{source}: unknown key(s) {sorted(unknown)}; expected {sorted(_KEYS | _OPTIONAL_KEYS)}"
        )
    if missing:
        raise TinnError(f"{source}: missing key(s) {sorted(missing)}")
    external = tuple(int(x) for x in data["external"])
    n = len(external)
    if n < 4:
        raise TinnError(f"{source}: field 'external' needs at least 4 legs, got {n}")
    resonances = []
    names = set()
    for i, r in enumerate(data["resonances"]):
        try:
            res = Resonance(str(r["name"]), int(r["pdg"]), tuple(int(s) for s in r["slots"]), r.get("parent"))
        except (KeyError, TypeError, ValueError) as exc:
            raise TinnError(f"{source}: resonances[{i}] needs name, pdg, slots (and optional parent): {exc}")
        if any(not 2 <= s < n for s in res.slots):
            raise TinnError(
                f"{source}: resonances[{i}] slots {res.slots} must be final-state slots 2..{n - 1}"
            )
        if res.parent is not None and res.parent not in names:
            raise TinnError(f"{source}: resonances[{i}] parent {res.parent!r} must be listed before it")
        names.add(res.name)
        resonances.append(res)
    branches = []
    for i, group in enumerate(data["identical_branches"]):
        g = tuple(tuple(int(s) for s in branch) for branch in group)
        pdgs = {tuple(external[s] for s in branch) for branch in g}
        if len(g) < 2 or len(pdgs) != 1:
            raise TinnError(
                f"{source}: identical_branches[{i}] needs >= 2 slot lists with the same PDG pattern"
            )
        branches.append(g)
    return Process(
        name=str(data["name"]),
        description=str(data["description"]),
        madgraph=str(data["madgraph"]),
        external=external,
        resonances=tuple(resonances),
        identical_branches=tuple(branches),
        sum_of=tuple(str(x) for x in data.get("sum_of") or ()),
    )


def process_names() -> list[str]:
    """Names of every process in the catalogue."""
    return sorted(p.stem for p in (config_dir() / "processes").glob("*.yaml"))


@cache
def load_process(name: str) -> Process:
    """Load one catalogue entry by name (``tt``, ``tttt``, ``wwuu_LL``, ...)."""
    path = config_dir() / "processes" / f"{name}.yaml"
    if not path.is_file():
        raise TinnError(f"unknown process {name!r}; known processes: {', '.join(process_names())}")
    with path.open() as f:
        proc = _parse(yaml.safe_load(f), path)
    if proc.name != name:
        raise TinnError(f"{path}: field 'name' is {proc.name!r}, expected {name!r} (the file name)")
    for part in proc.sum_of:
        if part == name or load_process(part).sum_of or load_process(part).external != proc.external:
            raise TinnError(f"{path}: sum_of entry {part!r} must be another plain process with the same legs")
    return proc
