"""Tree diagrams of a process as data: what the diagram compiler produces and the Lorentz runtime evaluates.

CONTRACT (shared by the compiler and the runtime; change only together):
- Legs are matched to vertex positions *all-outgoing*, as MadGraph does: a final-state leg sits at a position
  holding its own PDG, an initial-state leg at a position holding the antiparticle of its PDG.
- A :class:`Current` is an off-shell wavefunction: vertex ``vertex`` (index into ``Model.vertices``) with colour/
  Lorentz term ``term``; the vertex position ``offshell`` is the propagating line, ``inputs`` are the wavefunctions
  at every *other* position, in vertex order. Its ``pdg`` is the antiparticle of
  ``Model.vertices[vertex].particles[offshell]``, and it sits at a position holding ``pdg`` in the next vertex
  (MadGraph's wavefunction PDG: the combined legs act as one outgoing particle ``pdg``).
  Equal currents compare equal (frozen dataclasses), so the runtime computes each distinct one once.
- An :class:`Amplitude` closes a diagram at ``vertex``/``term`` with ``inputs`` at every position, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ExternalLeg:
    index: int          # position in the process's external order (0, 1 = initial)
    pdg: int            # physical PDG code as listed in the process
    incoming: bool      # True for the two initial-state legs

    @property
    def legs(self) -> frozenset[int]:
        return frozenset((self.index,))


@dataclass(frozen=True, slots=True)
class Current:
    vertex: int
    term: int
    offshell: int
    inputs: tuple[Node, ...]
    pdg: int
    legs: frozenset[int]
    polarization: str | None = None   # "0" (longitudinal) or "T" (transverse) for a polarised propagator


Node = ExternalLeg | Current


@dataclass(frozen=True, slots=True)
class Amplitude:
    vertex: int
    term: int
    inputs: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Diagram:
    amplitude: Amplitude
    sign: int                     # relative fermion-statistics sign, +1 or -1
    color: tuple[complex, ...]    # coefficients of this diagram's colour tensor in the colour basis


@dataclass(frozen=True)
class CompiledProcess:
    """Everything the runtime needs: |M|^2 = sum_hel J^dagger G J / denominator, J_k = sum_d color_dk sign_d A_d."""

    name: str
    legs: tuple[ExternalLeg, ...]
    diagrams: tuple[Diagram, ...]
    color_matrix: np.ndarray      # (K, K) Gram matrix of the colour basis: sum over colours of b_i b_j^*
    denominator: float            # initial helicities x initial colours x identical-particle factor (MG's IDEN)
    currents: tuple[Current, ...]  # every distinct current of the diagrams, each after its inputs (evaluation order)
