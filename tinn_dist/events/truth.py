"""True slot of every parton of an LHE record, read from its mother chain and the catalogue's decay tree.

An LHE record lists incoming partons (status -1), s-channel resonances (status 2: t, t~, W±) and outgoing
partons (status 1), each pointing to its mother line. The catalogue's ``Process.resonances`` says which
external slots each resonance decays into. Matching the two trees gives the MadGraph slot of every outgoing
parton:

- tt: t → b W+, W+ → u d~ fills slots 2, 3, 4 (b, u, d~), and the t~ chain slots 5, 6, 7.
- tttt: the two t chains are identical; MadGraph writes outgoing partons in its leg order, so the chain whose
  first outgoing parton comes first in the record takes the catalogue's first t branch.
- wwuu: the outgoing u quarks come straight from the incoming partons and fill the free slots in record order.
  An s-channel resonance the catalogue does not name (a Higgs above the W pair) is looked through.

A record structure (PDG ids, statuses, mothers) is matched once and the answer reused for every event with the
same structure, so conversion stays vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinn_dist.processes import Process, Resonance

__all__ = ["RecordMismatch", "true_rows"]


class RecordMismatch(ValueError):
    """An LHE record whose content does not fit the process (the caller adds file and event)."""


@dataclass(frozen=True, slots=True)
class _Node:
    """A resonance of the catalogue tree with its sub-resonances and the final slots it emits directly."""

    pdg: int
    children: tuple[_Node, ...]
    leaves: tuple[int, ...]


def _catalogue_tree(process: Process) -> _Node:
    """The hard process as the root node (pdg 0) of the catalogue's decay tree."""

    def build(parent: Resonance | None) -> _Node:
        name = parent.name if parent else None
        kids = [r for r in process.resonances if r.parent == name]
        covered = {s for r in kids for s in r.slots}
        own = parent.slots if parent else process.final_slots
        leaves = tuple(s for s in own if s not in covered)
        return _Node(parent.pdg if parent else 0, tuple(build(r) for r in kids), leaves)

    return build(None)


def _describe_catalogue(node: _Node, external: tuple[int, ...]) -> str:
    parts = [str(external[s]) for s in node.leaves] + [
        f"{c.pdg} > ({_describe_catalogue(c, external)})" for c in node.children
    ]
    return " ".join(parts)


class _Record:
    """One LHE record structure: lines with PDG id, status and 0-based mother (-1 for the hard process)."""

    def __init__(self, pdg: np.ndarray, status: np.ndarray, mother1: np.ndarray) -> None:
        self.pdg = [int(x) for x in pdg]
        self.status = [int(s) for s in status]
        n = len(self.pdg)
        parents: dict[int, int | None] = {}
        self.children: dict[int | None, list[int]] = {None: []}
        for i, st in enumerate(self.status):
            if st == -1:
                continue
            if st not in (1, 2):
                raise RecordMismatch(f"line {i + 1} has status {st}; expected -1, 1 or 2")
            m = int(mother1[i]) - 1
            if not 0 <= m < n or m == i:
                raise RecordMismatch(f"line {i + 1} points to mother line {m + 1}, which does not exist")
            if self.status[m] not in (-1, 2):
                raise RecordMismatch(
                    f"line {i + 1} has mother line {m + 1} of status {self.status[m]}; expected -1 or 2"
                )
            parents[i] = None if self.status[m] == -1 else m
            self.children.setdefault(parents[i], []).append(i)
            if st == 2:
                self.children.setdefault(i, [])
        for i in parents:
            line: int | None = i
            for _ in range(n):
                line = parents[line]
                if line is None:
                    break
            else:
                raise RecordMismatch(f"the mother chain of line {i + 1} never reaches an incoming parton")

    def effective_children(self, line: int | None, wanted: set[int]) -> list[int]:
        """Children of ``line``, with resonances the catalogue does not name here (e.g. an s-channel Higgs
        written above the W pair in VBF) replaced by their own children."""
        out = []
        for k in self.children.get(line, []):
            if self.status[k] == 2 and self.pdg[k] not in wanted:
                out.extend(self.effective_children(k, wanted))
            else:
                out.append(k)
        return out

    def first_leaf(self, line: int) -> int:
        """Smallest line number among the outgoing partons descending from ``line`` (len(record) if none)."""
        firsts = [k if self.status[k] == 1 else self.first_leaf(k) for k in self.children[line]]
        return min(firsts, default=len(self.pdg))

    def describe(self, line: int | None = None) -> str:
        parts = []
        for k in self.children.get(line, []):
            if self.status[k] == 1:
                parts.append(str(self.pdg[k]))
            else:
                parts.append(f"{self.pdg[k]} > ({self.describe(k)})")
        return " ".join(parts)


def _match(node: _Node, line: int | None, rec: _Record, external: tuple[int, ...]) -> dict[int, int] | None:
    """Slot → line for the subtree ``node`` matched onto record line ``line`` (None = hard process)."""
    kids = rec.effective_children(line, {c.pdg for c in node.children})
    # MadGraph writes outgoing partons in its external leg order, so identical branches (tttt) are matched in
    # the order of their first outgoing parton: that branch takes the catalogue's first copy.
    sub = sorted((k for k in kids if rec.status[k] == 2), key=rec.first_leaf)
    fin = [k for k in kids if rec.status[k] == 1]
    if len(sub) != len(node.children) or len(fin) != len(node.leaves):
        return None
    mapping: dict[int, int] = {}
    used: set[int] = set()
    for child in node.children:
        for k in sub:
            if k in used or rec.pdg[k] != child.pdg:
                continue
            m = _match(child, k, rec, external)
            if m is not None:
                mapping.update(m)
                used.add(k)
                break
        else:
            return None
    free = list(fin)
    for slot in node.leaves:
        hit = next((k for k in free if rec.pdg[k] == external[slot]), None)
        if hit is None:
            return None
        mapping[slot] = hit
        free.remove(hit)
    return mapping


def true_rows(process: Process, pdg: np.ndarray, status: np.ndarray, mother1: np.ndarray) -> np.ndarray:
    """Record line (0-based) of every external slot of ``process``, in MadGraph order, shape (N,).

    ``pdg``, ``status``, ``mother1`` are the record's columns (``mother1`` 1-based as in LHE). Raises
    :class:`RecordMismatch` with a one-line reason when the record does not fit the process.
    """
    incoming = [i for i, s in enumerate(status) if int(s) == -1]
    want = tuple(process.external[:2])
    if len(incoming) != 2:
        raise RecordMismatch(f"expected 2 incoming partons (status -1), found {len(incoming)}")
    got = (int(pdg[incoming[0]]), int(pdg[incoming[1]]))
    if got == want:
        first, second = incoming
    elif got[::-1] == want:
        second, first = incoming
    else:
        raise RecordMismatch(f"incoming partons {list(got)}; process {process.name} expects {list(want)}")
    rec = _Record(np.asarray(pdg), np.asarray(status), np.asarray(mother1))
    tree = _catalogue_tree(process)
    mapping = _match(tree, None, rec, process.external)
    if mapping is None:
        raise RecordMismatch(
            f"outgoing record [{rec.describe()}] does not match process {process.name} "
            f"[{_describe_catalogue(tree, process.external)}]"
        )
    rows = np.empty(process.n_external, dtype=np.int64)
    rows[0], rows[1] = first, second
    for slot, line in mapping.items():
        rows[slot] = line
    return rows
